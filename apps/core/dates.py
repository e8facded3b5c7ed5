"""Calendar rules shared by every app (imports no app).

29 February lives here, once: an anniversary, a yearly event or an "on this day"
of 29 February falls on 28 February in common years (DESIGN.md, "Time").
"""

from __future__ import annotations

import calendar
import datetime as dt


def is_leap_day(day: dt.date) -> bool:
    return day.month == 2 and day.day == 29


def same_day_in(day: dt.date, year: int) -> dt.date:
    """``day``'s month and day in ``year``; 29 February becomes the 28th in common years."""
    if is_leap_day(day) and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return day.replace(year=year)


def leap_day_falls_on(today: dt.date) -> bool:
    """Whether 29 February of earlier years is remembered on ``today`` (28 Feb, common year)."""
    return (
        today.month == 2
        and today.day == 28
        and same_day_in(dt.date(2000, 2, 29), today.year) == today
    )
