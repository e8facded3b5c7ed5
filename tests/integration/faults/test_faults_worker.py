"""A real worker process is SIGKILLed in the middle of delivering 500 ritual reminders.

The reminder pass (what the tick runs) records 500 reminders and queues their e-mails in
the outbox, publishing one delivery task per batch. Tasks are acknowledged late
(CELERY_TASK_ACKS_LATE): the ones still in Redis survive the kill and the restarted
worker runs them. The task in flight at the kill stays unacknowledged in Redis
(redelivered only after the hour-long visibility timeout), but the outbox rows are the
truth: the rows of that batch not sent yet stay leased, their lease (renewed just before
the send) runs out after ten minutes at most (``LEASE_RENEWED``), and the next tick's
outbox pass sends them.

Each message the server accepts is recorded at once, so exactly once holds for every
reminder but the one in flight at the kill. SMTP is at-least-once: if the kill lands
after the server said "250 queued" and before the row was marked sent, nobody can know
the message went out, and the pass sends it again (with the same Message-ID). So the
test asserts: none lost, at most one duplicate, and a duplicate only of a row the kill
left pending.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import Category, OutboundEmail
from apps.rituals.models import Reminder
from apps.rituals.services import reminders_schedule_due
from tests.rituals.conftest import make_ritual

from .helpers import (
    QUEUE,
    keepsake_ids,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

REMINDERS = 500


def _due_rituals(space, alice, count: int) -> None:
    """``count`` daily rituals whose next reminder (30 minutes before, the default) fell
    due a quarter of an hour ago: both partners' reminders are due now."""
    real_now = timezone.now()
    occurs = (real_now + dt.timedelta(minutes=15)).astimezone(ZoneInfo(space.time_zone))
    for n in range(count):
        make_ritual(
            space,
            alice,
            now=real_now - dt.timedelta(hours=1),
            title=f"Ritual {n}",
            at=occurs.time().replace(second=0, microsecond=0),
        )


def test_sigkilled_worker_mid_batch_of_500_reminders_loses_none_and_doubles_at_most_one(
    postgres, own_redis, publish_to, start_worker, smtp_server, space, alice, bob
):
    publish_to(own_redis.url)
    _due_rituals(space, alice, REMINDERS // 2)
    # The tick's reminder pass: 500 reminders recorded, their e-mails queued, one delivery
    # task per batch published to Redis on each batch's commit.
    assert reminders_schedule_due(now=timezone.now()) == REMINDERS
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == REMINDERS
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).count() == REMINDERS
    tasks = own_redis.client().llen(QUEUE)
    assert tasks >= 2

    worker = start_worker(broker_url=own_redis.url, smtp=smtp_server)
    started = time.monotonic()
    wait_until(
        lambda: len(smtp_server.messages) >= 150, timeout=120, what="150 deliveries", interval=0.01
    )
    worker.kill()
    with smtp_server.lock:
        at_kill = len(smtp_server.messages)
    sent_rows = OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count()
    print(
        f"\n{tasks} delivery tasks; killed after {time.monotonic() - started:.1f} s: "
        f"{at_kill} e-mails at the server, {sent_rows} rows marked sent"
    )
    assert at_kill < REMINDERS, "the worker finished before it could be killed"
    # Recorded one by one: at most the message in flight is at the server unrecorded.
    assert at_kill - sent_rows in (0, 1)
    assert own_redis.client().llen(QUEUE) > 0

    worker.start()
    wait_until(
        lambda: own_redis.client().llen(QUEUE) == 0,
        timeout=180,
        what="the restarted worker to drain the queue",
        interval=0.2,
    )
    worker.stop()  # a warm shutdown: the task in hand, if any, finishes first
    stuck = set(
        OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).values_list(
            "pk", flat=True
        )
    )
    # What is left is the rest of the killed batch, held by its lease.
    assert 0 < len(stuck) < REMINDERS - 150

    # Once the renewed lease is over, the tick's outbox pass finds the rows and sends them.
    later = timezone.now() + services.LEASE_RENEWED + dt.timedelta(minutes=1)
    held_until = OutboundEmail.objects.filter(pk__in=stuck).values_list(
        "next_attempt_at", flat=True
    )
    assert all(until < later for until in held_until)
    assert services.outbox_deliver_due(now=later) == len(stuck)

    rows = dict(OutboundEmail.objects.values_list("pk", "status"))
    assert len(rows) == REMINDERS
    assert set(rows.values()) == {OutboundEmail.Status.SENT}
    delivered = collections.Counter(keepsake_ids(smtp_server.messages))
    assert set(delivered) == {str(pk) for pk in rows}, "a reminder was lost"
    doubled = {pk: n for pk, n in delivered.items() if n > 1}
    print(
        f"{len(stuck)} rows left to the lease, {sum(delivered.values())} deliveries for "
        f"{REMINDERS} reminders, duplicates: {doubled or 'none'}"
    )
    assert sum(delivered.values()) <= REMINDERS + 1
    assert all(n == 2 for n in doubled.values())
    assert set(doubled) <= {str(pk) for pk in stuck}
    # Every partner got each of their 250 reminders.
    per_recipient = collections.Counter(m["To"] for m in smtp_server.messages)
    assert {alice.email, bob.email} == set(per_recipient)
    assert "apps.notifications.tasks.deliver_emails" in worker.output()


def test_the_worker_acks_late_and_requeues_what_a_lost_worker_held():
    from config.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_an_smtp_server_that_never_answers_does_not_hang_the_worker(
    postgres, own_redis, publish_to, start_worker, silent_smtp, alice
):
    publish_to(own_redis.url)
    with transaction.atomic():
        for i in range(3):
            services.email_enqueue(
                to_email=alice.email,
                template="test",
                context={"name": alice.name},
                dedupe_key=f"faults-silent:{i}",
                category=Category.REMINDERS,
                user=alice,
            )
    worker = start_worker(broker_url=own_redis.url, smtp=silent_smtp, email_timeout=1)
    began = time.monotonic()

    def all_tried():
        return OutboundEmail.objects.filter(attempts=1).count() == 3

    wait_until(all_tried, timeout=60, what="three timed-out attempts", interval=0.2)
    took = time.monotonic() - began
    print(f"\n3 deliveries to a silent server gave up after {took:.1f} s (EMAIL_TIMEOUT=1)")
    # Each attempt ended at the timeout: the rows wait for their retry, nothing is lost.
    for row in OutboundEmail.objects.all():
        assert row.status == OutboundEmail.Status.PENDING
        assert "timed out" in row.last_error
        assert row.next_attempt_at > timezone.now()
    # And the worker is free for the next task: the tick runs.
    from apps.core.models import PassRun
    from apps.core.tasks import tick

    tick.apply_async()
    wait_until(
        lambda: PassRun.objects.filter(name="tick").exists(), timeout=30, what="the next tick"
    )
    assert worker.alive()
