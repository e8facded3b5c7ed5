"""The web never waits long on the broker: with Redis down or stuck, queueing an e-mail
still commits its row quickly, and the next tick delivers it."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.core import mail

from apps.notifications import services
from apps.notifications.models import Category, OutboundEmail
from tests.conftest import silent_listener

from .conftest import _reset_connections

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hung_broker_port():
    """Accepts TCP connections and never answers: a hung Redis."""
    with silent_listener() as (_host, port, _held):
        yield port


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker_at(settings):
    """Point the project's Celery app (not eager) at a given broker URL for one test."""
    from config.celery import app

    keys = ("task_always_eager", "broker_url", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}

    def point(url):
        app.conf.update(
            task_always_eager=False,
            broker_url=url,
            # The values config/settings.py gives a Redis broker.
            broker_transport_options={
                "socket_connect_timeout": 2,
                "socket_timeout": 5,
                "max_retries": 1,
                "visibility_timeout": 3600,
            },
        )
        _reset_connections(app)

    yield point
    app.conf.update(saved)
    _reset_connections(app)


@pytest.mark.parametrize("state", ["refusing", "hung"])
def test_queueing_with_the_broker_down_is_quick_and_keeps_the_row(
    alice, broker_at, hung_broker_port, state, caplog
):
    port = closed_port() if state == "refusing" else hung_broker_port
    broker_at(f"redis://127.0.0.1:{port}/0")

    started = time.monotonic()
    row = services.email_enqueue(
        to_email=alice.email,
        template="test",
        context={"name": alice.name},
        dedupe_key=f"broker-down:{state}",
        category=Category.ACCOUNT,
        user=alice,
    )
    elapsed = time.monotonic() - started

    # A refused broker fails at once; a hung one is not waited for beyond half a second.
    assert elapsed < 1, f"queueing waited {elapsed:.1f} s on the broker"
    assert "the next tick picks it up" in caplog.text
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.PENDING
    assert mail.outbox == []

    # The scheduler pass does not need the broker.
    assert services.outbox_deliver_due() == 1
    assert len(mail.outbox) == 1
    # The publish left behind gives up at the transport's socket_timeout (5 s); let it,
    # before this test's broker settings and log capture go away.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        t.name.startswith("publish ") for t in threading.enumerate()
    ):
        time.sleep(0.1)
