import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

from .scheduling import last_tick_age

logger = logging.getLogger(__name__)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        logger.warning("healthz: database check failed: %s", exc)
        return "unreachable"


def _check_broker() -> str:
    """Connect to the broker named in settings (short timeouts: a probe must not hang)."""
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
        return "ok"
    except Exception as exc:
        logger.warning("healthz: broker check failed: %s", exc)
        return "unreachable"


@never_cache
@require_safe
def healthz(request):
    """Database, broker and scheduler: non-200 when any of them is unwell."""
    database = _check_database()
    broker = _check_broker()
    age = last_tick_age() if database == "ok" else None
    scheduler = "ok"
    if database != "ok":
        scheduler = "unknown"
    elif age is None:
        scheduler = "never ran"
    elif age.total_seconds() > settings.SCHEDULER_MAX_AGE:
        scheduler = "late"
    healthy = database == broker == scheduler == "ok"
    body = {
        "status": "ok" if healthy else "unhealthy",
        "database": database,
        "broker": broker,
        "scheduler": scheduler,
        "last_tick_seconds_ago": None if age is None else int(age.total_seconds()),
    }
    return JsonResponse(body, status=200 if healthy else 503)
