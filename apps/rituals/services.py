"""Writes of the rituals app: rituals, reminder schedules, the reminder pass, check-ins.

The reminder pass follows DESIGN.md "Jobs and scheduling": due rows are found by
the indexed ``ReminderSchedule.next_remind_at``, claimed with ``SELECT … FOR
UPDATE SKIP LOCKED`` in batches, each reminder is recorded once under a unique
constraint, the e-mail goes into the outbox, and the row is advanced in the same
transaction. A reminder more than its grace period late is recorded as missed.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from apps.core import bulk
from apps.core.scheduling import claim_due
from apps.core.tz import get_zone, local_to_utc, local_today
from apps.notifications.models import Category
from apps.notifications.services import (
    BatchSigner,
    EmailItem,
    email_enqueue,
    email_enqueue_many,
)

from . import library
from .models import (
    CalendarFeed,
    CheckIn,
    QuestionUse,
    Reminder,
    ReminderPreference,
    ReminderSchedule,
    Ritual,
    remind_at,
)
from .questions import QUESTIONS

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
CHECKIN_SALT = "keepsake.rituals.checkin"
DEFAULT_KIND = ReminderPreference.Kind.BEFORE
DEFAULT_MINUTES = 30
# Occurrences looked at when searching for the next reminder before giving up.
SEARCH_LIMIT = 400


class RitualError(ValueError):
    """Bad input for a ritual write; the message is safe to show."""


def grace() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "RITUALS_REMINDER_GRACE_MINUTES", 120))


# --- Preferences ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pref:
    kind: str
    minutes: int


def _prefs_map(*, user_ids, ritual_ids) -> dict:
    rows = (
        ReminderPreference.objects.filter(user_id__in=user_ids)
        .filter(Q(ritual__isnull=True) | Q(ritual_id__in=ritual_ids))
        .values_list("user_id", "ritual_id", "kind", "minutes_before")
    )
    return {(user_id, ritual_id): Pref(kind, minutes) for user_id, ritual_id, kind, minutes in rows}


def _pref(prefs: dict, user_id: int, ritual_id: int) -> Pref:
    return (
        prefs.get((user_id, ritual_id))
        or prefs.get((user_id, None))
        or Pref(DEFAULT_KIND, DEFAULT_MINUTES)
    )


def preference_effective(*, user, ritual=None) -> Pref:
    prefs = _prefs_map(user_ids=[user.pk], ritual_ids=[ritual.pk] if ritual else [])
    return _pref(prefs, user.pk, ritual.pk if ritual else None)


def reminder_preference_set(
    *, user, ritual: Ritual | None = None, kind: str, minutes_before: int = 30, now=None
) -> ReminderPreference | None:
    """Set a partner's default (``ritual`` None) or one ritual's override; ``kind`` "" clears
    the override. Recomputes that partner's schedules."""
    now = now or timezone.now()
    if kind and kind not in ReminderPreference.Kind.values:
        raise RitualError("Choose when to be reminded.")
    if not 0 <= int(minutes_before) <= 7 * 24 * 60:
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


# --- Schedules ------------------------------------------------------------------------------


def _zones(ritual: Ritual, user) -> str:
    return f"{ritual.space.time_zone}|{user.zone}"


def next_reminder(
    *,
    ritual: Ritual,
    user,
    pref: Pref,
    now: dt.datetime,
    since_day: dt.date | None = None,
    after_day: dt.date | None = None,
    floor: dt.datetime | None = None,
):
    """(occurrence day, remind instant) of the next reminder owed to ``user``, or (None, None).

    - With ``since_day`` (the schedule was already counting from that day, and a change
      of time, zone or preference asks again): the first occurrence on or after it,
      however late, among those that began after ``floor`` (the instant the row started
      counting; earlier ones were never owed) and never due before it.
      The pass then sends it when it is at most the grace period late and records it as
      missed otherwise, so a change never drops a reminder silently, and never turns a
      reminder that was due at once into a missed one.
    - Without (a new ritual, a resume, a partner who joins, reminders turned on): the
      first occurrence that has not started yet, after ``after_day`` (the last one
      recorded). If its reminder instant has already passed it is due at once: a ritual
      made at noon for tonight still reminds both partners of tonight.
    """
    if not ritual.is_active or pref.kind == ReminderPreference.Kind.OFF:
        return None, None
    if user.space_id != ritual.space_id:
        return None, None
    zone = user.zone
    if since_day is not None:
        start = local_to_utc(since_day, dt.time(0, 0), ritual.space.time_zone)
    else:
        start = now
    for i, occ in enumerate(ritual.occurrences_iter(start)):
        if i >= SEARCH_LIMIT:
            break
        if (
            (since_day is not None and occ.day < since_day)
            or (after_day is not None and occ.day <= after_day)
            or (floor is not None and occ.at < floor)  # began before the row counted
        ):
            continue
        when = remind_at(pref.kind, pref.minutes, occ.at, zone)
        if since_day is None:
            when = max(when, now)
        elif floor is not None:
            when = max(when, floor)
        return occ.day, when
    return None, None


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
    prefs = _prefs_map(user_ids=[m.pk for m in members], ritual_ids=[ritual.pk])
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
            day, when = next_reminder(
                ritual=ritual,
                user=member,
                pref=_pref(prefs, member.pk, ritual.pk),
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
                    "zones": _zones(ritual, member),
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
    for ritual in Ritual.objects.filter(space_id=user.space_id).select_related("space"):
        schedules_sync(ritual=ritual, now=now, members=[user])


def schedules_sync_space(*, space, now: dt.datetime | None = None) -> None:
    """Recompute every reminder of a space (after the space's time zone changed)."""
    members = list(space.members.all())
    for ritual in Ritual.objects.filter(space=space).select_related("space"):
        schedules_sync(ritual=ritual, now=now, members=members)


# --- Rituals --------------------------------------------------------------------------------

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
    a short note: the reminder they have says the old time (DESIGN decision)."""
    for user, day, was in reminded:
        if user.space_id != ritual.space_id:
            continue
        occ = ritual.occurrence_on(day)
        if occ is not None and occ.at == was:
            continue
        email_enqueue(
            to_email=user.email,
            template="ritual_moved",
            context={
                "ritual": ritual,
                "recipient_name": user.name,
                "was": _when_text(was, user.zone),
                "when": _when_text(occ.at, user.zone) if occ else "",
                "ritual_url": settings.SITE_URL + reverse("rituals:detail", args=[ritual.pk]),
            },
            dedupe_key=(
                f"ritual-moved:{ritual.pk}:{day.isoformat()}:{user.pk}:"
                f"{occ.at.isoformat() if occ else 'off'}"
            ),
            category=Category.REMINDERS,
            user=user,
        )


def ritual_set_status(*, ritual: Ritual, status: str, now: dt.datetime | None = None) -> Ritual:
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
    from .recurrence import rrule_from_answers

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


# --- Conversation questions -------------------------------------------------------------------


def question_for(*, ritual: Ritual, day: dt.date) -> int:
    """The question for one occurrence (the same for both partners), fresh for the space."""
    for _attempt in range(3):
        existing = QuestionUse.objects.filter(ritual=ritual, occurrence=day).first()
        if existing is not None:
            return existing.question
        cycle = QuestionUse.objects.filter(space_id=ritual.space_id).aggregate(c=Max("cycle"))["c"]
        cycle = cycle or 0
        used = set(
            QuestionUse.objects.filter(space_id=ritual.space_id, cycle=cycle).values_list(
                "question", flat=True
            )
        )
        remaining = [i for i in range(len(QUESTIONS)) if i not in used]
        if not remaining:
            cycle += 1
            remaining = list(range(len(QUESTIONS)))
        pick = secrets.choice(remaining)
        try:
            with transaction.atomic():
                QuestionUse.objects.create(
                    space_id=ritual.space_id,
                    ritual=ritual,
                    occurrence=day,
                    question=pick,
                    cycle=cycle,
                )
            return pick
        except IntegrityError:
            continue  # someone else picked at the same moment: look again
    return secrets.choice(range(len(QUESTIONS)))


def _questions_for(pairs: dict) -> dict:
    """``question_for`` for a whole batch: {(ritual id, day): question} for the
    {(ritual id, day): ritual} given, in a fixed number of queries.

    The same rules: an occurrence keeps the question it has; a new one is picked among
    the questions the space has not had in its current cycle (a new cycle once all were
    used), also apart from the ones picked earlier in this batch. The constraints decide
    races: a pick that lost to another pass is read back, and the rare occurrence left
    without one (two passes picked one question for one space) goes through
    ``question_for`` on its own."""
    if not pairs:
        return {}
    ritual_ids = {rid for rid, _ in pairs}
    days = {day for _, day in pairs}

    def read() -> dict:
        return {
            (u.ritual_id, u.occurrence): u.question
            for u in QuestionUse.objects.filter(ritual_id__in=ritual_ids, occurrence__in=days)
            if (u.ritual_id, u.occurrence) in pairs
        }

    found = read()
    missing = [key for key in pairs if key not in found]
    if not missing:
        return found
    spaces = {pairs[key].space_id for key in missing}
    cycles = dict(
        QuestionUse.objects.filter(space_id__in=spaces)
        .values("space_id")
        .annotate(c=Max("cycle"))
        .values_list("space_id", "c")
    )
    current = Q(pk__in=[])
    for space_id, cycle in cycles.items():
        current |= Q(space_id=space_id, cycle=cycle)
    used: dict[int, set[int]] = {space_id: set() for space_id in spaces}
    for space_id, question in QuestionUse.objects.filter(current).values_list(
        "space_id", "question"
    ):
        used[space_id].add(question)
    new = []
    picked: dict[int, set[int]] = {space_id: set() for space_id in spaces}
    for rid, day in missing:
        space_id = pairs[rid, day].space_id
        cycle = cycles.get(space_id) or 0
        remaining = [i for i in range(len(QUESTIONS)) if i not in used[space_id]]
        if not remaining:
            # A new cycle, but not with a question this batch just gave the space.
            cycle = cycles[space_id] = cycle + 1
            used[space_id] = set()
            remaining = [i for i in range(len(QUESTIONS)) if i not in picked[space_id]]
        pick = secrets.choice(remaining)
        used[space_id].add(pick)
        picked[space_id].add(pick)
        new.append(
            QuestionUse(
                space_id=space_id, ritual_id=rid, occurrence=day, question=pick, cycle=cycle
            )
        )
    QuestionUse.objects.bulk_create(new, ignore_conflicts=True)
    found = read()
    for key in pairs:
        if key not in found:
            found[key] = question_for(ritual=pairs[key], day=key[1])
    return found


# --- Check-in links ------------------------------------------------------------------------


def checkin_token(*, ritual_id: int, day: dt.date, user_id: int) -> str:
    return signing.dumps(
        {"r": ritual_id, "d": day.isoformat(), "u": user_id}, salt=CHECKIN_SALT, compress=True
    )


def checkin_token_read(token: str) -> tuple[int, dt.date, int]:
    """(ritual id, occurrence day, user id); raises ``signing.BadSignature`` (or Expired)."""
    max_age = dt.timedelta(days=getattr(settings, "RITUALS_CHECKIN_LINK_DAYS", 14))
    data = signing.loads(token, salt=CHECKIN_SALT, max_age=max_age)
    try:
        return int(data["r"]), dt.date.fromisoformat(data["d"]), int(data["u"])
    except (KeyError, TypeError, ValueError) as exc:
        raise signing.BadSignature("Malformed check-in token") from exc


def checkin_url(*, ritual_id: int, day: dt.date, user_id: int, action: str) -> str:
    token = checkin_token(ritual_id=ritual_id, day=day, user_id=user_id)
    return settings.SITE_URL + reverse("rituals:email_check_in", args=[token, action])


# --- The reminder pass --------------------------------------------------------------------------


def _when_text(instant: dt.datetime, zone: str) -> str:
    local = instant.astimezone(get_zone(zone))
    return f"{local:%A %-d %B at %H:%M} ({zone.replace('_', ' ')})"


class _Links:
    """The pass's URLs: each pattern reversed once per batch, then filled in per reminder
    (the same URLs ``checkin_url`` and ``reverse`` give; tokens need no quoting)."""

    def __init__(self) -> None:
        self.checkin = reverse("rituals:email_check_in", args=["~token~", "~action~"])
        self.detail = reverse("rituals:detail", args=[0]).replace("/0/", "/~pk~/")
        self.signer = BatchSigner(salt=CHECKIN_SALT)  # the tokens ``checkin_token`` gives

    def checkin_url(self, *, ritual_id: int, day: dt.date, user_id: int, action: str) -> str:
        token = self.signer.dumps({"r": ritual_id, "d": day.isoformat(), "u": user_id})
        path = self.checkin.replace("~token~", token).replace("~action~", action)
        return settings.SITE_URL + path

    def ritual_url(self, ritual_id: int) -> str:
        return settings.SITE_URL + self.detail.replace("~pk~", str(ritual_id))


def _email(row: ReminderSchedule, occ, question: int | None, links: _Links) -> EmailItem:
    """The reminder e-mail of one row. Every text differs per recipient (``fill``): the
    templates use them plainly, so the outbox renders the templates once per batch."""
    ritual, user = row.ritual, row.user
    day, occ_at = occ.day, occ.at
    space_zone = ritual.space.time_zone
    fill = {
        "ritual.title": ritual.title,
        "ritual.description": ritual.description,
        "recipient_name": user.name,
        "when": _when_text(occ_at, user.zone),
        "when_space": _when_text(occ_at, space_zone) if space_zone != user.zone else "",
        "question": QUESTIONS[question] if question is not None else "",
        "giver_name": (
            ("you" if ritual.giver_id == user.pk else ritual.giver.name)
            if ritual.participation == Ritual.Participation.GIVES and ritual.giver_id
            else ""
        ),
        "kept_url": links.checkin_url(ritual_id=ritual.pk, day=day, user_id=user.pk, action="kept"),
        "skip_url": links.checkin_url(
            ritual_id=ritual.pk, day=day, user_id=user.pk, action="skipped"
        ),
        "ritual_url": links.ritual_url(ritual.pk),
    }
    return EmailItem(
        to_email=user.email,
        template="ritual_reminder",
        context={},
        fill=fill,
        dedupe_key=f"ritual-reminder:{ritual.pk}:{day.isoformat()}:{user.pk}",
        category=Category.REMINDERS,
        user=user,
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
    prefs = _prefs_map(user_ids={r.user_id for r in rows}, ritual_ids={r.ritual_id for r in rows})
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
        pref = _pref(prefs, user.pk, ritual.pk)
        zones = _zones(ritual, user)
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
                day, when = next_reminder(
                    ritual=ritual,
                    user=user,
                    pref=pref,
                    now=now,
                    since_day=row.next_occurrence,
                    floor=row.counting_since,
                )
                row.next_occurrence, row.next_remind_at, row.zones = day, when, zones
                continue
            day, when = next_reminder(
                ritual=ritual,
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
    questions = _questions_for(conversations)
    _reminders_insert(
        [
            (
                *reminder,
                questions.get(reminder[:2]) if reminder[3] == Reminder.Status.SENT else None,
            )
            for reminder in new_reminders
        ]
    )
    if to_send:
        links = _Links()
        email_enqueue_many(
            [
                _email(row, occ, questions.get((row.ritual_id, occ.day)), links)
                for row, occ in to_send
            ]
        )
    _schedules_advance(rows)


def _reminders_insert(rows: list[tuple]) -> None:
    """Record the batch's reminders: (ritual id, occurrence, recipient id, status, due at,
    question) each. The unique constraint is the last word: a conflicting row means
    already handled."""
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


def reminders_schedule_due(
    *, now: dt.datetime, batch_size: int = BATCH_SIZE, max_batches: int = 1000
) -> int:
    """The scheduler pass: record and queue every due reminder. Returns rows handled."""
    return claim_due(
        ReminderSchedule.objects.all(),
        due="next_remind_at",
        now=now,
        handle=lambda ids: _handle_batch(_load(ids), now=now),
        batch_size=batch_size,
        max_batches=max_batches,
    )


# --- Check-ins -------------------------------------------------------------------------------


def ritual_check_in(
    *,
    ritual: Ritual,
    user,
    day: dt.date,
    status: str,
    note: str | None = None,
    feeling: str | None = None,
    now: dt.datetime | None = None,
) -> CheckIn:
    """Record (or change) one partner's answer for one occurrence.

    A check-in opens when the occurrence starts, not on the morning of its day. ``note``
    and ``feeling`` left at None keep what is already written: an answer from the e-mail
    adds to a check-in made on the page, it never erases it.
    """
    now = now or timezone.now()
    if user.space_id != ritual.space_id:
        raise RitualError("That ritual is not in your space.")
    if status not in CheckIn.Status.values:
        raise RitualError("Choose whether you kept it or skipped it.")
    if feeling and feeling not in CheckIn.Feeling.values:
        raise RitualError("Choose a feeling from the list.")
    if note is not None and len(note) > 500:
        raise RitualError("Keep the note under 500 characters.")
    occurrence = ritual.occurrence_on(day)
    if occurrence is None:
        raise RitualError("The ritual does not happen on that day.")
    if now < occurrence.at:
        opens = checkin_opens_text(occurrence.at, user, now=now)
        raise RitualError(f"That one has not started yet: you can check in from {opens}.")
    fields = {"space_id": ritual.space_id, "status": status}
    if note is not None:
        fields["note"] = note
    if feeling is not None:
        fields["feeling"] = feeling
    with transaction.atomic():
        check_in, _ = CheckIn.objects.update_or_create(
            ritual=ritual, occurrence=day, user=user, defaults=fields
        )
    return check_in


def checkin_opens_text(at: dt.datetime, user, *, now: dt.datetime) -> str:
    """When a check-in opens, in the person's zone: "21:30" today, else "Thursday 3 December,
    21:30"."""
    local = at.astimezone(get_zone(user.zone))
    if local.date() == now.astimezone(get_zone(user.zone)).date():
        return f"{local:%H:%M}"
    return f"{local:%A %-d %B, %H:%M}"


# --- Calendar feed -------------------------------------------------------------------------------


def calendar_feed_token(*, user, reset: bool = False) -> str:
    """The partner's secret feed token, created on first use; ``reset`` issues a new one."""
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
        if feed is None:
            feed = CalendarFeed.objects.create(user=user, token=secrets.token_urlsafe(32))
        elif reset:
            feed.token = secrets.token_urlsafe(32)
            feed.save(update_fields=["token", "created_at"])
    return feed.token
