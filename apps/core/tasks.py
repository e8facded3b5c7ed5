import logging

from celery import shared_task
from django.db import transaction

logger = logging.getLogger(__name__)


@shared_task(name="apps.core.tasks.tick", ignore_result=True)
def tick() -> int:
    """Beat's one-minute tick: run every scheduler pass once."""
    from .scheduling import run_passes

    return sum(r.count for r in run_passes())


def queue_on_commit(task, *args) -> None:
    """Queue ``task`` after the current transaction commits, never blocking the page.

    If the broker is down the row the caller wrote is still there and the next
    tick picks the work up, so a failed publish is only logged.
    """

    def _send() -> None:
        try:
            task.apply_async(args=args, retry=False)
        except Exception:
            logger.warning(
                "Could not queue %s (broker unavailable?); the next tick picks it up",
                task.name,
                exc_info=True,
            )

    transaction.on_commit(_send)
