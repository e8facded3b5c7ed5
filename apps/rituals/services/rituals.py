"""Ritual writes: create, edit, pause or archive, add from the library. Each recomputes the
reminder schedules; an edit that moves an occurrence someone was already reminded of
tells them (DESIGN decision: the reminder they have says the old time)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.core.tz import local_today

from .. import library
from ..models import Reminder, Ritual
from ..recurrence import rrule_from_answers
from .emails import ritual_moved_enqueue
from .errors import RitualError
from .schedules import schedules_sync

RITUAL_FIELDS = (
    "title",
    "description",
    "participation",
    "giver",
    "rrule",
    "recurrence",
    "starts_on",
    "time_of_day",
    "duration_minutes",
    "is_conversation",
)


def _check_giver(space, fields: dict) -> None:
    if fields.get("participation") == Ritual.Participation.GIVES:
        giver = fields.get("giver")
        if giver is None or giver.space_id != space.pk:
            raise RitualError("Choose which of you gives.")
    else:
        fields["giver"] = None


def ritual_create(*, space, user, now: dt.datetime | None = None, **fields) -> Ritual:
    now = now or timezone.now()
    _check_giver(space, fields)
    with transaction.atomic():
        ritual = Ritual.objects.create(
            space=space, created_by=user, **{k: v for k, v in fields.items() if k in RITUAL_FIELDS}
        )
        ritual.space = space
        schedules_sync(ritual=ritual, now=now)
    return ritual


def ritual_update(*, ritual: Ritual, now: dt.datetime | None = None, **fields) -> Ritual:
    now = now or timezone.now()
    if "participation" in fields or "giver" in fields:
        fields.setdefault("participation", ritual.participation)
        fields.setdefault("giver", ritual.giver)
        _check_giver(ritual.space, fields)
    with transaction.atomic():
        reminded = _reminded_ahead(ritual, now=now)
        for key, value in fields.items():
            if key in RITUAL_FIELDS:
                setattr(ritual, key, value)
        ritual.save()
        schedules_sync(ritual=ritual, now=now)
        _tell_moved(ritual, reminded)
    return ritual


def _reminded_ahead(ritual: Ritual, *, now: dt.datetime) -> list[tuple]:
    """(recipient, day, instant) of reminders already sent for occurrences still ahead."""
    since = local_today(ritual.space.time_zone, now) - dt.timedelta(days=1)
    out = []
    for reminder in Reminder.objects.filter(
        ritual=ritual, status=Reminder.Status.SENT, occurrence__gte=since
    ).select_related("recipient"):
        occ = ritual.occurrence_on(reminder.occurrence)
        if occ is not None and occ.at > now:
            out.append((reminder.recipient, occ.day, occ.at))
    return out


def _tell_moved(ritual: Ritual, reminded: list[tuple]) -> None:
    """Whoever was already reminded of an occurrence that an edit moved (or removed) gets
    a short note."""
    for user, day, was in reminded:
        if user.space_id != ritual.space_id:
            continue
        occ = ritual.occurrence_on(day)
        if occ is not None and occ.at == was:
            continue
        ritual_moved_enqueue(
            ritual=ritual, user=user, day=day, was=was, now_at=occ.at if occ else None
        )


def ritual_set_status(*, ritual: Ritual, status: str, now: dt.datetime | None = None) -> Ritual:
    now = now or timezone.now()
    if status not in Ritual.Status.values:
        raise RitualError("Unknown status.")
    with transaction.atomic():
        ritual.status = status
        ritual.save(update_fields=["status", "updated_at"])
        schedules_sync(ritual=ritual, now=now)
    return ritual


def ritual_add_from_library(
    *, space, user, key: str, now: dt.datetime | None = None, **overrides
) -> Ritual:
    """One click: the library ritual as it is, starting today in the space's zone."""
    item = library.BY_KEY.get(key)
    if item is None:
        raise RitualError("That ritual is not in the library.")
    now = now or timezone.now()
    starts_on = overrides.pop("starts_on", None) or local_today(space.time_zone, now)
    answers = dict(item.answers)
    fields = {
        "title": item.title,
        "description": item.description,
        "participation": item.participation,
        "giver": user if item.participation == Ritual.Participation.GIVES else None,
        "recurrence": answers,
        "rrule": rrule_from_answers(answers, starts_on),
        "starts_on": starts_on,
        "time_of_day": item.time_of_day,
        "duration_minutes": item.duration_minutes,
        "is_conversation": item.is_conversation,
        **overrides,
    }
    ritual = ritual_create(space=space, user=user, now=now, **fields)
    Ritual.objects.filter(pk=ritual.pk).update(library_key=key)
    ritual.library_key = key
    return ritual
