from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.core.dates import same_day_in
from apps.core.models import TimeStampedModel
from apps.core.tz import is_valid_zone

MAX_MEMBERS = 2


class Space(TimeStampedModel):
    """A couple's shared home. Every space-owned row points here."""

    # A stable identity that an operator's export/import keeps (integer ids change):
    # the vault binds every letter's ciphertext to it.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=80)
    time_zone = models.CharField(max_length=64, default="UTC")
    anniversary = models.DateField(
        help_text="The day the letter vault opens every year.",
    )
    # The partner who last left, as the one who stays knew them, and when: the
    # dashboard tells the one who stays. Cleared when someone new joins.
    partner_left_name = models.CharField(max_length=60, blank=True)
    partner_left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="space_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def anniversary_in(self, year: int) -> dt.date:
        """This year's anniversary; 29 February falls on 28 February in common years."""
        return same_day_in(self.anniversary, year)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A partner. Signs in with an e-mail address; belongs to at most one space."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("e-mail address", max_length=254, unique=True)
    display_name = models.CharField(max_length=60, blank=True)
    # Blank means "the space's time zone".
    time_zone = models.CharField(max_length=64, blank=True)
    space = models.ForeignKey(
        Space, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    joined_space_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.email.split("@")[0]

    @property
    def zone(self) -> str:
        """The zone this partner sees times in: their own, else the space's, else UTC."""
        if self.time_zone and is_valid_zone(self.time_zone):
            return self.time_zone
        if self.space_id and is_valid_zone(self.space.time_zone):
            return self.space.time_zone
        return "UTC"


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        """Neither accepted nor withdrawn (expired ones included: withdrawing them is harmless)."""
        return self.filter(accepted_at=None, revoked_at=None)

    def usable_at(self, now: dt.datetime):
        """Invitations whose link still works at ``now``: the rule of ``Invitation.is_usable``."""
        return self.pending().filter(expires_at__gt=now)


class Invitation(TimeStampedModel):
    """A single-use link that lets one person join a space. Only the token's hash is kept."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["space", "accepted_at"])]

    def __str__(self) -> str:
        return f"Invitation to {self.email}"

    def is_usable(self, now: dt.datetime | None = None) -> bool:
        """Not accepted, not withdrawn, not expired (``InvitationQuerySet.usable_at`` in SQL)."""
        now = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now
