"""Reads of the outbox that pages show."""

from __future__ import annotations

from .models import OutboundEmail


def failed_emails_for(*, user, limit: int = 5) -> list[OutboundEmail]:
    """The latest permanently failed e-mails of a partner, for their settings page."""
    return list(
        OutboundEmail.objects.filter(user=user, status=OutboundEmail.Status.FAILED).only(
            "to_email", "subject", "last_error", "created_at"
        )[:limit]
    )
