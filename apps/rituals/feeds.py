"""The calendar feed: a partner's rituals (and the anniversary) as an iCalendar file."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from icalendar import Alarm, Calendar, Event, vRecur

from apps.core.dates import is_leap_day
from apps.core.tz import get_zone, local_to_utc

from .models import Ritual
from .reminding import Pref, Prefs


def _alarm_trigger(ritual: Ritual, user, pref: Pref, *, now: dt.datetime):
    """The alarm's offset from each event's start, or None for no alarm.

    The e-mail's own rule (``Pref.remind_at``, in the subscriber's zone) applied to the next
    occurrence: a calendar alarm is one offset for the whole series, so the phone and the
    e-mail agree, except next to a DST change that only one of the two zones makes.
    """
    occurrence = next(iter(ritual.occurrences_after(now, count=1)), None)
    if occurrence is None:
        first = ritual.first_day()
        occurrence = ritual.occurrence_on(first) if first else None
    if occurrence is None:
        return None
    when = pref.remind_at(occurrence.at, user.zone)
    return None if when is None else when - occurrence.at


def calendar_for(
    *, user, rituals: list[Ritual], prefs: Prefs, now: dt.datetime | None = None
) -> bytes:
    """``prefs``: the reminder choices that apply to ``user`` for ``rituals``."""
    now = now or timezone.now()
    space = user.space
    tz = get_zone(space.time_zone)
    cal = Calendar()
    cal.add("prodid", "-//Keepsake//Rituals//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{space.name} · Keepsake")
    cal.add("x-wr-timezone", space.time_zone)
    host = settings.SITE_URL.split("//")[-1].split("/")[0] or "keepsake"
    for ritual in rituals:
        # Calendar apps count DTSTART as the first event (RFC 5545), and ``starts_on``
        # need not be an occurrence ("Date night" on Fridays, added on a Monday).
        first = ritual.first_day()
        if first is None:
            continue  # a rule that cannot be evaluated (logged): no event beats a wrong one
        event = Event()
        event.add("uid", f"ritual-{ritual.pk}@{host}")
        event.add("summary", ritual.title)
        if ritual.description:
            event.add("description", ritual.description)
        event.add("dtstart", dt.datetime.combine(first, ritual.time_of_day, tzinfo=tz))
        event.add("duration", dt.timedelta(minutes=ritual.duration_minutes or 30))
        rule = vRecur.from_ical(ritual.rrule)
        if "UNTIL" in rule:
            # With a zoned DTSTART, UNTIL must be a UTC instant: the last day's occurrence.
            rule["UNTIL"] = [local_to_utc(rule["UNTIL"][0], ritual.time_of_day, tz)]
        event.add("rrule", rule)
        event.add("dtstamp", ritual.updated_at)
        trigger = _alarm_trigger(ritual, user, prefs.get(user.pk, ritual.pk), now=now)
        if trigger is not None:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", ritual.title)
            alarm.add("trigger", trigger)
            event.add_component(alarm)
        cal.add_component(event)
    if space.anniversary:
        event = Event()
        event.add("uid", f"anniversary-{space.pk}@{host}")
        event.add("summary", f"Anniversary of {space.name}")
        event.add("dtstart", space.anniversary)
        event.add("dtstamp", space.created_at)
        if is_leap_day(space.anniversary):
            # 28 February in common years (DESIGN.md).
            event.add("rrule", {"freq": "yearly", "bymonth": 2, "bymonthday": -1})
        else:
            event.add("rrule", {"freq": "yearly"})
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
