"""A private entry is visible to its author only: every page, search, panel, count and mail."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from apps.journal import selectors, services
from apps.journal.models import Entry

SECRET = "zebracake surprise planning"


@pytest.fixture
def private_entry(alice, write):
    return write(alice, f"Secretly {SECRET} for Bob", is_private=True)


@pytest.fixture
def shared_entry(alice, write):
    return write(alice, "Bob fixed the squeaky door without a word.", about_partner=True)


def test_selector_hides_private_from_partner(alice, bob, stranger, private_entry, shared_entry):
    assert set(selectors.entries_visible_to(alice)) == {private_entry, shared_entry}
    assert list(selectors.entries_visible_to(bob)) == [shared_entry]
    assert list(selectors.entries_visible_to(stranger)) == []


def test_partner_page_and_search_never_show_private(bob_client, private_entry, shared_entry):
    page = bob_client.get(reverse("journal:index")).content.decode()
    assert "squeaky door" in page
    assert SECRET not in page
    for q in ["zebracake", SECRET, "Secretly"]:
        found = bob_client.get(reverse("journal:index"), {"q": q}).content.decode()
        assert f"Secretly {SECRET} for Bob" not in found
        assert 'data-testid="no-entries"' in found


def test_author_finds_own_private_entry(alice_client, private_entry):
    page = alice_client.get(reverse("journal:index"), {"q": "zebracake"}).content.decode()
    assert SECRET in page
    assert "Private" in page


def test_private_entry_detail_is_404_for_partner(bob_client, private_entry):
    assert bob_client.get(reverse("journal:entry", args=[private_entry.pk])).status_code == 404
    response = bob_client.post(
        reverse("journal:appreciate", args=[private_entry.pk]), {"heart": "on"}
    )
    assert response.status_code == 404
    assert not private_entry.appreciations.exists()


def test_private_entry_not_on_this_day_or_dashboard(alice, bob, bob_client, alice_client):
    with time_machine.travel(dt.datetime(2025, 5, 3, 10, tzinfo=dt.UTC), tick=False):
        services.entry_create(author=alice, text=f"Last year {SECRET}", is_private=True)
        services.entry_create(author=alice, text="Last year a picnic", is_private=False)
    with time_machine.travel(dt.datetime(2026, 5, 3, 10, tzinfo=dt.UTC), tick=False):
        bob_page = bob_client.get(reverse("journal:index")).content.decode()
        alice_page = alice_client.get(reverse("journal:index")).content.decode()
        bob_dash = bob_client.get(reverse("home:dashboard")).content.decode()
    assert "Last year a picnic" in bob_page
    assert SECRET not in bob_page
    assert SECRET in alice_page  # the author's own "on this day"
    assert SECRET not in bob_dash
    otd = selectors.on_this_day(user=bob, today=dt.date(2026, 5, 3))
    assert [e.text for e in otd] == ["Last year a picnic"]


def test_private_entries_not_counted_for_partner(alice, bob, write):
    write(alice, "one", is_private=True)
    write(alice, "two", is_private=True)
    write(alice, "three")
    today = selectors.space_today(alice.space)
    members = [alice, bob]
    for_bob = selectors.monthly_counts(user=bob, members=members, today=today)
    for_alice = selectors.monthly_counts(user=alice, members=members, today=today)
    assert for_bob.total == 1
    assert for_bob.months[-1].counts == [1, 0]
    assert for_alice.total == 3


def test_chart_table_on_partner_page_counts_shared_only(alice, bob_client, write):
    write(alice, "hidden one", is_private=True)
    write(alice, "visible one")
    page = bob_client.get(reverse("journal:index")).content.decode()
    assert "(1 in all)" in page


def test_private_entry_never_in_digest(alice, bob, write, run_pass):
    with time_machine.travel(dt.datetime(2026, 11, 18, 9, tzinfo=dt.UTC), tick=False):
        write(alice, f"Digest {SECRET}", is_private=True)
        write(alice, "Digest shared: thanks for the soup")
        services.journal_settings_update(
            user=bob, weekdays=[], nudge_time=None, digest_enabled=True
        )
    due = bob.journal_profile.__class__.objects.get(user=bob).next_digest_at
    assert run_pass(due) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "thanks for the soup" in message.body
    assert SECRET not in message.body
    assert SECRET not in message.alternatives[0][0]


def test_sharing_later_makes_it_visible(alice, bob, private_entry):
    services.entry_update(
        entry=private_entry,
        user=alice,
        text=private_entry.text,
        about_partner=False,
        is_private=False,
    )
    assert private_entry in selectors.entries_visible_to(bob)
    assert Entry.objects.get(pk=private_entry.pk).is_private is False
