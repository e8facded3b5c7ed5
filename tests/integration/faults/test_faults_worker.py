"""A real worker process is SIGKILLed in the middle of 500 reminder e-mails.

Tasks are acknowledged late (CELERY_TASK_ACKS_LATE): the ones still in Redis survive the
kill and the restarted worker runs them. The one task in flight at the kill stays
unacknowledged in Redis (redelivered only after the hour-long visibility timeout), but
its outbox row is the truth: its lease, renewed just before the send, runs out after ten
minutes at most (``LEASE_RENEWED``) and the next tick's outbox pass sends it.

Exactly once holds for every row but that one. SMTP is at-least-once: if the kill lands
after the server said "250 queued" and before the row was marked sent, nobody can know
the message went out, and the pass sends it again. So the test asserts: none lost, at
most one duplicate, and a duplicate only of the row in flight.
"""

from __future__ import annotations

import collections
import datetime as dt
import time

import pytest
from django.db import transaction
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import Category, OutboundEmail

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

BATCH = 500


def test_sigkilled_worker_loses_nothing_and_doubles_at_most_the_message_in_flight(
    postgres, own_redis, publish_to, start_worker, smtp_server, alice, bob
):
    publish_to(own_redis.url)
    with transaction.atomic():
        for i in range(BATCH):
            partner = alice if i % 2 else bob
            services.email_enqueue(
                to_email=partner.email,
                template="test",
                context={"name": partner.name},
                dedupe_key=f"faults-kill:{i}",
                category=Category.REMINDERS,
                user=partner,
            )
    # On commit, one delivery task per row went to Redis.
    assert own_redis.client().llen(QUEUE) == BATCH

    worker = start_worker(broker_url=own_redis.url, smtp=smtp_server)
    started = time.monotonic()
    wait_until(
        lambda: len(smtp_server.messages) >= 150, timeout=120, what="150 deliveries", interval=0.01
    )
    worker.kill()
    with smtp_server.lock:
        at_kill = len(smtp_server.messages)
    sent_rows = OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count()
    print(f"\nkilled after {time.monotonic() - started:.1f} s: {at_kill} e-mails at the server")
    assert at_kill < BATCH, "the worker finished before it could be killed"
    assert own_redis.client().llen(QUEUE) > 0

    worker.start()

    def settled():
        pending = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).count()
        return pending <= 1 and own_redis.client().llen(QUEUE) == 0

    wait_until(settled, timeout=180, what="the restarted worker to drain the queue", interval=0.2)
    worker.stop()  # a warm shutdown: the task in hand, if any, finishes first
    stuck = list(
        OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).values_list(
            "pk", flat=True
        )
    )
    assert len(stuck) <= 1  # at most the row in flight at the kill

    # Once the renewed lease is over, the tick's outbox pass finds the row and sends it.
    # (A row killed mid-send was renewed LEASE_RENEWED ahead; one only claimed, LEASE.)
    later = timezone.now() + services.LEASE_RENEWED + dt.timedelta(minutes=1)
    held_until = OutboundEmail.objects.filter(pk__in=stuck).values_list(
        "next_attempt_at", flat=True
    )
    assert all(until < later for until in held_until)
    assert services.outbox_deliver_due(now=later) == len(stuck)

    rows = dict(OutboundEmail.objects.values_list("pk", "status"))
    assert len(rows) == BATCH
    assert set(rows.values()) == {OutboundEmail.Status.SENT}
    delivered = collections.Counter(keepsake_ids(smtp_server.messages))
    assert set(delivered) == {str(pk) for pk in rows}, "an e-mail was lost"
    doubled = {pk: n for pk, n in delivered.items() if n > 1}
    print(
        f"{sent_rows} rows marked sent at the kill, {len(stuck)} left in flight, "
        f"{sum(delivered.values())} deliveries for {BATCH} rows, duplicates: {doubled or 'none'}"
    )
    assert sum(delivered.values()) <= BATCH + 1
    assert all(n == 2 for n in doubled.values())
    assert set(doubled) <= {str(pk) for pk in stuck}
    assert "apps.notifications.tasks.deliver_email" in worker.output()


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
