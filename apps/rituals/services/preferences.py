"""Reminder preferences: each partner's default and per-ritual overrides.

Which choice applies is one rule, ``ReminderPreference.objects.effective`` (the ritual's
override, else the partner's default, else ``DEFAULT_MINUTES`` before); everything here,
the pass and the calendar feed ask it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ..models import ReminderPreference, Ritual
from ..reminding import DEFAULT_MINUTES, MAX_LEAD_MINUTES, Pref
from .errors import RitualError
from .schedules import schedules_sync, schedules_sync_user

DEFAULT_KIND = ReminderPreference.Kind.BEFORE


def preference_effective(*, user, ritual: Ritual | None = None) -> Pref:
    """The choice that applies to ``user`` for ``ritual`` (their default without one)."""
    ritual_id = ritual.pk if ritual else None
    prefs = ReminderPreference.objects.effective(
        user_ids=[user.pk], ritual_ids=[ritual_id] if ritual else []
    )
    return prefs.get(user.pk, ritual_id)


def reminder_preference_set(
    *,
    user,
    ritual: Ritual | None = None,
    kind: str,
    minutes_before: int = DEFAULT_MINUTES,
    now: dt.datetime | None = None,
) -> ReminderPreference | None:
    """Set a partner's default (``ritual`` None) or one ritual's override; ``kind`` "" clears
    the override. Recomputes that partner's schedules (only theirs)."""
    now = now or timezone.now()
    if kind and kind not in ReminderPreference.Kind.values:
        raise RitualError("Choose when to be reminded.")
    if not 0 <= int(minutes_before) <= MAX_LEAD_MINUTES:
        raise RitualError("Choose between 0 minutes and 7 days before.")
    if ritual is not None and ritual.space_id != user.space_id:
        raise RitualError("That ritual is not in your space.")
    with transaction.atomic():
        pref = None
        if not kind:
            ReminderPreference.objects.filter(user=user, ritual=ritual).delete()
        else:
            pref, _ = ReminderPreference.objects.update_or_create(
                user=user, ritual=ritual, defaults={"kind": kind, "minutes_before": minutes_before}
            )
        if ritual is not None:
            schedules_sync(ritual=ritual, now=now, members=[user])
        else:
            schedules_sync_user(user=user, now=now)
    return pref
