from celery import shared_task

from . import services


@shared_task(name="apps.notifications.tasks.deliver_email", ignore_result=True)
def deliver_email(email_id: int) -> bool:
    """Send one outbox row. Failures are recorded on the row; the tick retries it."""
    return services.email_deliver(email_id=email_id)


@shared_task(name="apps.notifications.tasks.deliver_emails", ignore_result=True)
def deliver_emails(email_ids: list[int]) -> int:
    """Send a batch of outbox rows queued together, over one SMTP connection."""
    return services.email_deliver_many(email_ids=email_ids)
