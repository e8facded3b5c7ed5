"""Rituals: what a couple keeps together, when, who is reminded, and how it went."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import NamedTuple

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel
from apps.core.tz import get_zone, local_to_utc

from .recurrence import rule_near
from .reminding import DEFAULT_MINUTES, MAX_LEAD_MINUTES, Pref, Prefs, ReminderKind

logger = logging.getLogger(__name__)

# Dates one question may walk through (those before the asked-for day included): a
# monthly rule ten years old takes 120, so this only stops a rule that misbehaves.
MAX_STEPS = 50_000
# Occurrences looked at when searching for the next reminder before giving up.
SEARCH_LIMIT = 400


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

    def next_reminder(
        self,
        *,
        user,
        pref: Pref,
        now: dt.datetime,
        since_day: dt.date | None = None,
        after_day: dt.date | None = None,
        floor: dt.datetime | None = None,
    ) -> tuple[dt.date | None, dt.datetime | None]:
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
        if not self.is_active or pref.kind == ReminderKind.OFF:
            return None, None
        if user.space_id != self.space_id:
            return None, None
        if since_day is not None:
            start = local_to_utc(since_day, dt.time(0, 0), self.space.time_zone)
        else:
            start = now
        for i, occ in enumerate(self.occurrences_iter(start)):
            if i >= SEARCH_LIMIT:
                break
            if (
                (since_day is not None and occ.day < since_day)
                or (after_day is not None and occ.day <= after_day)
                or (floor is not None and occ.at < floor)  # began before the row counted
            ):
                continue
            when = pref.remind_at(occ.at, user.zone)
            if since_day is None:
                when = max(when, now)
            elif floor is not None:
                when = max(when, floor)
            return occ.day, when
        return None, None


class ReminderPreferenceQuerySet(models.QuerySet):
    def effective(self, *, user_ids: Iterable[int], ritual_ids: Iterable[int]) -> Prefs:
        """The choices that apply to these partners for these rituals, in one query."""
        rows = (
            self.filter(user_id__in=user_ids)
            .filter(Q(ritual__isnull=True) | Q(ritual_id__in=ritual_ids))
            .values_list("user_id", "ritual_id", "kind", "minutes_before")
        )
        return Prefs(rows)


class ReminderPreference(TimeStampedModel):
    """When a partner wants to hear about a ritual. ``ritual`` null = their default."""

    Kind = ReminderKind

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ritual_reminder_prefs"
    )
    ritual = models.ForeignKey(
        Ritual, null=True, blank=True, on_delete=models.CASCADE, related_name="preferences"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BEFORE)
    minutes_before = models.PositiveIntegerField(default=DEFAULT_MINUTES)

    objects = ReminderPreferenceQuerySet.as_manager()

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
                condition=Q(minutes_before__lte=MAX_LEAD_MINUTES), name="reminderpref_lead_bound"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind}"


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
    """A partner's secret calendar address (shown once when made; resettable)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ritual_feed"
    )
    # sha256 of the token in the address: the address itself is shown once, when made.
    token_hash = models.CharField(max_length=64, unique=True)
    # When the address was made or last reset.
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user_id}"
