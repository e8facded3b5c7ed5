"""How Keepsake says *when*, in one place (DESIGN.md "Time"; examples in docs/time.md).

- ``countdown(instant, now, zone)``: "in 35 minutes", "in 5 hours", "tomorrow",
  "in 12 days". It counts to the instant, so a vault that opens in 35 minutes is
  never "1 day" away; days are calendar days in the viewer's zone.
- ``local_and_home(instant, zone=, home=)``: the instant in the viewer's zone, with
  the home (space) time beside it where the two read differently:
  "Thu 3 Dec, 07:30 (home time: Wed 2 Dec, 21:30)".

Pages use the template tags in ``apps/core/templatetags/keepsake_time.py``; e-mails
and selectors call these functions with the recipient's zone.
"""

from __future__ import annotations

import datetime as dt
import math

from django.utils import dateformat

from .tz import get_zone

# Under this, a countdown speaks in hours even when the instant is tomorrow.
HOURS_UNTIL = dt.timedelta(hours=12)


def _tz(zone: str | dt.tzinfo) -> dt.tzinfo:
    return get_zone(zone) if isinstance(zone, str) else zone


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("countdown and local_and_home need aware datetimes")
    return value


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def countdown(instant: dt.datetime, now: dt.datetime, zone: str | dt.tzinfo) -> str:
    """How long until ``instant``, said the way a person would, in ``zone``'s calendar.

    - at or past the instant: "now";
    - under an hour: "in N minutes", rounded up (the last seconds are "in 1 minute");
    - under 12 hours, or later the same day: "in N hours", to the nearest hour;
    - otherwise by calendar days in ``zone``: "tomorrow", then "in N days".
    """
    left = _aware(instant) - _aware(now)
    seconds = left.total_seconds()
    if seconds <= 0:
        return "now"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return "in " + _plural(minutes, "minute")
    tz = _tz(zone)
    days = (instant.astimezone(tz).date() - now.astimezone(tz).date()).days
    if left < HOURS_UNTIL or days == 0:
        hours = max(1, math.floor(seconds / 3600 + 0.5))
        return "in " + _plural(hours, "hour")
    if days == 1:
        return "tomorrow"
    return f"in {days} days"


def _format(local: dt.datetime, date_format: str | None, time_format: str, sep: str) -> str:
    clock = dateformat.format(local, time_format)
    if not date_format:
        return clock
    return f"{dateformat.format(local, date_format)}{sep}{clock}"


def local_and_home(
    instant: dt.datetime,
    *,
    zone: str | dt.tzinfo,
    home: str | dt.tzinfo,
    date_format: str | None = "D j M",
    time_format: str = "H:i",
    sep: str = ", ",
) -> str:
    """``instant`` in the viewer's ``zone``, the ``home`` time beside it where it differs.

    Formats are Django's ``date`` filter codes. With ``date_format=None`` only the
    time is shown (a "today" list); the home time still gets its date when the home
    calendar is on another day, and drops it when both are the same day.
    """
    local = _aware(instant).astimezone(_tz(zone))
    there = instant.astimezone(_tz(home))
    text = _format(local, date_format, time_format, sep)
    if there.replace(tzinfo=None) == local.replace(tzinfo=None):
        return text
    if there.date() == local.date():
        beside = dateformat.format(there, time_format)
    else:
        beside = _format(there, date_format or "D j M", time_format, sep)
    return f"{text} (home time: {beside})"
