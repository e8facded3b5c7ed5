"""The gratitude journal: entries, the partner's appreciation, per-partner settings.

Privacy is read in one place (``selectors.entries_visible_to``); these models only
hold the data and the invariants the database can check.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

from apps.core.models import TimeStampedModel

ENTRY_MAX_CHARS = 5000
REPLY_MAX_CHARS = 280


class Entry(TimeStampedModel):
    """One partner's note of something they are grateful for, on a day of their own zone."""

    space = models.ForeignKey(
        "accounts.Space", on_delete=models.CASCADE, related_name="journal_entries"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="journal_entries"
    )
    text = models.TextField()
    about_partner = models.BooleanField(
        "About my partner",
        default=False,
        help_text="Something your partner did or is.",
    )
    # The author's local date when the entry was written (never recomputed).
    day = models.DateField()
    # Key into apps.journal.prompts.PROMPTS; blank when written without a prompt.
    prompt_key = models.CharField(max_length=40, blank=True)
    is_private = models.BooleanField(
        "Keep private",
        default=False,
        help_text="Only you will see it. You can share it later.",
    )

    class Meta:
        ordering = ["-day", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["space", "-day", "-created_at"], name="journal_entry_space_day"),
            models.Index(fields=["author", "-created_at"], name="journal_entry_author"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(text=""), name="journal_entry_text_set"),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), ENTRY_MAX_CHARS),
                name="journal_entry_text_max",
            ),
        ]
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return f"Entry {self.pk} by {self.author_id} on {self.day}"


class Appreciation(TimeStampedModel):
    """The partner's answer to an entry: a heart and/or a short reply.

    One per entry and partner (a unique constraint): answering again replaces the
    reply, so a replayed form changes nothing and never makes a second row.
    """

    space = models.ForeignKey("accounts.Space", on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="appreciations")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="journal_appreciations"
    )
    heart = models.BooleanField(default=True)
    reply = models.CharField(max_length=REPLY_MAX_CHARS, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "from_user"], name="journal_appreciation_once"
            ),
            models.CheckConstraint(
                condition=models.Q(heart=True) | ~models.Q(reply=""),
                name="journal_appreciation_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"Appreciation of entry {self.entry_id} by {self.from_user_id}"


class JournalProfile(models.Model):
    """A partner's journal settings and their "last visit" marker."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="journal_profile"
    )
    # Entries and replies newer than this are marked "new" on the next visit.
    last_visit_at = models.DateTimeField(null=True, blank=True)
    # Opt-in nudges: a bitmask of weekdays (Monday = 1, Sunday = 64) at a local time.
    nudge_weekdays = models.PositiveSmallIntegerField(default=0)
    nudge_time = models.TimeField(null=True, blank=True)
    next_nudge_at = models.DateTimeField(null=True, blank=True)
    # Opt-in weekly digest of the partner's shared entries.
    digest_enabled = models.BooleanField(default=False)
    next_digest_at = models.DateTimeField(null=True, blank=True)
    # Where the last digest's week ended: the next one starts there, so a time-zone
    # change (which moves the digest by hours) neither skips nor repeats an entry.
    digest_covered_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The scheduler pass's due-row lookups.
            models.Index(
                fields=["next_nudge_at"],
                name="journal_nudge_due",
                condition=models.Q(next_nudge_at__isnull=False),
            ),
            models.Index(
                fields=["next_digest_at"],
                name="journal_digest_due",
                condition=models.Q(next_digest_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(nudge_weekdays__lte=127), name="journal_nudge_weekdays_mask"
            ),
        ]

    def __str__(self) -> str:
        return f"Journal settings of {self.user_id}"

    @property
    def weekdays(self) -> list[int]:
        """The nudge weekdays as Python weekday numbers (Monday = 0)."""
        return [d for d in range(7) if self.nudge_weekdays & (1 << d)]

    @property
    def nudges_on(self) -> bool:
        return bool(self.nudge_weekdays) and self.nudge_time is not None
