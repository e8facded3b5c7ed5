"""An independent model of when a ritual happens and when each partner is reminded.

Written from the spec in issue 10 with ``dateutil.rrule`` and ``zoneinfo`` only: nothing
here calls the app's ``next_reminder``, ``occurrences_*``, ``remind_at`` or
``apps.core.tz``, so the stateful test (``test_model_two_partners.py``) compares the app
with a second, separate reading of the same rules.

- A ritual happens at ``time_of_day`` wall-clock in the space's zone on each date of its
  RRULE (applied to local dates from ``starts_on``). A wall time that does not exist
  (spring forward) moves to the first valid instant after the gap; an ambiguous one (fall
  back) is the first of the two (fold=0).
- A reminder for an occurrence at instant ``at``, for a partner in zone Z: ``before`` →
  ``at - minutes``; ``at_time`` → ``at``; ``morning`` → ``min(08:00 in Z on the date of
  at in Z, at)``; ``off`` → none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

UTC = dt.UTC
MORNING = dt.time(8, 0)
DEFAULT = ("before", 30)
# The app gives up after this many occurrences when looking for the next reminder.
SEARCH_LIMIT = 400


def wall_to_utc(day: dt.date, at: dt.time, zone: str) -> dt.datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``zone``.

    An existing time converts with fold=0 (the first of an ambiguous pair). A time in a
    gap becomes the transition itself, found by walking minute by minute from the
    earlier reading: the first instant whose wall clock is no earlier than ``at``.
    """
    tz = ZoneInfo(zone)
    naive = dt.datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    instant = min(first, other).replace(second=0, microsecond=0)
    for _ in range(24 * 60):
        if instant.astimezone(tz).replace(tzinfo=None) >= naive:
            return instant
        instant += dt.timedelta(minutes=1)
    raise AssertionError(f"no instant found for {naive} in {zone}")


@lru_cache(maxsize=256)
def _rule(text: str, starts_on: dt.date):
    return rrulestr(text, dtstart=dt.datetime.combine(starts_on, dt.time(0, 0)))


def days_from(text: str, starts_on: dt.date, first: dt.date):
    """The rule's local dates on or after ``first``, in order."""
    rule = _rule(text, starts_on)
    for naive in rule.xafter(dt.datetime.combine(first, dt.time(0, 0)), inc=True):
        yield naive.date()


def is_day(text: str, starts_on: dt.date, day: dt.date) -> bool:
    return next(days_from(text, starts_on, day), None) == day


@dataclass
class RitualModel:
    """What the model knows of one ritual."""

    pk: int
    rrule: str
    starts_on: dt.date
    time_of_day: dt.time
    status: str = "active"

    def at(self, day: dt.date, space_zone: str) -> dt.datetime:
        return wall_to_utc(day, self.time_of_day, space_zone)

    def occurrences(self, first: dt.date, space_zone: str):
        """(day, instant) from local date ``first`` on."""
        for day in days_from(self.rrule, self.starts_on, first):
            yield day, self.at(day, space_zone)


def remind_instant(pref: tuple[str, int], at: dt.datetime, zone: str) -> dt.datetime | None:
    kind, minutes = pref
    if kind == "off":
        return None
    if kind == "before":
        return at - dt.timedelta(minutes=minutes)
    if kind == "morning":
        local_day = at.astimezone(ZoneInfo(zone)).date()
        return min(wall_to_utc(local_day, MORNING, zone), at)
    assert kind == "at_time", kind
    return at


def next_for_new_row(
    ritual: RitualModel,
    *,
    pref,
    space_zone: str,
    zone: str,
    now: dt.datetime,
    after_day: dt.date | None,
):
    """A new or parked row: the first occurrence that has not started (``at >= now``),
    after the last one recorded, reminded at ``max(remind instant, now)``."""
    if ritual.status != "active" or pref[0] == "off":
        return None
    first = now.astimezone(ZoneInfo(space_zone)).date() - dt.timedelta(days=1)
    seen = 0
    for day, at in ritual.occurrences(first, space_zone):
        if at < now:
            continue
        seen += 1
        if seen > SEARCH_LIMIT:
            return None
        if after_day is not None and day <= after_day:
            continue
        return day, max(remind_instant(pref, at, zone), now)
    return None


def next_from_day(
    ritual: RitualModel,
    *,
    pref,
    space_zone: str,
    zone: str,
    since: dt.date,
    floor: dt.datetime | None = None,
):
    """A live row recomputed, or the pass moving on: the first occurrence on or after
    ``since`` that began after ``floor`` (the instant the row started counting), however
    late (its instant may be in the past), but never due before ``floor``."""
    if ritual.status != "active" or pref[0] == "off":
        return None
    for day, at in ritual.occurrences(since, space_zone):
        if floor is not None and at < floor:
            continue  # it began before the row started counting: never owed
        when = remind_instant(pref, at, zone)
        return day, (max(when, floor) if floor is not None else when)
    return None
