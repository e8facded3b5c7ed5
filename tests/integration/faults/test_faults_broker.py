"""The broker goes away: pages keep answering within a second, the outbox keeps the rows,
and the next tick delivers them, once.

Publishing happens after commit and never retries for long (apps.core.tasks.
queue_on_commit, CELERY_TASK_PUBLISH_RETRY_POLICY); a refused connection fails at once.
"""

from __future__ import annotations

import collections
import os
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import PassRun
from apps.core.scheduling import TICK, run_passes
from apps.core.tasks import tick
from apps.notifications.models import OutboundEmail

from .helpers import closed_port, keepsake_ids, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PAGES = ["/home/", "/journal/", "/rituals/", reverse("accounts:settings")]
LIMIT = 1.0  # seconds per request


def timed(call) -> tuple[float, object]:
    started = time.monotonic()
    response = call()
    return time.monotonic() - started, response


def visit_pages_and_queue_mail(client) -> dict[str, float]:
    """Every main page and the settings form that queues an e-mail; seconds per request."""
    took = {}
    for url in PAGES:
        took[url], response = timed(lambda url=url: client.get(url))
        assert response.status_code == 200, url
    took["POST test e-mail"], response = timed(lambda: client.post(reverse("accounts:test_email")))
    assert response.status_code == 302
    return took


def test_with_the_broker_url_at_a_closed_port_pages_answer_within_a_second(
    client, alice, bob, publish_to, smtp_server, caplog
):
    client.force_login(alice)
    for url in PAGES:  # warm up templates and caches: the broker is what is measured
        client.get(url)
    publish_to(f"redis://127.0.0.1:{closed_port()}/0")

    took = visit_pages_and_queue_mail(client)

    print(f"\nbroker refused: {', '.join(f'{k} {v * 1000:.0f} ms' for k, v in took.items())}")
    assert max(took.values()) < LIMIT, took
    assert "the next tick picks it up" in caplog.text
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.PENDING
    assert smtp_server.messages == []

    # The tick (beat or cron: no broker needed for `run_scheduled`) delivers it, once.
    run_passes()
    run_passes()
    assert keepsake_ids(smtp_server.wait_for(1)) == [str(row.pk)]
    time.sleep(0.2)
    assert len(smtp_server.messages) == 1


@pytest.mark.slow
def test_redis_restarted_under_a_running_worker_loses_and_doubles_nothing(
    postgres, client, alice, bob, own_redis, publish_to, start_worker, smtp_server
):
    publish_to(own_redis.url)
    worker = start_worker(broker_url=own_redis.url, smtp=smtp_server)
    client.force_login(alice)
    client.post(reverse("accounts:test_email"))
    smtp_server.wait_for(1, timeout=30)  # the worker delivered Alice's e-mail

    own_redis.stop()
    client.force_login(bob)
    for url in PAGES:
        client.get(url)
    took = visit_pages_and_queue_mail(client)
    print(f"\nRedis down: {', '.join(f'{k} {v * 1000:.0f} ms' for k, v in took.items())}")
    assert max(took.values()) < LIMIT, took
    bobs = OutboundEmail.objects.get(user=bob)
    assert bobs.status == OutboundEmail.Status.PENDING  # kept, waiting for the tick
    assert worker.alive()

    own_redis.start()  # same port, empty: whatever was queued in it is gone
    restarted = time.monotonic()
    tick.apply_async()  # beat's next tick
    wait_until(lambda: len(smtp_server.messages) >= 2, timeout=60, what="the tick to deliver Bob's")
    print(f"Redis back: the tick delivered after {time.monotonic() - restarted:.1f} s")
    wait_until(
        lambda: PassRun.objects.filter(name=TICK, last_ok_at__isnull=False).exists(),
        timeout=10,
        what="the tick's record",
    )
    time.sleep(0.3)
    assert worker.alive()
    delivered = collections.Counter(keepsake_ids(smtp_server.messages))
    rows = OutboundEmail.objects.values_list("pk", "status")
    assert {str(pk) for pk, _ in rows} == set(delivered)
    assert {status for _, status in rows} == {OutboundEmail.Status.SENT}
    assert set(delivered.values()) == {1}


# The outage: a minute. FAULTS_OUTAGE_SECONDS shortens it for a quick local run.
OUTAGE = float(os.environ.get("FAULTS_OUTAGE_SECONDS", "60"))


@pytest.mark.slow
def test_a_minute_without_redis_under_a_running_beat_and_worker(
    postgres, client, alice, bob, own_redis, publish_to, start_worker, smtp_server
):
    """Real beat (a 2-second tick) and worker; Redis gone for a minute. Pages answer
    within a second throughout, beat and worker ride it out, the ticks resume once
    Redis is back, and what was queued meanwhile goes out once."""
    publish_to(own_redis.url)
    worker = start_worker(broker_url=own_redis.url, smtp=smtp_server)
    beat = start_worker(broker_url=own_redis.url, kind="beat", tick_seconds=2)

    def last_tick():
        run = PassRun.objects.filter(name=TICK).first()
        return run.last_ok_at if run else None

    wait_until(last_tick, timeout=30, what="the first tick")
    for user in (alice, bob):
        client.force_login(user)
        for url in PAGES:
            client.get(url)

    own_redis.stop()
    down = time.monotonic()
    slowest: dict[str, float] = {}
    rounds = 0
    while time.monotonic() - down < OUTAGE:
        # Alice, then Bob: each queues a test e-mail (one a minute each), pages in between.
        client.force_login(alice if rounds % 2 == 0 else bob)
        for name, took in visit_pages_and_queue_mail(client).items():
            slowest[name] = max(took, slowest.get(name, 0.0))
        rounds += 1
        time.sleep(1)
    print(
        f"\nRedis down {time.monotonic() - down:.0f} s, {rounds} rounds of pages; slowest: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in slowest.items())
    )
    assert max(slowest.values()) < LIMIT, slowest
    assert worker.alive() and beat.alive()
    # At least one e-mail from each (one a minute each: a long round may fit a second).
    queued = set(OutboundEmail.objects.values_list("pk", flat=True))
    assert set(OutboundEmail.objects.values_list("user", flat=True)) == {alice.pk, bob.pk}
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).count() == len(queued)

    own_redis.start()  # same port, empty
    back = timezone.now()
    wait_until(lambda: (last_tick() or back) > back, timeout=60, what="beat's ticks to resume")
    wait_until(
        lambda: not OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).exists(),
        timeout=60,
        what="the tick to deliver what was queued during the outage",
    )
    print(f"Redis back: ticking again after {(timezone.now() - back).total_seconds():.1f} s")
    time.sleep(3)  # a few more ticks: nothing goes out twice
    delivered = collections.Counter(keepsake_ids(smtp_server.messages))
    assert set(delivered) == {str(pk) for pk in queued}
    assert set(delivered.values()) == {1}
    assert "Sending due task tick" in beat.output()
