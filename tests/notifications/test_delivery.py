"""Delivery through a real SMTP server: success, retries with backoff, giving up."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import Category, OutboundEmail
from apps.notifications.services import delivery
from tests.concurrency import run_at_once
from tests.helpers import assert_email

T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def queue(user, key="d:1", category=Category.REMINDERS):
    return services.email_enqueue(
        to_email=user.email,
        template="test",
        context={"name": user.name},
        dedupe_key=key,
        category=category,
        user=user,
    )


def test_delivered_row_is_marked_sent_and_arrives_with_both_parts(alice, smtp_server):
    with time_machine.travel(T0, tick=False):
        row = queue(alice)
        assert services.outbox_deliver_due() == 1

    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert row.sent_at == T0
    assert row.attempts == 1
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == alice.email
    assert message["X-Keepsake-Id"] == str(row.pk)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert_email(
        message,
        subject="Keepsake test e-mail",
        text=["Hello Alice,"],
        html=["<p>Hello Alice,</p>"],
    )
    # Sent rows are not sent again.
    assert services.outbox_deliver_due() == 0


def test_a_message_sent_again_keeps_its_message_id(alice, smtp_server, settings):
    """The one duplicate SMTP allows (killed after the server's "250", before the row
    was marked sent) carries the same Message-ID, so mail clients can fold it."""
    settings.SITE_URL = "https://keepsake.example.org"
    first, second = queue(alice, "mid:1"), queue(alice, "mid:2")
    assert services.outbox_deliver_due() == 2
    # What a killed worker leaves behind, once its lease is over: a row the server took,
    # still pending.
    OutboundEmail.objects.filter(pk=first.pk).update(
        status=OutboundEmail.Status.PENDING, next_attempt_at=timezone.now()
    )
    assert services.outbox_deliver_due() == 1

    ids = [(m["X-Keepsake-Id"], m["Message-ID"]) for m in smtp_server.wait_for(3)]
    by_row = {}
    for row_id, message_id in ids:
        by_row.setdefault(row_id, set()).add(message_id)
    assert by_row[str(first.pk)] == {services.message_id(first)}
    assert len(by_row[str(second.pk)]) == 1
    assert by_row[str(first.pk)] != by_row[str(second.pk)]
    assert services.message_id(first).endswith("@keepsake.example.org>")
    settings.SITE_URL = "http://127.0.0.1:8000"  # no domain to put after the "@"
    assert "@127.0.0.1>" not in services.message_id(first)


def test_temporary_refusals_retry_with_growing_backoff_then_succeed(alice, smtp_server, settings):
    settings.OUTBOX_BACKOFF_SECONDS = 60
    smtp_server.refusals = ["421 Service not available, closing channel", "451 Try again later"]
    delays = []
    now = T0
    with time_machine.travel(now, tick=False) as clock:
        row = queue(alice)
        for _ in range(2):
            assert services.outbox_deliver_due() == 0
            row.refresh_from_db()
            assert row.status == OutboundEmail.Status.PENDING
            delays.append(row.next_attempt_at - now)
            # Not due yet: a pass right now leaves it alone.
            assert services.outbox_deliver_due() == 0
            now = row.next_attempt_at
            clock.move_to(now)
        assert services.outbox_deliver_due() == 1

    row.refresh_from_db()
    assert delays == [dt.timedelta(seconds=60), dt.timedelta(seconds=120)]
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 3
    assert row.last_error == ""
    assert len(smtp_server.wait_for(1)) == 1


def test_permanent_refusal_marks_the_row_failed_with_the_reason(alice, smtp_server):
    smtp_server.refusals = ["550 5.1.1 No such mailbox here"]
    with time_machine.travel(T0, tick=False):
        row = queue(alice)
        assert services.outbox_deliver_due() == 0

    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.FAILED
    assert row.attempts == 1
    assert "550" in row.last_error and "No such mailbox" in row.last_error
    # The row is kept (visible in the admin and on the partner's settings page).
    assert services.failed_emails_for(user=alice) == [row]
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        assert services.outbox_deliver_due() == 0
    assert smtp_server.messages == []


def test_after_max_attempts_the_row_is_failed(alice, smtp_server, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    smtp_server.refusals = ["451 Greylisted"] * 5
    with time_machine.travel(T0, tick=False) as clock:
        row = queue(alice)
        for expected in (1, 2, 3):
            services.outbox_deliver_due()
            row.refresh_from_db()
            assert row.attempts == expected
            clock.move_to(row.next_attempt_at)

    assert row.status == OutboundEmail.Status.FAILED
    assert "451" in row.last_error
    assert smtp_server.messages == []


def test_a_server_that_never_answers_times_out_as_a_temporary_failure(alice, silent_smtp_server):
    row = queue(alice)

    started = time.monotonic()
    assert services.outbox_deliver_due() == 0
    elapsed = time.monotonic() - started

    assert elapsed < 10  # EMAIL_TIMEOUT is 1 s in this test
    assert silent_smtp_server, "the client never reached the server"
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.PENDING
    assert row.attempts == 1
    assert "timed out" in row.last_error.lower() or "timeout" in row.last_error.lower()
    assert row.next_attempt_at > timezone.now()


def test_one_pass_reuses_one_smtp_connection(alice, bob, smtp_server, monkeypatch):
    monkeypatch.setattr(delivery, "BATCH_SIZE", 4)  # several batches, still one connection
    for i in range(10):
        queue(alice if i % 2 else bob, key=f"batch:{i}")

    assert services.outbox_deliver_due() == 10

    assert len(smtp_server.wait_for(10)) == 10
    assert smtp_server.connections == 1


def test_an_unreachable_server_ends_the_pass_after_one_batch(
    alice, silent_smtp_server, monkeypatch
):
    monkeypatch.setattr(delivery, "BATCH_SIZE", 2)
    for i in range(5):
        queue(alice, key=f"down:{i}")

    assert services.outbox_deliver_due() == 0

    assert len(silent_smtp_server) == 1
    attempts = sorted(OutboundEmail.objects.values_list("attempts", flat=True))
    assert attempts == [0, 0, 0, 1, 1]  # the rest waits, untouched, for the next tick


def test_a_failure_mid_batch_does_not_stop_the_rest(alice, smtp_server):
    smtp_server.refusals = ["550 Mailbox unavailable"]
    rows = [queue(alice, key=f"mid:{i}") for i in range(3)]

    assert services.outbox_deliver_due() == 2

    statuses = sorted(
        OutboundEmail.objects.filter(pk__in=[r.pk for r in rows]).values_list("status", flat=True)
    )
    assert statuses == ["failed", "sent", "sent"]


def test_the_celery_task_delivers_a_row_queued_on_commit(
    alice, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = queue(alice)

    assert len(smtp_server.wait_for(1)) == 1
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_passes_send_each_row_once_on_postgres(
    postgres, alice, smtp_server, monkeypatch
):
    monkeypatch.setattr(delivery, "BATCH_SIZE", 3)
    OutboundEmail.objects.bulk_create(
        OutboundEmail(
            dedupe_key=f"race:{i}",
            to_email=alice.email,
            category=Category.ACCOUNT,
            template="test",
            subject=f"Message {i}",
            body_text="Hello",
            next_attempt_at=timezone.now() - dt.timedelta(seconds=1),
        )
        for i in range(30)
    )
    counts = run_at_once(services.outbox_deliver_due)
    assert sum(counts) == 30
    ids = [m["X-Keepsake-Id"] for m in smtp_server.wait_for(30)]
    assert len(ids) == len(set(ids)) == 30
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count() == 30


def test_an_unreachable_server_costs_one_timeout_per_batch_not_per_row(alice, silent_smtp_server):
    rows = [queue(alice, key=f"silent:{i}") for i in range(3)]

    started = time.monotonic()
    assert services.outbox_deliver_due() == 0
    elapsed = time.monotonic() - started

    assert len(silent_smtp_server) == 1  # one connection attempt for the whole batch
    assert elapsed < 5  # one EMAIL_TIMEOUT (1 s), not three
    for row in rows:
        row.refresh_from_db()
        assert (row.status, row.attempts) == (OutboundEmail.Status.PENDING, 1)
        assert row.last_error


def test_a_row_taken_over_by_another_pass_is_not_sent_again(alice, before_send):
    first, second = queue(alice, key="lease:1"), queue(alice, key="lease:2")
    with time_machine.travel(T0, tick=False) as clock:
        OutboundEmail.objects.update(next_attempt_at=T0)

        def hook(row_id):
            if row_id == first.pk:
                # The first message took so long that our lease on the second ran out,
                # and another pass claimed it meanwhile.
                clock.shift(services.LEASE_RENEWED + dt.timedelta(seconds=1))
                OutboundEmail.objects.filter(pk=second.pk).update(
                    next_attempt_at=timezone.now() + services.LEASE
                )

        server = before_send(hook)
        assert services.outbox_deliver_due() == 1

    assert [m["X-Keepsake-Id"] for m in server.wait_for(1)] == [str(first.pk)]
    second.refresh_from_db()
    assert (second.status, second.attempts) == (OutboundEmail.Status.PENDING, 0)


def test_a_failed_login_is_temporary(alice, smtp_server, settings):
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "keepsake", "wrong"
    row = queue(alice)

    assert services.outbox_deliver_due() == 0

    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.PENDING
    assert row.attempts == 1 and row.last_error
