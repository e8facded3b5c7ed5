"""Time-zone maths shared by every app (imports no app).

The rules come from DESIGN.md: a wall-clock time that does not exist (spring
forward) moves to the first valid instant after the gap; an ambiguous one (fall
back) means its first occurrence.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache

UTC = dt.UTC


@lru_cache(maxsize=1024)
def _available() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_valid_zone(name: str) -> bool:
    return bool(name) and name in _available()


def zone_choices() -> list[tuple[str, str]]:
    return [(z, z.replace("_", " ")) for z in sorted(_available()) if "/" in z or z == "UTC"]


def get_zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_to_utc(day: dt.date, at: dt.time, zone: str | dt.tzinfo) -> dt.datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``zone`` (DST rules above)."""
    tz = zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone
    naive = dt.datetime.combine(day, at.replace(tzinfo=None))
    first = naive.replace(tzinfo=tz, fold=0)
    # A wall time exists iff converting to UTC and back gives it again.
    back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back == naive:
        return first.astimezone(UTC)
    # In a gap: fold=1 resolves with the offset from before the transition, which
    # lands past the gap; the first valid instant after the gap is the transition.
    later = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    earlier = first.astimezone(UTC)
    return _transition_between(min(earlier, later), max(earlier, later), tz)


def _transition_between(lo: dt.datetime, hi: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """The first UTC instant in (lo, hi] whose UTC offset differs from lo's."""
    base = lo.astimezone(tz).utcoffset()
    while (hi - lo) > dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == base:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


def local_today(zone: str, now: dt.datetime | None = None) -> dt.date:
    from django.utils import timezone

    return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(zone)).date()


def viewer_zone(own: str, home: str) -> str:
    """The zone a person sees times in: their own, else the space's (home), else UTC."""
    if is_valid_zone(own):
        return own
    if is_valid_zone(home):
        return home
    return "UTC"
