"""A real Celery worker (a thread in this process) consuming from the real Redis broker."""

from __future__ import annotations

import pytest


@pytest.fixture
def celery_worker(redis_broker, settings):
    """The project's Celery app, not eager, on ``redis_broker``, with a solo worker running.

    The suite runs Celery eagerly (config/settings_test.py); this turns that off on the
    app's own config for one test and puts everything back afterwards.
    """
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    changed = {
        "task_always_eager": False,
        "task_eager_propagates": False,
        "broker_url": redis_broker,
        "broker_transport_options": {
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            "visibility_timeout": 3600,
        },
        "broker_connection_retry_on_startup": False,
        "worker_hijack_root_logger": False,
    }
    saved = {key: app.conf[key] for key in changed}
    app.conf.update(changed)
    _reset_connections(app)
    with app.connection_for_write() as conn:
        # Leftovers from an earlier, interrupted run would be delivered to this test.
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            yield app
    finally:
        app.conf.update(saved)
        _reset_connections(app)


def _reset_connections(app) -> None:
    """Drop pooled broker connections so the next publish uses the current broker_url.

    kombu keeps its pools in global registries keyed by broker URL; closing one pool
    but leaving it registered breaks every later publish ("Acquire on closed pool").
    """
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
