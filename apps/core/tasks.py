import logging
import threading

from celery import shared_task
from django.db import transaction

logger = logging.getLogger(__name__)


@shared_task(name="apps.core.tasks.tick", ignore_result=True)
def tick() -> int:
    """Beat's one-minute tick: run every scheduler pass once."""
    from .scheduling import run_passes

    return sum(r.count for r in run_passes())


# How long a page waits for a publish. A refused broker fails in milliseconds; a hung one
# (accepting, never answering) would hold the page up to the transport's socket_timeout.
PUBLISH_WAIT_SECONDS = 0.5


def queue_on_commit(task, *args) -> None:
    """Queue ``task`` after the current transaction commits, never blocking the page.

    If the broker is down the row the caller wrote is still there and the next
    tick picks the work up, so a failed publish is only logged. The publish runs on
    a short-lived thread the caller waits for at most ``PUBLISH_WAIT_SECONDS``; a
    slower one finishes (or fails) on its own. Eager mode (the tests' settings) runs
    the task inline, as before: it needs this thread's database connection.
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

    def _publish() -> None:
        if task.app.conf.task_always_eager:
            _send()
            return
        publisher = threading.Thread(target=_send, name=f"publish {task.name}", daemon=True)
        publisher.start()
        publisher.join(PUBLISH_WAIT_SECONDS)
        if publisher.is_alive():
            logger.warning(
                "The broker has not answered for %.1f s; not waiting to queue %s "
                "(the next tick picks it up if it never arrives)",
                PUBLISH_WAIT_SECONDS,
                task.name,
            )

    transaction.on_commit(_publish)
