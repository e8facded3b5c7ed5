"""Reminder schedules: each partner's next reminder of each ritual (the pass's due rows).

A recompute asks the model (``Ritual.next_reminder``) and touches only the people it is
asked about: one partner's change never touches the other's row.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..models import Reminder, ReminderPreference, ReminderSchedule, Ritual


def schedule_zones(ritual: Ritual, user) -> str:
    """What a row remembers of the zones it was computed with ("space zone|user zone"):
    the pass recomputes a row whose zones changed."""
    return f"{ritual.space.time_zone}|{user.zone}"


def schedules_sync(*, ritual: Ritual, now: dt.datetime | None = None, members=None) -> None:
    """Recompute the next reminder of ``ritual`` for ``members`` (both partners by default)
    after an edit, a pause, a preference or a zone change.

    Only the people asked about are recomputed: one partner's change never touches the
    other's row. Rows of people no longer in the space are parked.
    """
    now = now or timezone.now()
    current = list(ritual.space.members.all())
    current_ids = {m.pk for m in current}
    if members is None:
        members = current
    members = [m for m in members if m.pk in current_ids]
    prefs = ReminderPreference.objects.effective(
        user_ids=[m.pk for m in members], ritual_ids=[ritual.pk]
    )
    with transaction.atomic():
        rows = {
            r.user_id: r
            for r in ReminderSchedule.objects.select_for_update().filter(
                ritual=ritual, user_id__in=[m.pk for m in members]
            )
        }
        last = dict(
            Reminder.objects.filter(ritual=ritual, recipient_id__in=[m.pk for m in members])
            .values("recipient_id")
            .annotate(last=Max("occurrence"))
            .values_list("recipient_id", "last")
        )
        for member in members:
            row = rows.get(member.pk)
            live = row is not None and row.next_remind_at is not None
            day, when = ritual.next_reminder(
                user=member,
                pref=prefs.get(member.pk, ritual.pk),
                now=now,
                since_day=row.next_occurrence if live else None,
                after_day=last.get(member.pk),
                floor=row.counting_since if live else None,
            )
            ReminderSchedule.objects.update_or_create(
                ritual=ritual,
                user=member,
                defaults={
                    "next_remind_at": when,
                    "next_occurrence": day,
                    "zones": schedule_zones(ritual, member),
                    "counting_since": (row.counting_since if live else now) if when else None,
                },
            )
        ReminderSchedule.objects.filter(ritual=ritual).exclude(user_id__in=current_ids).update(
            next_remind_at=None, next_occurrence=None
        )


def schedules_sync_user(*, user, now: dt.datetime | None = None) -> None:
    """Recompute one partner's reminders, e.g. after they changed their time zone."""
    if not user.space_id:
        return
    now = now or timezone.now()
    for ritual in Ritual.objects.filter(space_id=user.space_id).select_related("space"):
        schedules_sync(ritual=ritual, now=now, members=[user])


def schedules_sync_space(*, space, now: dt.datetime | None = None) -> None:
    """Recompute every reminder of a space (after the space's time zone changed)."""
    now = now or timezone.now()
    members = list(space.members.all())
    for ritual in Ritual.objects.filter(space=space).select_related("space"):
        schedules_sync(ritual=ritual, now=now, members=members)
