"""Rituals: what a couple keeps together, when, who is reminded, and how it went."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from itertools import islice
from typing import NamedTuple

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel
from apps.core.tz import get_zone, local_to_utc

from .recurrence import rule_near

logger = logging.getLogger(__name__)

# Dates one question may walk through (those before the asked-for day included): a
# monthly rule ten years old takes 120, so this only stops a rule that misbehaves.
MAX_STEPS = 50_000


class Occurrence(NamedTuple):
    """One occurrence: its local date in the space's zone and its UTC instant."""

    day: dt.date
    at: dt.datetime


class Ritual(TimeStampedModel):
    class Participation(models.TextChoices):
        BOTH = "both", "Both of us together"
        GIVES = "gives", "One partner gives to the other"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ARCHIVED = "archived", "Archived"

    space = models.ForeignKey("accounts.Space", on_delete=models.CASCADE, related_name="rituals")
    title = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    participation = models.CharField(
        max_length=10, choices=Participation.choices, default=Participation.BOTH
    )
    # With GIVES: who gives (the other partner receives).
    giver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # RFC 5545 RRULE (without DTSTART), applied to local dates from `starts_on`.
    rrule = models.CharField(max_length=500)
    # The friendly form's answers, so the form can be shown again as it was filled in.
    recurrence = models.JSONField(default=dict, blank=True)
    starts_on = models.DateField()
    time_of_day = models.TimeField(help_text="Wall-clock time in the space's time zone.")
    duration_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    is_conversation = models.BooleanField(default=False)
    library_key = models.CharField(max_length=40, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["time_of_day", "title"]
        indexes = [models.Index(fields=["space", "status"])]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="ritual_title_not_empty"),
            models.CheckConstraint(condition=~Q(rrule=""), name="ritual_rrule_not_empty"),
            models.CheckConstraint(
                condition=Q(duration_minutes__isnull=True)
                | Q(duration_minutes__gte=1, duration_minutes__lte=24 * 60),
                name="ritual_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def _dates(self, ref: dt.datetime) -> Iterator[dt.datetime]:
        """The rule's dates (naive local midnights) from ``ref`` on, in order.

        A rule that cannot be evaluated yields nothing (logged) rather than failing or
        hanging the page or the scheduler pass asking; no question walks more than
        ``MAX_STEPS`` dates.
        """
        try:
            rule = rule_near(self.rrule, self.starts_on, ref.date())
            for step, naive in enumerate(rule):
                if step >= MAX_STEPS:
                    logger.warning(
                        "Ritual %s: stopped after %s dates of %r", self.pk, step, self.rrule
                    )
                    return
                if naive >= ref:
                    yield naive
        except (ValueError, OverflowError) as exc:  # RuleError, or dateutil failing mid-way
            logger.warning(
                "Ritual %s: its rule %r cannot be evaluated: %s", self.pk, self.rrule, exc
            )

    def occurrences_between(
        self, start: dt.datetime, end: dt.datetime, *, zone: str | None = None
    ) -> list[Occurrence]:
        """Occurrences whose instant falls in [start, end), by the space's wall clock."""
        zone = zone or self.space.time_zone
        tz = get_zone(zone)
        # Local dates that could hold an instant in the range (a day of slack each side).
        first = (start.astimezone(tz) - dt.timedelta(days=1)).replace(tzinfo=None)
        last = (end.astimezone(tz) + dt.timedelta(days=1)).replace(tzinfo=None)
        first = dt.datetime.combine(first.date(), dt.time(0, 0))
        out = []
        for naive in self._dates(first):
            if naive > last:
                break
            at = local_to_utc(naive.date(), self.time_of_day, tz)
            if start <= at < end:
                out.append(Occurrence(naive.date(), at))
        return out

    def occurrences_iter(self, after: dt.datetime, *, zone: str | None = None):
        """Occurrences at or after ``after``, in order (lazy; ends with the rule, or after
        ``MAX_STEPS`` dates)."""
        zone = zone or self.space.time_zone
        tz = get_zone(zone)
        local = (after.astimezone(tz) - dt.timedelta(days=1)).replace(tzinfo=None)
        local = dt.datetime.combine(local.date(), dt.time(0, 0))
        for naive in self._dates(local):
            at = local_to_utc(naive.date(), self.time_of_day, tz)
            if at >= after:
                yield Occurrence(naive.date(), at)

    def occurrences_after(
        self, after: dt.datetime, *, count: int, zone: str | None = None
    ) -> list[Occurrence]:
        """The next ``count`` occurrences at or after ``after``."""
        return list(islice(self.occurrences_iter(after, zone=zone), count))

    def occurs_on(self, day: dt.date) -> bool:
        naive = dt.datetime.combine(day, dt.time(0, 0))
        return next(self._dates(naive), None) == naive

    def occurrence_on(self, day: dt.date, *, zone: str | None = None) -> Occurrence | None:
        if not self.occurs_on(day):
            return None
        return Occurrence(day, local_to_utc(day, self.time_of_day, zone or self.space.time_zone))

    def first_day(self) -> dt.date | None:
        """The first local date the ritual happens on (``starts_on`` need not be one)."""
        first = next(self._dates(dt.datetime.combine(self.starts_on, dt.time(0, 0))), None)
        return first.date() if first else None

    def days_between(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """Local occurrence dates from ``first`` to ``last`` inclusive."""
        lo = dt.datetime.combine(first, dt.time(0, 0))
        hi = dt.datetime.combine(last, dt.time(0, 0))
        out = []
        for naive in self._dates(lo):
            if naive > hi:
                break
            out.append(naive.date())
        return out


class ReminderPreference(TimeStampedModel):
    """When a partner wants to hear about a ritual. ``ritual`` null = their default."""

    class Kind(models.TextChoices):
        AT_TIME = "at_time", "At the time"
        BEFORE = "before", "Some minutes before"
        MORNING = "morning", "The morning of the day"
        OFF = "off", "No reminder"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ritual_reminder_prefs"
    )
    ritual = models.ForeignKey(
        Ritual, null=True, blank=True, on_delete=models.CASCADE, related_name="preferences"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BEFORE)
    minutes_before = models.PositiveIntegerField(default=30)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "ritual"],
                condition=Q(ritual__isnull=False),
                name="reminderpref_user_ritual",
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(ritual__isnull=True), name="reminderpref_user_default"
            ),
            models.CheckConstraint(
                condition=Q(minutes_before__lte=7 * 24 * 60), name="reminderpref_lead_bound"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind}"


MORNING = dt.time(8, 0)


def remind_at(kind: str, minutes_before: int, occurrence_at: dt.datetime, zone: str):
    """The instant to remind a partner in ``zone`` of an occurrence; None when off."""
    if kind == ReminderPreference.Kind.OFF:
        return None
    if kind == ReminderPreference.Kind.BEFORE:
        return occurrence_at - dt.timedelta(minutes=minutes_before)
    if kind == ReminderPreference.Kind.MORNING:
        day = occurrence_at.astimezone(get_zone(zone)).date()
        return min(local_to_utc(day, MORNING, zone), occurrence_at)
    return occurrence_at


class ReminderSchedule(models.Model):
    """The next reminder one partner gets for one ritual: the pass's due row."""

    ritual = models.ForeignKey(Ritual, on_delete=models.CASCADE, related_name="schedules")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ritual_schedules"
    )
    next_remind_at = models.DateTimeField(null=True, blank=True)
    next_occurrence = models.DateField(null=True, blank=True)
    # "space zone|user zone" the row was computed with; a change means recompute.
    zones = models.CharField(max_length=140, blank=True)
    # When this row started counting (a new ritual, a resume, a partner who joined): no
    # reminder of it is due earlier, so one whose instant fell before is due at once,
    # never "missed" for a lateness nobody caused. Null on rows from before the field.
    counting_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ritual", "user"], name="reminderschedule_ritual_user"),
        ]
        indexes = [
            models.Index(
                fields=["next_remind_at"],
                name="ritual_schedule_due_idx",
                condition=Q(next_remind_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.ritual_id}/{self.user_id} at {self.next_remind_at}"


class Reminder(models.Model):
    """One reminder per (ritual, occurrence, recipient): the idempotency key."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        MISSED = "missed", "Missed (too late to send)"

    ritual = models.ForeignKey(Ritual, on_delete=models.CASCADE, related_name="reminders")
    occurrence = models.DateField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ritual_reminders"
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    due_at = models.DateTimeField()
    question = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ritual", "occurrence", "recipient"], name="reminder_once_per_occurrence"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ritual_id} {self.occurrence} → {self.recipient_id}: {self.status}"


class QuestionUse(models.Model):
    """Which conversation questions a space has had, so none repeats before all are used."""

    space = models.ForeignKey("accounts.Space", on_delete=models.CASCADE, related_name="+")
    ritual = models.ForeignKey(Ritual, on_delete=models.CASCADE, related_name="+")
    occurrence = models.DateField()
    question = models.PositiveSmallIntegerField()
    cycle = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["space", "cycle", "question"], name="questionuse_once_per_cycle"
            ),
            models.UniqueConstraint(
                fields=["ritual", "occurrence"], name="questionuse_one_per_occurrence"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.space_id} question {self.question} (cycle {self.cycle})"


class CheckIn(TimeStampedModel):
    class Status(models.TextChoices):
        KEPT = "kept", "We did it"
        SKIPPED = "skipped", "Skipped this time"

    class Feeling(models.TextChoices):
        NONE = "", "—"
        CLOSE = "close", "Close"
        JOYFUL = "joyful", "Joyful"
        CALM = "calm", "Calm"
        TENDER = "tender", "Tender"
        TIRED = "tired", "Tired"
        DISTANT = "distant", "A bit distant"

    space = models.ForeignKey("accounts.Space", on_delete=models.CASCADE, related_name="+")
    ritual = models.ForeignKey(Ritual, on_delete=models.CASCADE, related_name="check_ins")
    occurrence = models.DateField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ritual_check_ins"
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    note = models.CharField(max_length=500, blank=True)
    feeling = models.CharField(max_length=10, choices=Feeling.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ritual", "occurrence", "user"], name="checkin_once_per_occurrence"
            ),
        ]
        indexes = [models.Index(fields=["space", "occurrence"])]

    def __str__(self) -> str:
        return f"{self.ritual_id} {self.occurrence} {self.user_id}: {self.status}"


class CalendarFeed(models.Model):
    """A partner's secret calendar address (shown on their calendar page; resettable)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ritual_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user_id}"
