"""A private entry is visible to its author only: every page, search, panel, count and mail."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from apps.journal import selectors, services
from apps.journal.models import Entry, JournalProfile

SECRET = "zebracake surprise planning"


# In every test the actor writes and the partner is checked (both_ways: each side once).


@pytest.fixture
def private_entry(both_ways, write):
    return write(both_ways.actor, f"Secretly {SECRET} for you", is_private=True)


@pytest.fixture
def shared_entry(both_ways, write):
    return write(both_ways.actor, "You fixed the squeaky door without a word.", about_partner=True)


def test_selector_hides_private_from_partner(both_ways, stranger, private_entry, shared_entry):
    author, partner = both_ways.actor, both_ways.partner
    assert set(selectors.entries_visible_to(author)) == {private_entry, shared_entry}
    assert list(selectors.entries_visible_to(partner)) == [shared_entry]
    assert list(selectors.entries_visible_to(stranger)) == []


def test_partner_page_and_search_never_show_private(
    both_ways, client_of, private_entry, shared_entry
):
    partner = client_of(both_ways.partner)
    page = partner.get(reverse("journal:index")).content.decode()
    assert "squeaky door" in page
    assert SECRET not in page
    for q in ["zebracake", SECRET, "Secretly"]:
        found = partner.get(reverse("journal:index"), {"q": q}).content.decode()
        assert f"Secretly {SECRET} for you" not in found
        assert 'data-testid="no-entries"' in found


def test_author_finds_own_private_entry(both_ways, client_of, private_entry):
    author = client_of(both_ways.actor)
    page = author.get(reverse("journal:index"), {"q": "zebracake"}).content.decode()
    assert SECRET in page
    assert "Private" in page


def test_private_entry_detail_is_404_for_partner(both_ways, client_of, private_entry):
    partner = client_of(both_ways.partner)
    assert partner.get(reverse("journal:entry", args=[private_entry.pk])).status_code == 404
    response = partner.post(reverse("journal:appreciate", args=[private_entry.pk]), {"heart": "on"})
    assert response.status_code == 404
    assert not private_entry.appreciations.exists()


def test_private_entry_not_on_this_day_or_dashboard(both_ways, client_of):
    author, partner = both_ways.actor, both_ways.partner
    with time_machine.travel(dt.datetime(2025, 5, 3, 10, tzinfo=dt.UTC), tick=False):
        services.entry_create(author=author, text=f"Last year {SECRET}", is_private=True)
        services.entry_create(author=author, text="Last year a picnic", is_private=False)
    with time_machine.travel(dt.datetime(2026, 5, 3, 10, tzinfo=dt.UTC), tick=False):
        partner_page = client_of(partner).get(reverse("journal:index")).content.decode()
        author_page = client_of(author).get(reverse("journal:index")).content.decode()
        partner_dash = client_of(partner).get(reverse("home:dashboard")).content.decode()
    assert "Last year a picnic" in partner_page
    assert SECRET not in partner_page
    assert SECRET in author_page  # the author's own "on this day"
    assert SECRET not in partner_dash
    otd = selectors.on_this_day(user=partner, today=dt.date(2026, 5, 3))
    assert [e.text for e in otd] == ["Last year a picnic"]


def test_private_entries_not_counted_for_partner(alice, bob, both_ways, write):
    author, partner = both_ways.actor, both_ways.partner
    write(author, "one", is_private=True)
    write(author, "two", is_private=True)
    write(author, "three")
    today = selectors.space_today(author.space)
    members = [alice, bob]
    for_partner = selectors.monthly_counts(user=partner, members=members, today=today)
    for_author = selectors.monthly_counts(user=author, members=members, today=today)
    assert for_partner.total == 1
    assert for_partner.months[-1].counts == [int(m == author) for m in members]
    assert for_author.total == 3


def test_chart_table_on_partner_page_counts_shared_only(both_ways, client_of, write):
    write(both_ways.actor, "hidden one", is_private=True)
    write(both_ways.actor, "visible one")
    page = client_of(both_ways.partner).get(reverse("journal:index")).content.decode()
    assert "(1 in all)" in page


def test_private_entry_never_in_digest(both_ways, write, run_pass):
    author, partner = both_ways.actor, both_ways.partner
    with time_machine.travel(dt.datetime(2026, 11, 18, 9, tzinfo=dt.UTC), tick=False):
        write(author, f"Digest {SECRET}", is_private=True)
        write(author, "Digest shared: thanks for the soup")
        services.journal_settings_update(
            user=partner, weekdays=[], nudge_time=None, digest_enabled=True
        )
    due = JournalProfile.objects.get(user=partner).next_digest_at
    assert run_pass(due) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [partner.email]
    assert "thanks for the soup" in message.body
    assert SECRET not in message.body
    assert SECRET not in message.alternatives[0][0]


def test_sharing_later_makes_it_visible(both_ways, private_entry):
    services.entry_update(
        entry=private_entry,
        user=both_ways.actor,
        text=private_entry.text,
        about_partner=False,
        is_private=False,
    )
    assert private_entry in selectors.entries_visible_to(both_ways.partner)
    assert Entry.objects.get(pk=private_entry.pk).is_private is False
