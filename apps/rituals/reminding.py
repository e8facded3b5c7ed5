"""When a partner is reminded: the choices, and the one rule for the instant each gives.

Pure values, so the model, the reminder pass and the calendar feed's alarm share them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models

from apps.core.tz import get_zone, local_to_utc

# The longest lead a reminder may have ("some minutes before"): a week.
MAX_LEAD_MINUTES = 7 * 24 * 60
# Without a choice of their own, a partner is reminded this long before.
DEFAULT_MINUTES = 30
# "The morning of": this wall-clock time in the partner's own zone.
MORNING = dt.time(8, 0)


class ReminderKind(models.TextChoices):
    AT_TIME = "at_time", "At the time"
    BEFORE = "before", "Some minutes before"
    MORNING = "morning", "The morning of the day"
    OFF = "off", "No reminder"


@dataclass(frozen=True)
class Pref:
    """The reminder choice that applies to one partner and one ritual."""

    kind: str
    minutes: int

    def remind_at(self, occurrence_at: dt.datetime, zone: str) -> dt.datetime | None:
        """The instant to remind a partner in ``zone`` of an occurrence; None when off.
        The e-mail's rule, and the calendar feed's alarm (so the phone and the e-mail agree)."""
        kind = self.kind
        if kind == ReminderKind.OFF:
            return None
        if kind == ReminderKind.BEFORE:
            return occurrence_at - dt.timedelta(minutes=self.minutes)
        if kind == ReminderKind.MORNING:
            day = occurrence_at.astimezone(get_zone(zone)).date()
            return min(local_to_utc(day, MORNING, zone), occurrence_at)
        return occurrence_at


class Prefs:
    """Which reminder choice applies, for the partners and rituals it was loaded for: the
    ritual's own override, else the partner's default, else ``DEFAULT_MINUTES`` before."""

    def __init__(self, rows: Iterable[tuple]) -> None:
        self._by_key = {
            (user_id, ritual_id): Pref(kind, minutes) for user_id, ritual_id, kind, minutes in rows
        }

    def get(self, user_id: int, ritual_id: int | None) -> Pref:
        return (
            self._by_key.get((user_id, ritual_id))
            or self._by_key.get((user_id, None))
            or Pref(ReminderKind.BEFORE, DEFAULT_MINUTES)
        )
