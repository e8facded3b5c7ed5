"""Sealing, opening days, reading, unlocking, tampering and key rotation."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from apps.notifications.models import OutboundEmail
from apps.vault import crypto, keys, services
from apps.vault.models import Letter, LetterRead
from tests.factories import UserFactory

from .conftest import local, raw_update

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)


# --- Opening days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "utc_opening"),
    [
        # UTC+14: midnight of 14 February is still 13 February in UTC.
        ("Pacific/Kiritimati", dt.datetime(2027, 2, 13, 10, 0, tzinfo=dt.UTC)),
        # UTC-11: midnight of 14 February is 11:00 UTC.
        ("Pacific/Pago_Pago", dt.datetime(2027, 2, 14, 11, 0, tzinfo=dt.UTC)),
    ],
)
def test_sealed_on_1_march_opens_next_14_february_at_local_midnight(
    couple, alice, bob, seal, zone, utc_opening
):
    couple.time_zone = zone
    couple.save()
    letter = seal(alice, now=local(zone, 2026, 3, 1, 9, 30))

    assert letter.opens_on == dt.date(2027, 2, 14)
    assert letter.opens_at == utc_opening == local(zone, 2027, 2, 14, 0, 0)

    before = utc_opening - MINUTE
    assert services.letter_unlock_due(now=before) == 0
    with pytest.raises(services.LetterLocked):
        services.letter_read(letter=letter, user=bob, now=before)
    with pytest.raises(services.LetterLocked):
        services.letter_read(letter=letter, user=alice, now=before)  # its author too

    assert services.letter_unlock_due(now=utc_opening) == 1
    letter.refresh_from_db()
    assert letter.status == Letter.Status.OPENED
    text = services.letter_read(letter=letter, user=bob, now=utc_opening)
    assert (text.title, text.body) == ("To you", "Dear you")


def test_sealing_day_is_the_spaces_local_day(couple, alice, seal):
    # 28 February 11:00 UTC is already 1 March in Kiritimati.
    couple.time_zone = "Pacific/Kiritimati"
    couple.save()
    letter = seal(alice, now=dt.datetime(2026, 2, 28, 11, 0, tzinfo=dt.UTC))
    assert letter.opens_on == dt.date(2027, 2, 14)


def test_sealed_on_the_anniversary_itself_waits_a_whole_year(couple, alice, seal):
    letter = seal(alice, now=local("Europe/Berlin", 2026, 2, 14, 8, 0))
    assert letter.opens_on == dt.date(2027, 2, 14)
    day_before = seal(alice, now=local("Europe/Berlin", 2026, 2, 13, 23, 59))
    assert day_before.opens_on == dt.date(2026, 2, 14)


@pytest.mark.parametrize(
    ("sealed", "years_later", "opens_on"),
    [
        (dt.date(2026, 3, 1), 0, dt.date(2027, 2, 28)),  # common year
        (dt.date(2027, 3, 1), 0, dt.date(2028, 2, 29)),  # leap year
        (dt.date(2026, 3, 1), 1, dt.date(2028, 2, 29)),
        (dt.date(2026, 3, 1), 2, dt.date(2029, 2, 28)),
    ],
)
def test_29_february_opens_on_28_february_in_common_years(
    couple, alice, seal, sealed, years_later, opens_on
):
    couple.anniversary = dt.date(2016, 2, 29)
    couple.save()
    now = local("Europe/Berlin", sealed.year, sealed.month, sealed.day, 12, 0)
    letter = seal(alice, now=now, years_later=years_later)
    assert letter.opens_on == opens_on
    assert letter.opens_at == local("Europe/Berlin", opens_on.year, opens_on.month, opens_on.day)


@pytest.mark.parametrize(
    ("years_later", "year"), [(0, 2026), (1, 2027), (2, 2028), (5, 2031), (10, 2036)]
)
def test_letters_for_later_anniversaries(couple, alice, bob, seal, years_later, year):
    couple.anniversary = dt.date(2019, 6, 14)
    couple.save()
    letter = seal(alice, now=local("Europe/Berlin", 2026, 3, 1, 12), years_later=years_later)
    assert letter.opens_on == dt.date(year, 6, 14)
    opening = local("Europe/Berlin", year, 6, 14)
    assert services.letter_unlock_due(now=opening - MINUTE) == 0
    assert services.letter_unlock_due(now=opening) == 1
    assert services.letter_read(letter=letter, user=bob, now=opening).body == "Dear you"


def test_changing_anniversary_or_zone_after_sealing_never_opens_earlier(couple, alice, bob, seal):
    letter = seal(alice, now=local("Europe/Berlin", 2026, 3, 1, 12))
    original = letter.opens_at
    # The anniversary moves to next week and the zone to the earliest one on Earth.
    couple.anniversary = dt.date(2015, 3, 8)
    couple.time_zone = "Pacific/Kiritimati"
    couple.save()
    early = local("Pacific/Kiritimati", 2026, 3, 8, 0, 0)
    assert services.letter_unlock_due(now=early) == 0
    with pytest.raises(services.LetterLocked):
        services.letter_read(letter=letter, user=bob, now=early)
    letter.refresh_from_db()
    assert letter.opens_at == original
    assert services.letter_unlock_due(now=original) == 1


def test_rejects_a_years_later_value_outside_the_choices(couple, alice):
    letter = services.letter_create(author=alice, title="t", body="b")
    with pytest.raises(services.VaultError):
        services.letter_seal(letter=letter, user=alice, years_later=3, now=local("UTC", 2026, 1, 1))
    letter.refresh_from_db()
    assert letter.status == Letter.Status.DRAFT


# --- Drafts and bad input ----------------------------------------------------------------------


def test_draft_is_stored_encrypted_and_readable_by_its_author_only(couple, alice, bob, stranger):
    letter = services.letter_create(author=alice, title="Sorry", body="About the kettle")
    assert letter.recipient == bob
    now = local("UTC", 2026, 1, 1)
    assert services.letter_read(letter=letter, user=alice, now=now).title == "Sorry"
    for other in (bob, stranger):
        with pytest.raises(services.LetterNotFound):
            services.letter_read(letter=letter, user=other, now=now)
    services.letter_update(letter=letter, user=alice, title="Sorry again", body="Kettle")
    letter.refresh_from_db()
    assert services.letter_read(letter=letter, user=alice, now=now).title == "Sorry again"


def test_partner_cannot_edit_delete_or_seal_anothers_draft(couple, alice, bob):
    letter = services.letter_create(author=alice, title="t", body="b")
    now = local("UTC", 2026, 1, 1)
    with pytest.raises(services.LetterNotFound):
        services.letter_update(letter=letter, user=bob, title="x", body="y")
    with pytest.raises(services.LetterNotFound):
        services.letter_delete(letter=letter, user=bob)
    with pytest.raises(services.LetterNotFound):
        services.letter_seal(letter=letter, user=bob, now=now)
    letter.refresh_from_db()
    assert letter.status == Letter.Status.DRAFT
    assert services.letter_read(letter=letter, user=alice, now=now).body == "b"


def test_sealed_letter_cannot_be_sealed_twice_edited_or_deleted(couple, alice, seal):
    now = local("Europe/Berlin", 2026, 3, 1, 12)
    letter = seal(alice, now=now)
    opens_at = letter.opens_at
    with pytest.raises(services.VaultError, match="already sealed"):
        services.letter_seal(letter=letter, user=alice, years_later=10, now=now)
    with pytest.raises(services.VaultError, match="sealed"):
        services.letter_update(letter=letter, user=alice, title="x", body="y")
    with pytest.raises(services.VaultError, match="sealed"):
        services.letter_delete(letter=letter, user=alice)
    letter.refresh_from_db()
    assert letter.opens_at == opens_at
    assert letter.status == Letter.Status.SEALED


def test_no_letter_without_a_partner(space, alice):
    with pytest.raises(services.VaultError, match="invite"):
        services.letter_create(author=alice, title="t", body="b")
    assert not Letter.objects.exists()


def test_database_check_constraints_hold(couple, alice, bob):
    from django.db import IntegrityError, transaction

    letter = services.letter_create(author=alice, title="t", body="b")
    with pytest.raises(IntegrityError), transaction.atomic():
        Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.SEALED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Letter.objects.filter(pk=letter.pk).update(recipient=alice)


# --- Unlocking ----------------------------------------------------------------------------------


def test_unlock_opens_once_and_emails_each_partner_once_per_year(
    couple, alice, bob, seal, django_capture_on_commit_callbacks
):
    sealed_at = local("Europe/Berlin", 2026, 3, 1, 12)
    letters = [seal(alice, now=sealed_at), seal(alice, now=sealed_at), seal(bob, now=sealed_at)]
    opening = letters[0].opens_at
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.letter_unlock_due(now=opening) == 3
        assert services.letter_unlock_due(now=opening + MINUTE) == 0
    assert set(Letter.objects.values_list("status", flat=True)) == {"opened"}

    rows = OutboundEmail.objects.filter(template="vault_opened")
    assert sorted(rows.values_list("to_email", flat=True)) == sorted([alice.email, bob.email])
    assert sorted(m.to[0] for m in mail.outbox) == sorted([alice.email, bob.email])
    message = next(m for m in mail.outbox if m.to == [bob.email])
    assert message.subject == "Your 2027 letters are open"
    assert "/vault/2027/" in message.body
    html = message.alternatives[0][0]
    assert "/vault/2027/" in html
    assert "Dear you" not in message.body + html + message.subject
    assert "To you" not in message.body + html + message.subject
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_late_pass_still_opens_everything(couple, alice, bob, seal):
    letter = seal(alice, now=local("Europe/Berlin", 2026, 3, 1, 12))
    weeks_late = letter.opens_at + dt.timedelta(days=40)
    assert services.letter_unlock_due(now=weeks_late) == 1
    letter.refresh_from_db()
    assert letter.opened_at == weeks_late
    assert OutboundEmail.objects.filter(template="vault_opened").count() == 2


def test_unlock_works_through_batches(couple, alice, bob, seal):
    now = local("Europe/Berlin", 2026, 3, 1, 12)
    letters = [seal(alice, now=now) for _ in range(7)]
    assert services.letter_unlock_due(now=letters[0].opens_at, batch_size=3) == 7
    emails = OutboundEmail.objects.filter(template="vault_opened")
    assert emails.count() == 2
    # Queued with the first batch of 3, yet counting all 7 of the day.
    for email in emails:
        assert "7 letters sealed for 2027" in email.body_text
        assert "3 letters" not in email.body_text


def test_opening_email_counts_letters_a_later_pass_opens(couple, alice, bob, seal):
    """One opening day, two instants (the zone changed between sealings): the e-mail,
    queued by the first pass, already counts the letter the second pass opens."""
    now = local("Europe/Berlin", 2026, 3, 1, 12)
    berlin = [seal(alice, now=now) for _ in range(2)]
    couple.time_zone = "America/New_York"
    couple.save()
    new_york = seal(bob, now=now)
    assert new_york.opens_on == berlin[0].opens_on and new_york.opens_at > berlin[0].opens_at
    assert services.letter_unlock_due(now=berlin[0].opens_at) == 2
    assert services.letter_unlock_due(now=new_york.opens_at) == 1
    emails = OutboundEmail.objects.filter(template="vault_opened")
    assert emails.count() == 2
    assert all("3 letters sealed for 2027" in e.body_text for e in emails)


def test_first_read_is_recorded_once(couple, alice, bob, seal):
    letter = seal(alice, now=local("Europe/Berlin", 2026, 3, 1, 12))
    with pytest.raises(services.LetterLocked):
        services.letter_mark_read(letter=letter, user=bob, now=letter.opens_at - MINUTE)
    first = services.letter_mark_read(letter=letter, user=bob, now=letter.opens_at)
    again = services.letter_mark_read(letter=letter, user=bob, now=letter.opens_at + MINUTE)
    assert first.pk == again.pk
    assert again.first_read_at == letter.opens_at
    assert LetterRead.objects.count() == 1


# --- Tampering -----------------------------------------------------------------------------------


def test_moving_the_opening_day_earlier_by_sql_makes_the_letter_unreadable(
    couple, alice, bob, seal, caplog
):
    sealed_at = local("Europe/Berlin", 2026, 3, 1)
    letter = seal(alice, title="Secret", body="Hidden words", now=sealed_at)
    early = local("Europe/Berlin", 2026, 4, 1)
    raw_update(letter, opens_at=early, opens_on=early.date())
    letter.refresh_from_db()
    caplog.set_level(logging.INFO)
    with pytest.raises(services.LetterUnreadable, match="could not be opened"):
        services.letter_read(letter=letter, user=bob, now=early)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors
    assert str(letter.pk) in errors[0].getMessage()
    assert "Hidden words" not in caplog.text
    assert "Secret" not in caplog.text


def test_swapping_ciphertexts_makes_both_letters_unreadable(couple, alice, bob, seal, caplog):
    now = local("Europe/Berlin", 2026, 3, 1)
    one = seal(alice, title="One", body="First", now=now)
    two = seal(alice, title="Two", body="Second", now=now)
    columns = ["wrapped_key", "title_nonce", "title_ciphertext", "body_nonce", "body_ciphertext"]
    a = {c: bytes(getattr(one, c)) for c in columns}
    b = {c: bytes(getattr(two, c)) for c in columns}
    raw_update(one, **b)
    raw_update(two, **a)
    caplog.set_level(logging.INFO)
    for letter in (one, two):
        letter.refresh_from_db()
        with pytest.raises(services.LetterUnreadable):
            services.letter_read(letter=letter, user=bob, now=one.opens_at)
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 2
    # Swapping only the wrapped data keys fails as well.
    mixed = {**a, "wrapped_key": b["wrapped_key"]}
    raw_update(one, **mixed)
    one.refresh_from_db()
    with pytest.raises(services.LetterUnreadable):
        services.letter_read(letter=one, user=bob, now=one.opens_at)


def test_reopening_a_sealed_letter_as_a_draft_by_sql_reveals_nothing(couple, alice, seal):
    letter = seal(alice, now=local("Europe/Berlin", 2026, 3, 1))
    raw_update(letter, status="draft", sealed_at=None, opens_at=None, opens_on=None)
    letter.refresh_from_db()
    with pytest.raises(services.LetterUnreadable):
        services.letter_read(letter=letter, user=alice, now=local("UTC", 2026, 3, 2))


# --- Keys ----------------------------------------------------------------------------------


def test_key_rotation_and_rewrap(couple, alice, bob, seal, settings):
    old = settings.VAULT_KEYS
    letter = seal(alice, now=local("Europe/Berlin", 2026, 3, 1))
    assert letter.key_id == "test1"
    opening = letter.opens_at

    new = crypto.new_key_spec("k2")
    settings.VAULT_KEYS = f"{new},{old}"
    assert services.letter_read(letter=letter, user=bob, now=opening).body == "Dear you"
    newer = seal(bob, now=local("Europe/Berlin", 2026, 3, 2))
    assert newer.key_id == "k2"

    # Without the old key, the old letter cannot be opened (and says so in the log).
    settings.VAULT_KEYS = new
    with pytest.raises(services.LetterUnreadable):
        services.letter_read(letter=letter, user=bob, now=opening)

    settings.VAULT_KEYS = f"{new},{old}"
    call_command("vault_rewrap")
    letter.refresh_from_db()
    assert letter.key_id == "k2"
    settings.VAULT_KEYS = new  # the old key can go now
    assert services.letter_read(letter=letter, user=bob, now=opening).body == "Dear you"
    assert services.letter_read(letter=newer, user=alice, now=opening).body == "Dear you"


def test_rewrap_reports_letters_it_cannot_unwrap(couple, alice, seal, settings):
    letter = seal(alice, now=local("Europe/Berlin", 2026, 3, 1))
    settings.VAULT_KEYS = crypto.new_key_spec("k9")  # the letter's key is missing
    with pytest.raises(CommandError, match="could not be re-wrapped"):
        call_command("vault_rewrap")
    letter.refresh_from_db()
    assert letter.key_id == "test1"


def test_rewrap_does_not_declare_old_keys_unneeded_while_letters_still_use_them(
    couple, alice, seal, settings, monkeypatch
):
    """A web process still on the old keys may write a letter while the re-wrap runs."""
    old = settings.VAULT_KEYS
    seal(alice, now=local("Europe/Berlin", 2026, 3, 1))
    settings.VAULT_KEYS = f"{crypto.new_key_spec('k2')},{old}"
    real = keys.letters_rewrap

    def rewrap_while_an_old_process_writes():
        result = real()
        with override_settings(VAULT_KEYS=old):  # the process not restarted yet
            seal(alice, now=local("Europe/Berlin", 2026, 3, 2))
        return result

    monkeypatch.setattr(
        "apps.vault.management.commands.vault_rewrap.letters_rewrap",
        rewrap_while_an_old_process_writes,
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"1 letter\(s\) are still under an older key"):
        call_command("vault_rewrap", stdout=out)
    assert "no longer needed" not in out.getvalue()


def test_a_wrong_key_under_the_right_id_fails_loudly(couple, alice, bob, seal, settings, caplog):
    letter = seal(alice, now=local("Europe/Berlin", 2026, 3, 1))
    settings.VAULT_KEYS = crypto.new_key_spec("test1")
    caplog.set_level(logging.ERROR)
    with pytest.raises(services.LetterUnreadable):
        services.letter_read(letter=letter, user=bob, now=letter.opens_at)
    assert "could not be decrypted" in caplog.text


def test_other_users_are_not_recipients(couple, alice, bob, seal):
    letter = seal(alice, now=local("Europe/Berlin", 2026, 3, 1))
    third = UserFactory(space=couple)  # should never happen, but never a reader either
    with pytest.raises(services.LetterNotFound):
        services.letter_read(letter=letter, user=third, now=letter.opens_at)


def test_rewrap_check_finds_a_wrong_key_without_changing_anything(couple, alice, seal, settings):
    from io import StringIO

    letter = seal(alice, now=local("Europe/Berlin", 2026, 3, 1))
    out = StringIO()
    call_command("vault_rewrap", "--check", stdout=out)
    assert "1 letter(s) on the newest key 'test1'" in out.getvalue()
    settings.VAULT_KEYS = crypto.new_key_spec("test1")  # same id, wrong key
    with pytest.raises(CommandError, match=str(letter.pk)):
        call_command("vault_rewrap", "--check", stdout=StringIO())
    letter.refresh_from_db()
    assert letter.key_id == "test1"


def test_two_opening_days_in_one_year_each_send_their_email(couple, alice, bob, seal):
    first = seal(alice, now=local("Europe/Berlin", 2026, 3, 1))  # opens 14 Feb 2027
    couple.anniversary = dt.date(2015, 3, 5)
    couple.save()
    second = seal(bob, now=local("Europe/Berlin", 2026, 3, 10))  # opens 5 Mar 2027
    assert (first.opens_on, second.opens_on) == (dt.date(2027, 2, 14), dt.date(2027, 3, 5))
    services.letter_unlock_due(now=first.opens_at)
    services.letter_unlock_due(now=second.opens_at)
    services.letter_unlock_due(now=second.opens_at + MINUTE)
    assert OutboundEmail.objects.filter(template="vault_opened").count() == 4
