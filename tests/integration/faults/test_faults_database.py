"""The database connection is cut (pg_terminate_backend from another connection) in the
middle of a scheduler pass: the pass's transaction is gone with it, the failure is
recorded in PassRun, the other passes of the tick still run, and the next tick does the
work, once."""

from __future__ import annotations

import collections
import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.models import PassRun
from apps.core.scheduling import TICK, run_passes
from apps.notifications.models import OutboundEmail
from apps.rituals.models import Reminder, ReminderSchedule
from apps.vault import services as vault
from apps.vault.models import Letter
from tests.rituals.conftest import make_ritual

from .helpers import keepsake_ids, terminate_backend

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

VAULT_PASS = "apps.vault.services.letter_unlock_due"
RITUALS_PASS = "apps.rituals.services.reminders_schedule_due"


def cut_on_first_call(monkeypatch, module, name: str) -> list:
    """Wrap ``module.name``: its first call kills this connection's backend, then goes on
    (so its next query meets a dead connection, inside the pass's transaction)."""
    original = getattr(module, name)
    cuts = []

    def wrapper(*args, **kwargs):
        if not cuts:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            assert connection.in_atomic_block  # mid-transaction, as the pass runs
            terminate_backend(pid)
            cuts.append(pid)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return cuts


def test_vault_pass_cut_mid_transaction_rolls_back_and_the_next_tick_opens_once(
    postgres, space, alice, bob, smtp_server, monkeypatch
):
    space.time_zone = "Europe/Berlin"
    space.anniversary = dt.date(2015, 2, 14)
    space.save()
    for author in (alice, bob):
        letter = vault.letter_create(author=author, title="For you", body="Years from now")
        vault.letter_seal(
            letter=letter, user=author, now=dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
        )
    cuts = cut_on_first_call(monkeypatch, vault, "_queue_opening_emails")
    now = timezone.now()

    results = {r.name: r for r in run_passes(now=now)}

    assert len(cuts) == 1
    assert "OperationalError" in results[VAULT_PASS].error or "InterfaceError" in (
        results[VAULT_PASS].error
    )
    # The letters' UPDATE died with the transaction: still sealed, nothing queued.
    assert set(Letter.objects.values_list("status", flat=True)) == {Letter.Status.SEALED}
    assert not OutboundEmail.objects.exists()
    # The failure is on record, and the tick's other passes ran.
    run = PassRun.objects.get(name=VAULT_PASS)
    assert run.last_error and run.last_ok_at is None
    assert PassRun.objects.get(name=TICK).last_error.startswith(VAULT_PASS)
    assert PassRun.objects.get(name="apps.notifications.services.outbox_deliver_due").last_ok_at

    results = {r.name: r for r in run_passes(now=now + dt.timedelta(minutes=1))}
    assert results[VAULT_PASS].error == ""
    assert results[VAULT_PASS].count == 2
    assert set(Letter.objects.values_list("status", flat=True)) == {Letter.Status.OPENED}
    assert PassRun.objects.get(name=VAULT_PASS).last_error == ""
    run_passes(now=now + dt.timedelta(minutes=2))
    ids = keepsake_ids(smtp_server.wait_for(2))
    assert len(ids) == len(set(ids)) == 2
    assert sorted(m["To"] for m in smtp_server.messages) == sorted([alice.email, bob.email])


def test_reminder_pass_cut_mid_transaction_rolls_back_and_the_next_tick_reminds_once(
    postgres, space, alice, bob, smtp_server, monkeypatch
):
    from apps.rituals.services import reminder_pass

    now = timezone.now()
    for title in ("Morning coffee", "Evening walk", "Sunday plans"):
        make_ritual(space, alice, now=now, title=title, starts_on=now.date() - dt.timedelta(days=2))
    due = now + dt.timedelta(minutes=1)
    ReminderSchedule.objects.update(next_remind_at=due - dt.timedelta(seconds=30))
    expected = ReminderSchedule.objects.count()
    assert expected == 6
    # Cut when the pass queues its batch's e-mails: its reminders are written by then.
    cuts = cut_on_first_call(monkeypatch, reminder_pass, "email_enqueue_many")

    results = {r.name: r for r in run_passes(now=due)}

    assert len(cuts) == 1
    assert results[RITUALS_PASS].error
    assert not Reminder.objects.exists()  # the batch's reminders rolled back with it
    assert not OutboundEmail.objects.exists()
    assert PassRun.objects.get(name=RITUALS_PASS).last_ok_at is None

    results = {r.name: r for r in run_passes(now=due + dt.timedelta(minutes=1))}
    assert results[RITUALS_PASS].error == ""
    run_passes(now=due + dt.timedelta(minutes=2))
    assert Reminder.objects.count() == expected
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count() == expected
    delivered = collections.Counter(keepsake_ids(smtp_server.wait_for(expected)))
    assert len(delivered) == expected and set(delivered.values()) == {1}
