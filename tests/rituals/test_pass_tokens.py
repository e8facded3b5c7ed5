"""The reminder pass's shortcuts: check-in links carry the tokens ``checkin_token`` makes,
reminders go in as ``bulk_create`` would put them."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from apps.rituals import services
from apps.rituals.models import Reminder

from .conftest import make_ritual

T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def test_pass_links_use_the_checkin_token_and_read_back(settings):
    settings.SITE_URL = "https://keepsake.test"
    links = services._Links()
    day = dt.date(2026, 11, 23)
    with time_machine.travel(T0, tick=False):
        for action in ("kept", "skipped"):
            url = links.checkin_url(ritual_id=12, day=day, user_id=34, action=action)
            assert url == services.checkin_url(ritual_id=12, day=day, user_id=34, action=action)
        token = services.checkin_token(ritual_id=12, day=day, user_id=34)
        assert token in url
        assert services.checkin_token_read(token) == (12, day, 34)


@pytest.mark.django_db
def test_reminders_insert_keeps_a_recorded_reminder_and_stores_the_rest(space, alice, bob):
    ritual = make_ritual(space, alice, now=T0)
    day = dt.date(2026, 11, 24)
    due = dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC)
    Reminder.objects.create(
        ritual=ritual, occurrence=day, recipient=alice, status=Reminder.Status.MISSED, due_at=due
    )
    with time_machine.travel(T0, tick=False):
        services._reminders_insert(
            [
                (ritual.pk, day, alice.pk, Reminder.Status.SENT, due, 3),
                (ritual.pk, day, bob.pk, Reminder.Status.SENT, due, 7),
                (ritual.pk, day + dt.timedelta(days=1), bob.pk, Reminder.Status.MISSED, due, None),
            ]
        )

    got = {
        (r.recipient_id, r.occurrence): (r.status, r.question, r.due_at, r.created_at)
        for r in Reminder.objects.filter(ritual=ritual)
    }
    assert got[alice.pk, day][:2] == (Reminder.Status.MISSED, None)
    assert got[bob.pk, day] == (Reminder.Status.SENT, 7, due, T0)
    assert got[bob.pk, day + dt.timedelta(days=1)] == (Reminder.Status.MISSED, None, due, T0)
    assert len(got) == 3
