"""End to end: an invitation e-mail goes row → Redis → a real worker → a real SMTP server."""

from __future__ import annotations

import time

import pytest
from celery.signals import task_success
from django.conf import settings
from django.urls import reverse

from apps.accounts.services import invitation_create
from apps.notifications.models import OutboundEmail

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_invitation_email_is_delivered_by_the_worker(celery_worker, smtp_server, alice):
    finished = []

    def on_success(sender=None, result=None, **kwargs):
        finished.append((sender.name, result))

    task_success.connect(on_success, weak=False)
    try:
        assert celery_worker.conf.task_always_eager is False
        invitation, token = invitation_create(
            space=alice.space, invited_by=alice, email="partner@example.org"
        )

        (message,) = smtp_server.wait_for(1, timeout=30)
        assert wait_until(lambda: finished)
    finally:
        task_success.disconnect(on_success)

    accept_url = settings.SITE_URL + reverse("accounts:invitation", args=[token])
    assert message["To"] == "partner@example.org"
    assert accept_url in message.get_body(("plain",)).get_content()
    assert accept_url in message.get_body(("html",)).get_content()
    # The worker ran the delivery task queued on commit; the row records the send.
    assert finished == [("apps.notifications.tasks.deliver_email", True)]
    row = OutboundEmail.objects.get(dedupe_key=f"invitation:{invitation.pk}")
    assert wait_until(lambda: OutboundEmail.objects.get(pk=row.pk).status == "sent")
    assert OutboundEmail.objects.get(pk=row.pk).attempts == 1


def test_the_tick_runs_on_the_worker_and_is_recorded(celery_worker):
    from apps.core.models import PassRun
    from apps.core.tasks import tick

    tick.delay()

    assert wait_until(lambda: PassRun.objects.filter(name="tick").exists())
    assert PassRun.objects.get(name="tick").last_error == ""
    assert PassRun.objects.filter(
        name="apps.notifications.services.outbox_deliver_due", last_ok_at__isnull=False
    ).exists()
