"""A real Celery worker, a Redis broker and a real SMTP server deliver a ritual reminder.

The beat-equivalent tick is the same task beat sends every minute; one-click
unsubscribe (RFC 8058 POST) stops the next reminder for that partner.
"""

import datetime as dt
import re
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from apps.core.tasks import tick
from apps.core.tz import local_today
from apps.notifications.models import OutboundEmail
from apps.rituals.models import ReminderSchedule
from tests.rituals.conftest import make_ritual

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _make_due(ritual, day):
    """Make every partner's reminder for ``day`` due a minute ago (instead of waiting)."""
    ReminderSchedule.objects.filter(ritual=ritual).update(
        next_occurrence=day, next_remind_at=timezone.now() - dt.timedelta(minutes=1)
    )


def test_worker_delivers_reminder_and_one_click_unsubscribe_stops_the_next(
    redis_broker, smtp_server, settings, client, alice, bob
):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url")}
    app.conf.update(task_always_eager=False, broker_url=redis_broker)
    try:
        now = timezone.now()
        ritual = make_ritual(
            alice.space,
            alice,
            now=now,
            starts_on=local_today("Europe/Berlin", now) - dt.timedelta(days=1),
        )
        today = local_today(alice.space.time_zone, now)
        _make_due(ritual, today)
        with start_worker(
            app,
            pool="solo",
            concurrency=1,
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=15,
        ):
            tick.apply_async()
            messages = smtp_server.wait_for(2, timeout=30)
            to_bob = next(m for m in messages if m["To"] == bob.email)
            assert to_bob["Subject"].startswith("Evening talk:")
            assert to_bob["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            unsubscribe = re.search(r"<([^>]+)>", str(to_bob["List-Unsubscribe"])).group(1)
            assert "/email/unsubscribe/" in unsubscribe
            body = to_bob.get_body(("plain",)).get_content()
            assert "We did it:" in body and "/rituals/answer/" in body

            # Bob clicks his mail client's one-click unsubscribe (a POST, RFC 8058).
            response = client.post(urlparse(unsubscribe).path, {"List-Unsubscribe": "One-Click"})
            assert response.status_code == 200

            _make_due(ritual, today + dt.timedelta(days=1))
            tick.apply_async()
            messages = smtp_server.wait_for(3, timeout=30)
        assert [m["To"] for m in messages].count(bob.email) == 1
        assert [m["To"] for m in messages].count(alice.email) == 2
        assert OutboundEmail.objects.filter(to_email=bob.email, status="skipped").count() == 1
    finally:
        app.conf.update(**saved)
