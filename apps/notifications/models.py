from django.conf import settings
from django.db import models
from django.utils import timezone


class Category(models.TextChoices):
    """What an e-mail is about; a partner can turn off every category but ACCOUNT."""

    ACCOUNT = "account", "Account, sign-in and invitations"
    REMINDERS = "reminders", "Ritual reminders"
    JOURNAL = "journal", "Journal nudges and weekly digest"
    VAULT = "vault", "Letter vault: nudges and opening day"


OPTIONAL_CATEGORIES = [c for c in Category if c != Category.ACCOUNT]


class EmailOptOut(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_opt_outs"
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "category"], name="optout_user_category"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} opted out of {self.category}"


class OutboundEmail(models.Model):
    """One e-mail on its way out. The dedupe key makes queueing idempotent.

    A row holds its body in one of two ways. Most rows keep ``template`` and a JSON
    ``context`` and are rendered when delivered (and whenever someone looks), so the
    reminder pass only inserts rows. A row whose ``context`` is NULL keeps its rendered
    parts and is sent as it is: a message someone else rendered (allauth's), a one-off
    e-mail whose context held model instances, and every row queued before 0002.
    ``body_text`` and ``body_html`` read either way.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (unsubscribed)"

    dedupe_key = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbound_emails",
    )
    to_email = models.EmailField(max_length=254)
    category = models.CharField(max_length=20, choices=Category.choices)
    template = models.CharField(max_length=100)
    context = models.JSONField(null=True, blank=True, default=None)
    # Rendered when queued either way: short, and what lists and the settings page show.
    subject = models.CharField(max_length=255)
    # The rendered parts of a row without a context (the columns kept their names).
    stored_text = models.TextField("text part", db_column="body_text", blank=True)
    stored_html = models.TextField("HTML part", db_column="body_html", blank=True)
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The delivery pass's due-row lookup.
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due_idx",
                condition=models.Q(status="pending"),
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.template} to {self.to_email} ({self.status})"

    def body(self) -> tuple[str, str]:
        """(text part, HTML part): rendered from the context, or as stored."""
        if self.context is None:
            return self.stored_text, self.stored_html
        # Imported here: the services import this module.
        from .services.rendering import body_render

        return body_render(self.template, self.context)

    @property
    def body_text(self) -> str:
        return self.body()[0]

    @body_text.setter
    def body_text(self, value: str) -> None:
        self.stored_text = value

    @property
    def body_html(self) -> str:
        return self.body()[1]

    @body_html.setter
    def body_html(self, value: str) -> None:
        self.stored_html = value
