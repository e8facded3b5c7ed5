"""Thin tasks taking ids. The services import this module; it imports them only when a
task runs, so the two never import each other at load time."""

from celery import shared_task


@shared_task(name="apps.notifications.tasks.deliver_email", ignore_result=True)
def deliver_email(email_id: int) -> bool:
    """Send one outbox row. Failures are recorded on the row; the tick retries it."""
    from .services.delivery import email_deliver

    return email_deliver(email_id=email_id)


@shared_task(name="apps.notifications.tasks.deliver_emails", ignore_result=True)
def deliver_emails(email_ids: list[int]) -> int:
    """Send a batch of outbox rows queued together, over one SMTP connection."""
    from .services.delivery import email_deliver_many

    return email_deliver_many(email_ids=email_ids)
