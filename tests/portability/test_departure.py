"""Leaving the space and deleting the account: what stays, what goes, and no 500."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.db import connection
from django.urls import reverse

from apps.accounts.models import Space, User
from apps.accounts.services import account_delete, space_leave
from apps.journal.models import Entry, JournalProfile
from apps.notifications.models import EmailOptOut, OutboundEmail
from apps.rituals.models import CalendarFeed, CheckIn, ReminderPreference, ReminderSchedule
from apps.vault import services as vault
from apps.vault.models import Letter, NudgeOptIn
from tests.factories import PASSWORD

from .conftest import (
    ALICE_PRIVATE,
    ALICE_SHARED,
    BOB_LETTER_OPENS,
    OPENED_BODY,
    SEALED_TO_ALICE_BODY,
    SEALED_TO_BOB_BODY,
)

pytestmark = pytest.mark.django_db


def raw_count(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def raw_contains(table: str, text: str) -> bool:
    """Whether any column of any row of ``table`` holds ``text`` (read behind the ORM)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (our own table names)
        return text in repr(cursor.fetchall())


def assert_alice_personal_rows_gone(alice_pk: int) -> None:
    assert (
        raw_count(
            "SELECT COUNT(*) FROM journal_entry WHERE author_id = %s AND is_private = %s",
            [alice_pk, True],
        )
        == 0
    )
    assert not raw_contains("journal_entry", ALICE_PRIVATE)
    assert not Letter.objects.filter(author_id=alice_pk, status="draft").exists()
    assert not ReminderSchedule.objects.filter(user_id=alice_pk).exists()
    assert not ReminderPreference.objects.filter(user_id=alice_pk).exists()
    assert not CalendarFeed.objects.filter(user_id=alice_pk).exists()
    assert not JournalProfile.objects.filter(user_id=alice_pk).exists()
    assert not NudgeOptIn.objects.filter(user_id=alice_pk).exists()


def assert_shared_history_stays(history) -> None:
    bob = User.objects.get(pk=history.bob.pk)
    assert CheckIn.objects.filter(ritual=history.ritual, user_id=history.alice.pk).count() == 2
    from apps.journal.selectors import entries_visible_to

    texts = set(entries_visible_to(bob).values_list("text", flat=True))
    assert ALICE_SHARED in texts and ALICE_PRIVATE not in texts
    opened = Letter.objects.get(pk=history.opened.pk)
    assert (
        vault.letter_read(letter=opened, user=bob, now=dt.datetime.now(dt.UTC)).body == OPENED_BODY
    )
    assert Letter.objects.get(pk=history.sealed_to_bob.pk).status == "sealed"


# --- The pages ---------------------------------------------------------------------------------


def test_leave_page_explains_before_confirming(client, history, frozen):
    client.force_login(history.alice)
    page = client.get(reverse("portability:leave")).content.decode()
    assert page.count("<h1") == 1
    assert "What stays with the space" in page and "What goes, for good" in page
    assert "your private journal entries (1)" in page
    assert "your letter drafts (1)" in page
    assert "letters sealed for you (1) stay sealed" in page
    assert f"We will let {history.bob.name} know by e-mail that you left" in page
    assert 'type="password"' in page and 'for="id_password"' in page


def test_leave_with_a_wrong_password_changes_nothing(client, history, frozen):
    client.force_login(history.alice)
    response = client.post(reverse("portability:leave"), {"password": "nope"})
    assert response.status_code == 200
    assert "That is not your password." in response.content.decode()
    history.alice.refresh_from_db()
    assert history.alice.space_id == history.space.pk
    assert Entry.objects.filter(text=ALICE_PRIVATE).exists()


def test_leave_needs_post_with_csrf(history, frozen):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(history.alice)
    assert client.post(reverse("portability:leave"), {"password": PASSWORD}).status_code == 403
    history.alice.refresh_from_db()
    assert history.alice.space_id == history.space.pk


def test_leave(client, history, frozen):
    client.force_login(history.alice)
    response = client.post(reverse("portability:leave"), {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:space_create")
    alice = User.objects.get(pk=history.alice.pk)
    assert alice.space_id is None and alice.is_active and alice.email == history.alice.email
    assert_alice_personal_rows_gone(alice.pk)
    assert_shared_history_stays(history)
    # Alice can start again.
    assert client.get(reverse("accounts:space_create")).status_code == 200
    assert client.get(reverse("portability:my_data")).status_code == 302


def test_letters_after_leaving(history, frozen):
    """Alice's sealed letter still reaches Bob; Bob's to Alice comes back to Bob alone."""
    space_leave(user=history.alice)
    bob = User.objects.get(pk=history.bob.pk)
    alice = User.objects.get(pk=history.alice.pk)
    to_alice = Letter.objects.get(pk=history.sealed_to_alice.pk)
    with time_machine.travel(BOB_LETTER_OPENS, tick=False):
        vault.letters_open_due(now=BOB_LETTER_OPENS)
        to_alice.refresh_from_db()
        assert to_alice.status == "opened"
        assert vault.letter_read(letter=to_alice, user=bob, now=BOB_LETTER_OPENS).body == (
            SEALED_TO_ALICE_BODY
        )
        with pytest.raises(vault.LetterNotFound):
            vault.letter_read(letter=to_alice, user=alice, now=BOB_LETTER_OPENS)
    later = dt.datetime(2027, 2, 14, 0, 0, tzinfo=BOB_LETTER_OPENS.tzinfo)
    with time_machine.travel(later, tick=False):
        vault.letters_open_due(now=later)
        to_bob = Letter.objects.get(pk=history.sealed_to_bob.pk)
        assert vault.letter_read(letter=to_bob, user=bob, now=later).body == SEALED_TO_BOB_BODY


def test_the_last_member_leaving_deletes_the_space(history, frozen):
    space_leave(user=history.alice)
    assert Space.objects.filter(pk=history.space.pk).exists()
    space_leave(user=history.bob)
    assert not Space.objects.filter(pk=history.space.pk).exists()
    assert not Letter.objects.exists() and not Entry.objects.exists()


def test_delete_page_explains(client, history, frozen):
    client.force_login(history.alice)
    page = client.get(reverse("portability:delete_account")).content.decode()
    assert page.count("<h1") == 1
    assert "What stays with the space" in page and "no longer sign in" in page
    assert "your name (Alice) stays" in page


def test_delete_account(client, history, frozen):
    alice_pk, old_email = history.alice.pk, history.alice.email
    client.force_login(history.alice)
    response = client.post(reverse("portability:delete_account"), {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home:landing")
    # Signed out, and the account cannot come back.
    assert client.get(reverse("home:dashboard")).status_code == 302
    assert not client.login(email=old_email, password=PASSWORD)

    tombstone = User.objects.get(pk=alice_pk)
    assert tombstone.email.endswith("@deleted.invalid")
    assert not tombstone.is_active and not tombstone.has_usable_password()
    assert tombstone.space_id is None and tombstone.display_name == "Alice"
    assert_alice_personal_rows_gone(alice_pk)
    assert_shared_history_stays(history)
    for table in (
        "accounts_user",
        "account_emailaddress",
        "notifications_outboundemail",
        "accounts_invitation",
    ):
        assert not raw_contains(table, old_email), table
    assert not EmailAddress.objects.filter(user_id=alice_pk).exists()


def test_the_remaining_partner_sees_the_shared_history(client, history, frozen):
    account_delete(user=history.alice)
    client.force_login(User.objects.get(pk=history.bob.pk))
    pages = [
        reverse("home:dashboard"),
        reverse("rituals:list"),
        reverse("rituals:detail", args=[history.ritual.pk]),
        reverse("journal:index"),
        reverse("journal:entry", args=[history.entries["alice_shared"].pk]),
        reverse("vault:home"),
        reverse("vault:archive"),
        reverse("vault:year", args=[2025]),
        reverse("accounts:space"),
        reverse("portability:my_data"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    assert ALICE_SHARED in client.get(reverse("journal:index")).content.decode()
    assert "Alice" in client.get(reverse("vault:year", args=[2025])).content.decode()
    response = client.post(reverse("portability:download"))
    assert response.status_code == 200


def test_delete_with_a_wrong_password_changes_nothing(client, history, frozen):
    client.force_login(history.alice)
    response = client.post(reverse("portability:delete_account"), {"password": ""})
    assert response.status_code == 200
    assert User.objects.get(pk=history.alice.pk).is_active


def test_delete_an_account_without_a_space(client, history, frozen):
    space_leave(user=history.alice)
    client.force_login(User.objects.get(pk=history.alice.pk))
    assert client.get(reverse("portability:delete_account")).status_code == 200
    response = client.post(reverse("portability:delete_account"), {"password": PASSWORD})
    assert response.status_code == 302
    assert not User.objects.get(pk=history.alice.pk).is_active
    assert_shared_history_stays(history)


def test_delete_removes_personal_mail_records(history, frozen):
    from apps.notifications.services import email_enqueue

    EmailOptOut.objects.create(user=history.alice, category="journal")
    email_enqueue(
        to_email=history.alice.email,
        template="test",
        context={"name": "Alice"},
        dedupe_key="test:alice",
        category="account",
        user=history.alice,
    )
    account_delete(user=history.alice)
    assert not EmailOptOut.objects.filter(user_id=history.alice.pk).exists()
    assert not OutboundEmail.objects.filter(user_id=history.alice.pk).exists()
    assert EmailOptOut.objects.filter(user=history.bob).exists()  # Bob's stay


def test_the_partner_can_invite_someone_after_a_departure(history, frozen):
    from apps.accounts.services import invitation_create

    account_delete(user=history.alice)
    invitation, _ = invitation_create(
        space=history.space, invited_by=User.objects.get(pk=history.bob.pk), email="c@example.com"
    )
    assert invitation.pk


def test_accounts_imports_no_feature_app():
    """The dependency rule: accounts reaches the feature apps through hooks only."""
    root = pathlib.Path(__file__).resolve().parents[2] / "apps" / "accounts"
    for path in root.rglob("*.py"):
        source = path.read_text()
        for app in ("rituals", "journal", "vault", "portability"):
            assert f"apps.{app}" not in source, f"{path} imports apps.{app}"


def test_mail_queued_for_the_leaver_is_not_sent(history, frozen):
    pending = OutboundEmail.objects.create(
        dedupe_key="reminder:test",
        user=history.alice,
        to_email=history.alice.email,
        category="reminders",
        template="ritual_reminder",
        subject="Evening talk",
        body_text="…",
    )
    space_leave(user=history.alice)
    pending.refresh_from_db()
    assert pending.status == OutboundEmail.Status.SKIPPED


def test_settings_page_links_to_the_data_pages(client, alice):
    client.force_login(alice)
    page = client.get(reverse("accounts:settings")).content.decode()
    for name in ("my_data", "leave", "delete_account"):
        assert reverse(f"portability:{name}") in page


def test_password_guesses_are_rate_limited(client, history, frozen):
    from django.core.cache import cache

    cache.clear()
    client.force_login(history.alice)
    url = reverse("portability:delete_account")
    for _ in range(10):
        assert "That is not your password." in client.post(url, {"password": "x"}).content.decode()
    page = client.post(url, {"password": PASSWORD}).content.decode()
    assert "Too many tries" in page
    assert User.objects.get(pk=history.alice.pk).is_active
    cache.clear()


def test_a_sole_member_is_told_the_space_goes(client, alice, frozen):
    client.force_login(alice)
    page = client.get(reverse("portability:leave")).content.decode()
    assert "the space itself is deleted" in page
    response = client.post(reverse("portability:leave"), {"password": PASSWORD}, follow=True)
    assert "it was deleted" in response.content.decode()
    assert not Space.objects.exists()
