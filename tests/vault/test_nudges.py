"""The opt-in reminder to write, three weeks before opening day: a count, never a word."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core import mail
from django.urls import reverse

from apps.notifications.models import OutboundEmail
from apps.vault import services
from apps.vault.models import NudgeOptIn
from tests.conftest import live_apart

from .conftest import local

pytestmark = pytest.mark.django_db

SEALING = local("Europe/Berlin", 2026, 3, 1, 12)
OPENING = local("Europe/Berlin", 2027, 2, 14, 0, 0)


def nudges():
    return OutboundEmail.objects.filter(template="vault_nudge")


def test_no_reminder_without_opting_in(couple, alice, bob, seal):
    seal(alice, now=SEALING)
    assert services.letter_unlock_due(now=OPENING - dt.timedelta(days=20)) == 0
    assert not nudges().exists()


def test_opted_in_partner_gets_one_reminder_with_a_count(
    couple, alice, bob, seal, django_capture_on_commit_callbacks
):
    seal(alice, title="Nudge title", body="Nudge body", now=SEALING)
    seal(alice, now=SEALING)
    row = services.nudge_set(user=bob, enabled=True, now=SEALING)
    assert row.next_nudge_at == OPENING - services.NUDGE_LEAD

    assert services.nudges_send_due(now=row.next_nudge_at - dt.timedelta(minutes=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.nudges_send_due(now=row.next_nudge_at) == 1
        assert services.nudges_send_due(now=row.next_nudge_at + dt.timedelta(hours=1)) == 0
    [message] = [m for m in mail.outbox if m.to == [bob.email]]
    assert message.subject == "Your letters open in 21 days"
    assert "The vault opens in 21 days, on Sun 14 Feb 2027 at 00:00." in message.body
    assert "Alice has sealed 2 letters for you so far." in message.body
    assert "Nudge" not in message.body + message.alternatives[0][0]
    assert reverse("vault:write") in message.body
    # Next year's reminder is already scheduled.
    row.refresh_from_db()
    assert row.next_nudge_at == local("Europe/Berlin", 2028, 2, 14) - services.NUDGE_LEAD


def test_opting_in_inside_the_window_reminds_on_the_next_pass(couple, alice, bob):
    now = OPENING - dt.timedelta(days=5)
    services.nudge_set(user=alice, enabled=True, now=now)
    assert services.letter_unlock_due(now=now) == 1
    assert nudges().get().to_email == alice.email


def test_opting_out_stops_reminders(couple, alice, bob, client):
    client.force_login(bob)
    client.post(reverse("vault:nudge"), {"nudge": "on"})
    assert NudgeOptIn.objects.filter(user=bob).exists()
    client.post(reverse("vault:nudge"), {})
    assert not NudgeOptIn.objects.exists()
    assert services.nudges_send_due(now=OPENING - dt.timedelta(days=1)) == 0


def test_anniversary_moved_later_postpones_the_reminder(couple, alice, bob):
    row = services.nudge_set(user=bob, enabled=True, now=SEALING)
    couple.anniversary = dt.date(2015, 5, 1)
    couple.save()
    assert services.nudges_send_due(now=row.next_nudge_at) == 0
    row.refresh_from_db()
    assert row.next_nudge_at == local("Europe/Berlin", 2027, 5, 1) - services.NUDGE_LEAD
    assert services.nudges_send_due(now=row.next_nudge_at) == 1


def test_a_late_reminder_counts_minutes_in_each_partners_zone(
    space, both_ways, seal, django_capture_on_commit_callbacks
):
    """Issue 10, bug 6: 35 minutes before opening the e-mail said "1 day from now"."""
    home = "America/Anchorage"
    space.time_zone = home
    space.anniversary = dt.date(2015, 12, 3)
    space.save()
    traveller, homebody = live_apart(both_ways)
    seal(homebody, now=local(home, 2026, 3, 1, 12))
    opens = local(home, 2026, 12, 3, 0, 0)  # 10:00 in Berlin
    now = opens - dt.timedelta(minutes=35)
    for user in (traveller, homebody):
        services.nudge_set(user=user, enabled=True, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.nudges_send_due(now=now) == 2
    berlin = opens.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    expected = {
        traveller.email: f"{berlin:%a %-d %b %Y at %H:%M} (home time: {opens:%H:%M})",
        homebody.email: f"{opens:%a %-d %b %Y at %H:%M}",
    }
    for message in mail.outbox:
        [to] = message.to
        assert message.subject == "Your letters open in 35 minutes"
        line = f"The vault opens in 35 minutes, on {expected[to]}."
        assert line in message.body
        assert line in message.alternatives[0][0].replace("<strong>", "").replace("</strong>", "")
        assert "1 day" not in message.body
    assert {m.to[0] for m in mail.outbox} == set(expected)


def test_the_nudge_pass_drains_every_due_row_not_one_batch(
    couple, alice, bob, seal, django_capture_on_commit_callbacks
):
    """The pass handled one batch per tick; with claim_due it drains them all."""
    seal(alice, now=SEALING)
    for user in (alice, bob):
        row = services.nudge_set(user=user, enabled=True, now=SEALING)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.nudges_send_due(now=row.next_nudge_at, batch_size=1) == 2
    assert {m.to[0] for m in mail.outbox} == {alice.email, bob.email}
