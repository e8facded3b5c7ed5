"""Letters, kept encrypted until their opening day.

A letter's title and body are stored only as AES-GCM ciphertexts (see
``crypto.py``); every other column is metadata that the admin may show.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel

from . import crypto

TITLE_MAX = 200
BODY_MAX = 100_000

# "A letter is open" and "still sealed", once. In SQL as ``Q`` (for filters and for
# ``Count(filter=...)``) and as queryset methods; ``Letter.is_open_at`` is the same
# rule for one loaded row. Drafts are neither: they never open.
NOT_DRAFT = Q(status__in=["sealed", "opened"])


def open_at_q(now: dt.datetime) -> Q:
    """Sealed (or opened) and past its opening instant at ``now``."""
    return NOT_DRAFT & Q(opens_at__lte=now)


def sealed_at_q(now: dt.datetime) -> Q:
    """Sealed and its opening instant still ahead at ``now``."""
    return NOT_DRAFT & Q(opens_at__gt=now)


class LetterQuerySet(models.QuerySet):
    def not_drafts(self):
        return self.filter(NOT_DRAFT)

    def open_at(self, now: dt.datetime):
        return self.filter(open_at_q(now))

    def sealed_at(self, now: dt.datetime):
        return self.filter(sealed_at_q(now))


class Letter(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SEALED = "sealed", "Sealed"
        OPENED = "opened", "Opened"

    # A random id: it is bound into the ciphertext before the row exists, survives
    # an operator's export/import, and reveals nothing about how many letters a
    # space holds.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    space = models.ForeignKey("accounts.Space", on_delete=models.CASCADE, related_name="letters")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="letters_written"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="letters_received"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)

    # The envelope: which KEK wrapped the data key, the wrapped key, and the texts.
    key_id = models.CharField(max_length=32)
    wrapped_key = models.BinaryField()
    title_nonce = models.BinaryField()
    title_ciphertext = models.BinaryField()
    body_nonce = models.BinaryField()
    body_ciphertext = models.BinaryField()

    sealed_at = models.DateTimeField(null=True, blank=True)
    # 00:00 of the opening day in the space's zone at sealing time, as a UTC instant.
    opens_at = models.DateTimeField(null=True, blank=True)
    # That opening day as the space saw it (the year page groups by its year).
    opens_on = models.DateField(null=True, blank=True)
    # When the unlock pass opened it and e-mailed the partners.
    opened_at = models.DateTimeField(null=True, blank=True)

    objects = LetterQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "sealed", "opened"]),
                name="letter_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(author=models.F("recipient")),
                name="letter_not_to_self",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="draft", sealed_at=None, opens_at=None, opens_on=None, opened_at=None)
                    | Q(
                        status__in=["sealed", "opened"],
                        sealed_at__isnull=False,
                        opens_at__isnull=False,
                        opens_on__isnull=False,
                    )
                ),
                name="letter_sealed_has_opening",
            ),
            models.CheckConstraint(
                condition=~Q(status="opened") | Q(opened_at__isnull=False),
                name="letter_opened_has_opened_at",
            ),
            models.CheckConstraint(
                condition=Q(opens_at=None) | Q(opens_at__gt=models.F("sealed_at")),
                name="letter_opens_after_sealing",
            ),
            models.CheckConstraint(condition=~Q(key_id=""), name="letter_has_key_id"),
        ]
        indexes = [
            # The unlock pass's due-row lookup.
            models.Index(fields=["opens_at"], name="letter_due_idx", condition=Q(status="sealed")),
            models.Index(fields=["space", "opens_on"], name="letter_space_day_idx"),
            models.Index(fields=["author", "status"], name="letter_author_status_idx"),
        ]

    def __str__(self) -> str:
        # Never the title: this string shows up in the admin and its history.
        return f"Letter {self.pk} ({self.status})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    def is_open_at(self, now: dt.datetime) -> bool:
        """Past its opening instant (drafts never 'open'): ``open_at_q`` for one row."""
        return (
            self.status != self.Status.DRAFT and self.opens_at is not None and now >= self.opens_at
        )

    def binding(self) -> crypto.Binding:
        """What the texts are bound to, from the row as stored (and its space's uuid).

        Load letters with ``select_related("space")`` when reading several.
        """
        return crypto.Binding(
            letter_id=str(self.pk),
            space_uuid=str(self.space.uuid),
            opens_at=None if self.status == self.Status.DRAFT else self.opens_at,
        )

    def envelope(self) -> crypto.Sealed:
        return crypto.Sealed(
            key_id=self.key_id,
            wrapped_key=bytes(self.wrapped_key),
            title_nonce=bytes(self.title_nonce),
            title_ciphertext=bytes(self.title_ciphertext),
            body_nonce=bytes(self.body_nonce),
            body_ciphertext=bytes(self.body_ciphertext),
        )

    def set_envelope(self, sealed: crypto.Sealed) -> None:
        self.key_id = sealed.key_id
        self.wrapped_key = sealed.wrapped_key
        self.title_nonce = sealed.title_nonce
        self.title_ciphertext = sealed.title_ciphertext
        self.body_nonce = sealed.body_nonce
        self.body_ciphertext = sealed.body_ciphertext


class LetterRead(models.Model):
    """The first time a partner read an opened letter."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="letter_reads"
    )
    first_read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["letter", "user"], name="letter_read_once"),
        ]

    def __str__(self) -> str:
        return f"Letter {self.letter_id} read by {self.user_id}"


class OpeningPresence(models.Model):
    """'I'm here' on a year's opening page, for opening the letters together."""

    space = models.ForeignKey("accounts.Space", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    arrived_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["space", "year", "user"], name="opening_presence_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} is here for {self.year}"


class NudgeOptIn(models.Model):
    """A partner asked for a reminder to write, a few weeks before each opening day."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vault_nudge"
    )
    # When the next reminder is due; the pass finds due rows by this indexed instant.
    next_nudge_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["next_nudge_at"], name="vault_nudge_due_idx")]

    def __str__(self) -> str:
        return f"Vault nudge for {self.user_id}"
