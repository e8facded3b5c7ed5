"""The vault's pages: drafts, sealing, the yearly page, open-together, archive, dashboard."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.vault import services
from apps.vault.models import Letter, LetterRead, OpeningPresence
from apps.vault.selectors import dashboard_vault
from tests.conftest import live_apart

from .conftest import local

pytestmark = pytest.mark.django_db

SEALING = local("Europe/Berlin", 2026, 3, 1, 12)
OPENING = local("Europe/Berlin", 2027, 2, 14, 0, 0)


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def login(client):
    def _login(user):
        client.logout()
        client.force_login(user)
        return client

    return _login


def text(response) -> str:
    return response.content.decode()


# --- Drafts ---------------------------------------------------------------------------------


def test_write_save_and_edit_a_draft(couple, alice, bob, login):
    client = login(alice)
    response = client.post(reverse("vault:write"), {"title": "Thanks", "body": "For the soup"})
    letter = Letter.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("vault:edit", args=[letter.pk])
    page = text(client.get(reverse("vault:edit", args=[letter.pk])))
    assert "For the soup" in page
    assert "Thanks" in text(client.get(reverse("vault:home")))

    client.post(reverse("vault:edit", args=[letter.pk]), {"title": "Thanks!", "body": "Soup"})
    assert services.letter_read(letter=Letter.objects.get(), user=alice, now=SEALING).body == "Soup"


def test_blank_or_too_long_fields_get_errors_next_to_them(couple, alice, login):
    client = login(alice)
    response = client.post(reverse("vault:write"), {"title": "", "body": "x" * 100_001})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"title", "body"}
    assert not Letter.objects.exists()


def test_a_partner_cannot_see_or_touch_anothers_draft(couple, alice, bob, stranger, login):
    letter = services.letter_create(author=alice, title="Draft title", body="Draft body")
    for user in (bob, stranger):
        client = login(user)
        for name in ("vault:edit", "vault:seal", "vault:delete"):
            assert client.get(reverse(name, args=[letter.pk])).status_code == 404
            assert (
                client.post(reverse(name, args=[letter.pk]), {"confirm": "on"}).status_code == 404
            )
        assert "Draft title" not in text(client.get(reverse("vault:home")))
    letter.refresh_from_db()
    assert letter.is_draft


def test_a_foreign_or_unknown_letter_id_is_a_404(couple, alice, login):
    client = login(alice)
    assert client.get(reverse("vault:edit", args=[uuid.uuid4()])).status_code == 404
    assert client.get("/vault/letters/not-a-uuid/").status_code == 404
    assert client.post(reverse("vault:mark_read", args=[uuid.uuid4()])).status_code == 404


def test_without_a_partner_the_write_page_says_invite_first(space, alice, login):
    client = login(alice)
    response = client.get(reverse("vault:write"))
    assert "Invite them" in text(response)
    client.post(reverse("vault:write"), {"title": "t", "body": "b"})
    assert not Letter.objects.exists()


def test_delete_a_draft_after_confirming(couple, alice, login):
    letter = services.letter_create(author=alice, title="t", body="b")
    client = login(alice)
    assert client.get(reverse("vault:delete", args=[letter.pk])).status_code == 200
    client.post(reverse("vault:delete", args=[letter.pk]))
    assert not Letter.objects.exists()


# --- Sealing ------------------------------------------------------------------------------------


def test_seal_needs_the_confirmation_then_is_final(couple, alice, bob, login):
    letter = services.letter_create(author=alice, title="Secret title", body="Secret body")
    client = login(alice)
    with time_machine.travel(SEALING, tick=False):
        page = client.get(reverse("vault:seal", args=[letter.pk]))
        assert "cannot be undone" in text(page)
        assert "14 February 2027" in text(page)
        assert "14 February 2037" in text(page)
        refused = client.post(reverse("vault:seal", args=[letter.pk]), {"years_later": "0"})
        assert refused.status_code == 200
        assert "Tick this box" in text(refused)
        letter.refresh_from_db()
        assert letter.is_draft

        done = client.post(
            reverse("vault:seal", args=[letter.pk]),
            {"years_later": "1", "confirm": "on"},
            follow=True,
        )
        assert "It will open on 14 February 2028" in text(done)
        letter.refresh_from_db()
        assert letter.status == Letter.Status.SEALED
        assert letter.opens_on == dt.date(2028, 2, 14)

        again = client.post(
            reverse("vault:seal", args=[letter.pk]),
            {"years_later": "0", "confirm": "on"},
            follow=True,
        )
        assert "already sealed" in text(again)
        letter.refresh_from_db()
        assert letter.opens_on == dt.date(2028, 2, 14)


def test_a_bogus_opening_choice_is_a_form_error(couple, alice, login):
    letter = services.letter_create(author=alice, title="t", body="b")
    client = login(alice)
    response = client.post(
        reverse("vault:seal", args=[letter.pk]), {"years_later": "3", "confirm": "on"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["years_later"]
    letter.refresh_from_db()
    assert letter.is_draft


def test_forged_post_cannot_edit_or_delete_a_sealed_letter(couple, alice, login, seal):
    letter = seal(alice, title="Sealed title", body="Sealed body", now=SEALING)
    before = bytes(letter.body_ciphertext)
    client = login(alice)
    response = client.post(
        reverse("vault:edit", args=[letter.pk]), {"title": "Hacked", "body": "Hacked"}, follow=True
    )
    assert "can no longer be changed" in text(response)
    assert "Sealed body" not in text(response)
    response = client.post(reverse("vault:delete", args=[letter.pk]), follow=True)
    assert "cannot be deleted" in text(response)
    letter.refresh_from_db()
    assert bytes(letter.body_ciphertext) == before
    assert letter.status == Letter.Status.SEALED
    # The author's own edit page shows nothing of it either.
    page = client.get(reverse("vault:edit", args=[letter.pk]), follow=True)
    assert "Sealed title" not in text(page)


def test_home_shows_counts_and_dates_never_titles(couple, alice, bob, login, seal):
    seal(alice, title="Title one", body="Body one", now=SEALING)
    seal(alice, title="Title two", body="Body two", now=SEALING)
    with time_machine.travel(SEALING + dt.timedelta(days=1), tick=False):
        page = text(login(bob).get(reverse("vault:home")))
        assert "2 letters sealed for 14 February 2027" in page
        mine = text(login(alice).get(reverse("vault:home")))
        assert "opening 14 February 2027" in mine
    for page_text in (page, mine):
        assert "Title one" not in page_text
        assert "Body two" not in page_text


# --- The yearly page ------------------------------------------------------------------------------


def test_year_without_letters_is_a_clear_404(couple, alice, login):
    client = login(alice)
    response = client.get(reverse("vault:year", args=[2031]))
    assert response.status_code == 404
    assert "No letters for 2031" in text(response)
    assert client.get("/vault/99999/").status_code == 404


def test_year_before_opening_shows_only_a_count(couple, alice, bob, login, seal):
    seal(alice, title="Early title", body="Early body", now=SEALING)
    with time_machine.travel(OPENING - dt.timedelta(minutes=1), tick=False):
        response = login(bob).get(reverse("vault:year", args=[2027]))
    assert response.status_code == 200
    assert "1 letter will open on 14 February 2027" in text(response)
    assert "Early" not in text(response)


def test_opening_page_groups_by_author_and_records_reads(couple, alice, bob, login, seal):
    seal(alice, title="From Alice", body="Alice writes", now=SEALING)
    from_bob = seal(bob, title="From Bob", body="Bob writes", now=SEALING)
    services.letter_unlock_due(now=OPENING)
    with time_machine.travel(OPENING + dt.timedelta(hours=9), tick=False):
        client = login(alice)
        page = text(client.get(reverse("vault:year", args=[2027])))
        assert "From Alice (you)" in page and "From Bob" in page
        assert "Alice writes" in page and "Bob writes" in page
        assert "Bob has not read it yet." in page

        reply = client.post(
            reverse("vault:mark_read", args=[from_bob.pk]), HTTP_ACCEPT="application/json"
        )
        assert reply.json() == {"read": True}

        client = login(bob)
        letter = Letter.objects.get(author=alice)
        client.post(reverse("vault:mark_read", args=[letter.pk]))
        client.post(reverse("vault:mark_read", args=[letter.pk]))
        page = text(login(alice).get(reverse("vault:year", args=[2027])))
    assert "Bob read it on 14 Feb 2027, 09:00" in page
    assert LetterRead.objects.count() == 2


def test_stranger_sees_nothing_of_a_year(couple, alice, stranger, login, seal):
    letter = seal(alice, title="Ours", body="Ours only", now=SEALING)
    services.letter_unlock_due(now=OPENING)
    with time_machine.travel(OPENING, tick=False):
        client = login(stranger)
        response = client.get(reverse("vault:year", args=[2027]))
        assert response.status_code == 404
        assert "Ours" not in text(response)
        assert client.post(reverse("vault:mark_read", args=[letter.pk])).status_code == 404


def test_tampered_letter_shows_could_not_be_opened(couple, alice, bob, login, seal, caplog):
    from .conftest import raw_update

    letter = seal(alice, title="Tamper title", body="Tamper body", now=SEALING)
    early = local("Europe/Berlin", 2026, 6, 1)
    raw_update(letter, opens_at=early, opens_on=dt.date(2026, 6, 1))
    with time_machine.travel(early, tick=False):
        response = login(bob).get(reverse("vault:year", args=[2026]))
    assert response.status_code == 200
    assert "This letter could not be opened" in text(response)
    assert "Tamper" not in text(response)
    assert "could not be decrypted" in caplog.text


def test_archive_lists_past_years(couple, alice, bob, login, seal):
    seal(alice, now=SEALING)
    seal(bob, now=SEALING, years_later=1)
    with time_machine.travel(OPENING + dt.timedelta(days=400), tick=False):
        page = text(login(bob).get(reverse("vault:archive")))
    assert "2027" in page and "2028" in page
    assert "1 from Alice" in page and "1 from Bob" in page


# --- Opening together ------------------------------------------------------------------


def test_letters_appear_together_once_both_are_here(couple, alice, bob, login, seal):
    seal(alice, title="Together title", body="Together body", now=SEALING)
    services.letter_unlock_due(now=OPENING)
    url = reverse("vault:together", args=[2027])
    status_url = reverse("vault:together_status", args=[2027])
    with time_machine.travel(OPENING, tick=False):
        client = login(alice)
        client.post(url)
        page = text(client.get(url))
        assert "Together body" not in page
        assert client.get(status_url).json() == {
            "here": ["Alice"],
            "me_here": True,
            "both_here": False,
        }
        client = login(bob)
        client.post(url)
        client.post(url)  # twice is still once
        assert client.get(status_url).json()["both_here"] is True
        assert "Together body" in text(client.get(url))
    assert OpeningPresence.objects.count() == 2


def test_together_before_opening_reveals_nothing(couple, alice, bob, login, seal):
    seal(alice, title="Not yet title", body="Not yet", now=SEALING)
    with time_machine.travel(OPENING - dt.timedelta(minutes=1), tick=False):
        for user in (alice, bob):
            client = login(user)
            client.post(reverse("vault:together", args=[2027]))
            page = text(client.get(reverse("vault:together", args=[2027])))
            assert "Not yet title" not in page
    assert not OpeningPresence.objects.exists()


# --- Dashboard and query counts --------------------------------------------------------


def test_dashboard_counts_days_and_letters(couple, alice, bob, seal):
    seal(alice, now=SEALING)
    services.letter_create(author=bob, title="t", body="b")
    now = local("Europe/Berlin", 2027, 2, 4, 12)
    data = dashboard_vault(space=couple, user=bob, now=now)
    assert data["countdown"] == "in 10 days"
    assert data["next_opening"] == dt.date(2027, 2, 14)
    assert (data["waiting"], data["sealed"], data["drafts"]) == (1, 0, 1)
    today = dashboard_vault(space=couple, user=bob, now=OPENING + dt.timedelta(hours=1))
    assert today["is_today"] and today["open_this_year"] == 1


def test_dashboard_counts_to_the_day_letters_open_not_the_current_anniversary(
    couple, alice, bob, seal, login, django_assert_num_queries
):
    seal(alice, now=SEALING)  # opens 14 February 2027
    couple.anniversary = dt.date(2015, 1, 1)  # changed afterwards: the letter keeps its day
    couple.save()
    december = local("Europe/Berlin", 2026, 12, 20, 12)
    with django_assert_num_queries(1):
        data = dashboard_vault(space=couple, user=bob, now=december)
    assert data["next_opening"] == dt.date(2027, 2, 14) and data["countdown"] == "in 56 days"
    assert data["letters_then"] and not data["is_today"]
    with time_machine.travel(december, tick=False):
        page = text(login(bob).get(reverse("home:dashboard")))
    assert "The vault opens <strong>in 56 days</strong>, on Sun 14 Feb 2027 at 00:00." in page


def test_dashboard_on_the_anniversary_without_letters_says_so(couple, alice, bob, login):
    now = OPENING + dt.timedelta(hours=9)
    data = dashboard_vault(space=couple, user=bob, now=now)
    assert data["anniversary_today"] and not data["is_today"] and not data["letters_then"]
    with time_machine.travel(now, tick=False):
        page = text(login(bob).get(reverse("home:dashboard")))
    assert "Today is your anniversary." in page


def test_dashboard_skips_anniversaries_without_letters(couple, alice, bob, seal):
    seal(alice, now=SEALING, years_later=1)  # opens 14 February 2028
    data = dashboard_vault(space=couple, user=bob, now=local("Europe/Berlin", 2027, 2, 4, 12))
    assert data["next_opening"] == dt.date(2028, 2, 14) and data["letters_then"]


def test_dashboard_without_sealed_letters_invites_to_write(couple, alice, bob, login):
    services.letter_create(author=bob, title="t", body="b")  # a draft does not open
    now = local("Europe/Berlin", 2027, 2, 4, 12)
    data = dashboard_vault(space=couple, user=bob, now=now)
    assert data["next_opening"] == dt.date(2027, 2, 14) and data["countdown"] == "in 10 days"
    assert not data["letters_then"]
    with time_machine.travel(now, tick=False):
        page = text(login(bob).get(reverse("home:dashboard")))
    assert "Your anniversary is <strong>in 10 days</strong>: the vault opens on Sun 14 Feb" in page
    assert reverse("vault:write") in page


def test_dashboard_page_shows_the_vault_counter(couple, alice, login, seal):
    seal(alice, title="Dash title", body="Dash body", now=SEALING)
    with time_machine.travel(local("Europe/Berlin", 2027, 2, 4, 12), tick=False):
        page = text(login(alice).get(reverse("home:dashboard")))
    assert "The vault opens <strong>in 10 days</strong>, on Sun 14 Feb 2027 at 00:00." in page
    assert "Dash" not in page


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _letters(seal, alice, bob, n):
    for i in range(n):
        seal(alice if i % 2 else bob, title=f"t{i}", body=f"b{i}", now=SEALING)
        services.letter_create(author=alice, title=f"d{i}", body="draft")


@pytest.mark.parametrize(
    "url",
    [
        reverse("vault:home"),
        reverse("vault:archive"),
        reverse("home:dashboard"),
        reverse("vault:year", args=[2027]),
        reverse("vault:together", args=[2027]),
    ],
)
def test_page_queries_do_not_grow_with_letters(couple, alice, bob, login, seal, url):
    _letters(seal, alice, bob, 2)
    services.letter_unlock_due(now=OPENING)
    with time_machine.travel(OPENING + dt.timedelta(hours=1), tick=False):
        client = login(alice)
        client.get(url)  # warm up the session
        small = _count_queries(client, url)
    _letters(seal, alice, bob, 20)
    services.letter_unlock_due(now=OPENING)
    with time_machine.travel(OPENING + dt.timedelta(hours=1), tick=False):
        large = _count_queries(client, url)
    assert small == large


# --- Admin ----------------------------------------------------------------------------------


def test_admin_shows_metadata_only_and_cannot_change_or_delete(couple, alice, seal, login):
    from tests.factories import UserFactory

    letter = seal(alice, title="Admin title", body="Admin body", now=SEALING)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = login(staff)
    listing = client.get(reverse("admin:vault_letter_changelist"), {"q": str(letter.pk)[:8]})
    assert listing.status_code == 200
    assert str(letter.pk) in text(listing)
    page = client.get(reverse("admin:vault_letter_change", args=[letter.pk]))
    assert page.status_code == 200
    for secret in ("ciphertext", "nonce", "wrapped_key", "Admin title", "Admin body"):
        assert secret not in text(page)
    assert "14 February 2027" in text(page) or "Feb. 14, 2027" in text(page)
    assert client.get(reverse("admin:vault_letter_delete", args=[letter.pk])).status_code == 403
    client.post(reverse("admin:vault_letter_change", args=[letter.pk]), {"status": "draft"})
    letter.refresh_from_db()
    assert letter.status == Letter.Status.SEALED


def test_dashboard_selector_is_one_query(couple, alice, bob, seal, django_assert_num_queries):
    seal(alice, now=SEALING)
    with django_assert_num_queries(1):
        dashboard_vault(space=couple, user=bob, now=SEALING)


# --- Across zones (issue 10, bug 6) ----------------------------------------------------------

HOME = "America/Anchorage"
# Opening day 3 December 2026: midnight at home is 09:00Z, 10:00 in Berlin.
OPENS = local(HOME, 2026, 12, 3, 0, 0)


@pytest.fixture
def apart(space, both_ways, seal):
    """Home in Anchorage, anniversary 3 December; the acting partner in Berlin, the other at
    home, who has sealed a letter for her that opens on 3 December 2026."""
    space.time_zone = HOME
    space.anniversary = dt.date(2015, 12, 3)
    space.save()
    traveller, homebody = live_apart(both_ways)
    letter = seal(homebody, now=local(HOME, 2026, 3, 1, 12))
    assert letter.opens_at == OPENS
    return traveller, homebody


def _opening_texts() -> tuple[str, str]:
    """What each sees of the opening instant: Berlin with home time beside, home alone."""
    berlin = OPENS.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    return (
        f"{berlin:%a %-d %b %Y at %H:%M} (home time: {OPENS:%H:%M})",
        f"{OPENS:%a %-d %b %Y at %H:%M}",
    )


COUNTDOWNS = [
    (dt.datetime(2026, 11, 21, 9, 2, tzinfo=dt.UTC), "in 12 days"),
    (dt.datetime(2026, 12, 2, 9, 2, tzinfo=dt.UTC), "tomorrow"),  # Wednesday, 00:02 at home
    (OPENS - dt.timedelta(hours=5), "in 5 hours"),
    (OPENS - dt.timedelta(minutes=35), "in 35 minutes"),
]


@pytest.mark.parametrize(("now", "expected"), COUNTDOWNS)
def test_vault_card_counts_to_the_instant_in_each_zone(client, apart, now, expected):
    traveller, homebody = apart
    for user, when in zip((traveller, homebody), _opening_texts(), strict=True):
        with time_machine.travel(now, tick=False):
            client.force_login(user)
            page = text(client.get(reverse("home:dashboard")))
        assert f"The vault opens <strong>{expected}</strong>, on {when}." in page, user
        assert "1 day until" not in page


@pytest.mark.parametrize(("now", "expected"), COUNTDOWNS)
def test_vault_page_counts_to_the_instant_in_each_zone(client, apart, now, expected):
    traveller, homebody = apart
    for user, when in zip((traveller, homebody), _opening_texts(), strict=True):
        with time_machine.travel(now, tick=False):
            client.force_login(user)
            page = text(client.get(reverse("vault:home")))
        assert f"The vault next opens <strong>{expected}</strong>, on {when}." in page, user


def test_vault_card_selector_words_the_countdown_for_the_viewer(apart, django_assert_num_queries):
    traveller, homebody = apart
    traveller.refresh_from_db()  # no cached space: the selector must not fetch it
    now, space = OPENS - dt.timedelta(minutes=35), homebody.space
    with django_assert_num_queries(1):
        data = dashboard_vault(space=space, user=traveller, now=now)
    assert data["countdown"] == "in 35 minutes"
    assert data["opens_at"] == OPENS and data["next_opening"] == dt.date(2026, 12, 3)
    assert data["when"] == _opening_texts()[0]


def test_vault_page_on_opening_day_says_so(couple, alice, bob, login, seal):
    seal(alice, now=SEALING)
    with time_machine.travel(OPENING + dt.timedelta(hours=1), tick=False):
        page = text(login(bob).get(reverse("vault:home")))
    assert "Today is opening day." in page and "next opens" not in page
