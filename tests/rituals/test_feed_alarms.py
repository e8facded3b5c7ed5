"""The calendar feed's alarm follows the same rule as the e-mail, in the subscriber's zone
(issue 10, bug 3: "morning of" used the space's zone, so phone and e-mail disagreed)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from apps.rituals import services
from apps.rituals.models import ReminderSchedule

from .conftest import make_ritual

UTC = dt.UTC
pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def alarm_of(client, user, title):
    token = services.calendar_feed_reset(user=user)
    cal = Calendar.from_ical(client.get(reverse("rituals:feed", args=[token])).content)
    (event,) = [e for e in cal.walk("VEVENT") if str(e["summary"]) == title]
    alarms = event.walk("VALARM")
    return alarms[0]["trigger"].dt if alarms else None


@pytest.mark.parametrize(
    ("at", "kind", "minutes", "trigger"),
    [
        # 21:00 Berlin = 12:00 in Los Angeles: 08:00 there is four hours before.
        (dt.time(21, 0), "morning", 0, -dt.timedelta(hours=4)),
        # 06:00 Berlin = 21:00 the evening before in Los Angeles: that day's 08:00.
        (dt.time(6, 0), "morning", 0, -dt.timedelta(hours=13)),
        # 16:00 Berlin = 07:00 in Los Angeles, before its morning: at the time.
        (dt.time(16, 0), "morning", 0, dt.timedelta(0)),
        (dt.time(21, 0), "before", 45, -dt.timedelta(minutes=45)),
        (dt.time(21, 0), "at_time", 0, dt.timedelta(0)),
    ],
)
def test_the_alarm_is_in_the_subscribers_zone(client, space, both_ways, at, kind, minutes, trigger):
    subscriber, other = both_ways.partner, both_ways.actor
    subscriber.time_zone = "America/Los_Angeles"
    subscriber.save()
    services.reminder_preference_set(user=subscriber, kind=kind, minutes_before=minutes, now=NOW)
    ritual = make_ritual(space, other, now=NOW, at=at, title="Talk")
    assert alarm_of(client, subscriber, "Talk") == trigger
    # The phone and the e-mail agree on the next reminder.
    row = ReminderSchedule.objects.get(ritual=ritual, user=subscriber)
    occurrence = ritual.occurrence_on(row.next_occurrence)
    assert occurrence.at + trigger == row.next_remind_at
    # The other partner, in the space's zone, keeps the default: 30 minutes before.
    assert alarm_of(client, other, "Talk") == -dt.timedelta(minutes=30)


def test_no_alarm_when_reminders_are_off(client, space, both_ways):
    services.reminder_preference_set(user=both_ways.partner, kind="off", now=NOW)
    make_ritual(space, both_ways.actor, now=NOW, title="Talk")
    assert alarm_of(client, both_ways.partner, "Talk") is None
    assert alarm_of(client, both_ways.actor, "Talk") == -dt.timedelta(minutes=30)
