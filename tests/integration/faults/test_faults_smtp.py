"""SMTP faults the delivery tests in tests/notifications/ do not cover: a 421 shutdown, a
connection dropped in the middle of a message, a server that goes silent after the
message; and where a permanent failure shows (the admin, the partner's settings page).

451 and 550 alone, a server silent from the start, and the attempt limit are covered in
tests/notifications/test_delivery.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import Category, OutboundEmail
from tests.factories import UserFactory

from .helpers import keepsake_ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def queue(user, key: str) -> OutboundEmail:
    return services.email_enqueue(
        to_email=user.email,
        template="test",
        context={"name": user.name},
        dedupe_key=key,
        category=Category.REMINDERS,
        user=user,
    )


def later(hours: float = 1) -> dt.datetime:
    return timezone.now() + dt.timedelta(hours=hours)


@pytest.mark.parametrize(
    "fault, error",
    [
        ("421 4.3.2 Service shutting down", "SMTPDataError"),
        ("drop", "SMTPServerDisconnected"),
        ("silent", "timed out"),
    ],
)
def test_a_temporary_fault_is_retried_after_the_backoff_and_then_delivered_once(
    alice, scripted_smtp, fault, error
):
    scripted_smtp.script = [fault]
    row = queue(alice, f"temp:{fault[:3]}")
    assert services.outbox_deliver_due(now=timezone.now()) == 0  # the first attempt fails
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.PENDING
    assert row.attempts == 1
    assert error in row.last_error
    assert row.next_attempt_at > timezone.now()  # backing off
    assert scripted_smtp.messages == []

    # Before the backoff is over the pass leaves the row alone.
    assert services.outbox_deliver_due(now=timezone.now()) == 0
    assert services.outbox_deliver_due(now=later()) == 1
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 2
    assert keepsake_ids(scripted_smtp.messages) == [str(row.pk)]


def test_a_batch_with_every_kind_of_fault_loses_no_row(alice, bob, scripted_smtp):
    rows = [queue(alice if i % 2 else bob, f"mix:{i}") for i in range(8)]
    scripted_smtp.script = [
        "ok",
        "drop",
        "451 4.7.1 Greylisted",
        "550 5.1.1 Mailbox unavailable",
        "421 4.3.2 Closing",
        "silent",
        "ok",
        "ok",
    ]
    assert services.outbox_deliver_due(now=timezone.now()) == 3

    # Two passes later (after each backoff) every temporary failure went out.
    assert services.outbox_deliver_due(now=later(1)) == 4
    assert services.outbox_deliver_due(now=later(12)) == 0
    status = dict(OutboundEmail.objects.values_list("dedupe_key", "status"))
    assert len(status) == len(rows)
    assert status.pop("mix:3") == OutboundEmail.Status.FAILED
    assert set(status.values()) == {OutboundEmail.Status.SENT}
    ids = keepsake_ids(scripted_smtp.messages)
    assert len(ids) == len(set(ids)) == 7
    failed = OutboundEmail.objects.get(dedupe_key="mix:3")
    assert failed.last_error == "PermanentFailure: 550 5.1.1 Mailbox unavailable"
    assert failed.attempts == 1


@pytest.fixture
def bounced(alice, scripted_smtp):
    scripted_smtp.script = ["550 5.1.1 No such mailbox here"]
    row = queue(alice, "bounce:1")
    services.outbox_deliver_due(now=timezone.now())
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.FAILED
    return row


def test_a_permanent_failure_is_shown_to_the_host_in_the_admin(client, bounced):
    host = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(host)
    url = reverse("admin:notifications_outboundemail_changelist")
    page = client.get(url, {"status": "failed"}).content.decode()
    assert bounced.to_email in page
    assert "550 5.1.1 No such mailbox here" in page
    detail = client.get(reverse("admin:notifications_outboundemail_change", args=[bounced.pk]))
    assert "PermanentFailure: 550 5.1.1 No such mailbox here" in detail.content.decode()


def test_a_permanent_failure_is_shown_to_the_partner_on_their_settings_page(
    alice_client, alice, bounced
):
    page = alice_client.get(reverse("accounts:settings")).content.decode()
    assert f"We could not reach you at {alice.email}." in page
