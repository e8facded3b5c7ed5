"""The reminder pass (DESIGN.md "Jobs and scheduling").

Due rows are found by the indexed ``ReminderSchedule.next_remind_at`` and claimed in
locked batches (``core.scheduling.claim_due``). Each reminder is recorded once under a
unique constraint, its e-mail goes into the outbox, and the row advances to the next
reminder (``Ritual.next_reminder``) in the same transaction. A reminder more than its
grace period late is recorded as missed. The writes go through ``core.bulk``: this pass
records and queues thousands of reminders a second (``make bench``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from apps.core import bulk
from apps.core.scheduling import claim_due
from apps.notifications.services import email_enqueue_many

from ..models import Reminder, ReminderPreference, ReminderSchedule
from .conversation import questions_for
from .emails import Links, reminder_email
from .schedules import schedule_zones

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


def grace() -> dt.timedelta:
    """How late a reminder may still be sent; later, it is recorded as missed."""
    return dt.timedelta(minutes=settings.RITUALS_REMINDER_GRACE_MINUTES)


def reminders_schedule_due(
    *, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE, max_batches: int = 1000
) -> int:
    """The scheduler pass: record and queue every due reminder. Returns rows handled."""
    now = now or timezone.now()
    return claim_due(
        ReminderSchedule.objects.all(),
        due="next_remind_at",
        now=now,
        handle=lambda ids: _handle_batch(_load(ids), now=now),
        batch_size=batch_size,
        max_batches=max_batches,
    )


# What handling a row reads (building the six model instances per row with every
# column was a tenth of the pass).
_CLAIM_FIELDS = (
    "ritual",
    "user",
    "next_remind_at",
    "next_occurrence",
    "zones",
    "counting_since",
    "updated_at",
    *(
        f"ritual__{name}"
        for name in (
            "space",
            "title",
            "description",
            "participation",
            "giver",
            "rrule",
            "starts_on",
            "time_of_day",
            "status",
            "is_conversation",
            "space__time_zone",
            "giver__email",
            "giver__display_name",
        )
    ),
    *(
        f"user__{name}"
        for name in ("email", "display_name", "time_zone", "space", "space__time_zone")
    ),
)


def _load(ids: list[int]) -> list[ReminderSchedule]:
    """The claimed rows, read with what handling them needs."""
    return list(
        ReminderSchedule.objects.filter(pk__in=ids)
        .select_related("ritual__space", "ritual__giver", "user__space")
        .only(*_CLAIM_FIELDS)
        .order_by("next_remind_at")
    )


# What working out one row's schedule may raise when its rule or zone is broken (a
# database error is not among them: it still ends the batch's transaction).
_UNEVALUABLE = (ArithmeticError, LookupError, TypeError, ValueError)


def _handle_batch(rows: list[ReminderSchedule], *, now: dt.datetime) -> None:
    prefs = ReminderPreference.objects.effective(
        user_ids={r.user_id for r in rows}, ritual_ids={r.ritual_id for r in rows}
    )
    done = set(
        Reminder.objects.filter(
            ritual_id__in={r.ritual_id for r in rows},
            occurrence__in={r.next_occurrence for r in rows if r.next_occurrence},
            recipient_id__in={r.user_id for r in rows},
        ).values_list("ritual_id", "occurrence", "recipient_id")
    )
    late_after = grace()
    new_reminders = []
    to_send = []
    conversations: dict = {}
    for row in rows:
        ritual, user = row.ritual, row.user
        pref = prefs.get(user.pk, ritual.pk)
        zones = schedule_zones(ritual, user)
        try:
            occ = ritual.occurrence_on(row.next_occurrence) if row.next_occurrence else None
            if (
                occ is None
                or not ritual.is_active
                or user.space_id != ritual.space_id
                or row.zones != zones
                or pref.kind == ReminderPreference.Kind.OFF
            ):
                # Stale row (edited elsewhere, a zone changed, partner left): recompute
                # from the day it counted from, so a reminder that the change moved into
                # the past is still sent or recorded as missed — never dropped.
                day, when = ritual.next_reminder(
                    user=user,
                    pref=pref,
                    now=now,
                    since_day=row.next_occurrence,
                    floor=row.counting_since,
                )
                row.next_occurrence, row.next_remind_at, row.zones = day, when, zones
                continue
            day, when = ritual.next_reminder(
                user=user,
                pref=pref,
                now=now,
                since_day=occ.day + dt.timedelta(days=1),
                floor=row.counting_since,
            )
        except _UNEVALUABLE:
            # One ritual whose schedule cannot be worked out must not stop everyone's
            # reminders: park its row (editing the ritual recomputes it) and go on.
            logger.exception(
                "Reminder pass: parked ritual %s for user %s (rule %r)",
                ritual.pk,
                user.pk,
                ritual.rrule,
            )
            row.next_occurrence, row.next_remind_at, row.zones = None, None, zones
            continue
        key = (ritual.pk, occ.day, user.pk)
        if key not in done:
            late = now - row.next_remind_at > late_after
            status = Reminder.Status.MISSED if late else Reminder.Status.SENT
            if status == Reminder.Status.SENT and ritual.is_conversation:
                # Both partners' reminders of one occurrence share one question: picked
                # for the whole batch below, then filled in.
                conversations[ritual.pk, occ.day] = ritual
            new_reminders.append((ritual.pk, occ.day, user.pk, status, row.next_remind_at))
            if status == Reminder.Status.SENT:
                to_send.append((row, occ))
            done.add(key)
        row.next_occurrence, row.next_remind_at = day, when
    questions = questions_for(conversations)
    reminders_record(
        [
            (
                *reminder,
                questions.get(reminder[:2]) if reminder[3] == Reminder.Status.SENT else None,
            )
            for reminder in new_reminders
        ]
    )
    if to_send:
        links = Links()
        email_enqueue_many(
            [
                reminder_email(row, occ, questions.get((row.ritual_id, occ.day)), links)
                for row, occ in to_send
            ]
        )
    _schedules_advance(rows)


def reminders_record(rows: list[tuple]) -> None:
    """Record reminders: (ritual id, occurrence, recipient id, status, due at, question)
    each. The unique constraint is the last word: a conflicting row means already handled."""
    created = timezone.now()
    bulk.insert_ignoring_conflicts(
        Reminder,
        ("ritual_id", "occurrence", "recipient_id", "status", "due_at", "question", "created_at"),
        [(*row, created) for row in rows],
    )


def _schedules_advance(rows: list[ReminderSchedule]) -> None:
    """Write the batch's new ``next_remind_at`` / ``next_occurrence`` / ``zones``."""
    updated = timezone.now()
    bulk.update_by_pk(
        ReminderSchedule,
        ("next_remind_at", "next_occurrence", "zones", "updated_at"),
        [(r.pk, r.next_remind_at, r.next_occurrence, r.zones, updated) for r in rows],
    )
