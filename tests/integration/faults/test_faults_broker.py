"""The broker goes away: pages keep answering within a second, the outbox keeps the rows,
and the next tick delivers them, once.

Publishing happens after commit and never retries for long (apps.core.tasks.
queue_on_commit, CELERY_TASK_PUBLISH_RETRY_POLICY); a refused connection fails at once.
"""

from __future__ import annotations

import collections
import time

import pytest
from django.urls import reverse

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
