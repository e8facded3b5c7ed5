"""Run the scheduler passes and remember when each ran.

Each pass is a short, idempotent function ``pass(now) -> int`` named in
``settings.SCHEDULED_PASSES``. One failing pass is logged and recorded, and the
others still run: a broken reminder must not stop letters from unlocking.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import PassRun

logger = logging.getLogger(__name__)

TICK = "tick"


@dataclass
class PassResult:
    name: str
    count: int = 0
    error: str = ""


def run_passes(*, now: dt.datetime | None = None) -> list[PassResult]:
    started = timezone.now()
    results = [run_pass(path, now=now) for path in settings.SCHEDULED_PASSES]
    _record(
        TICK,
        started=started,
        count=sum(r.count for r in results),
        error="; ".join(f"{r.name}: {r.error}" for r in results if r.error),
    )
    return results


def run_pass(path: str, *, now: dt.datetime | None = None) -> PassResult:
    started = timezone.now()
    result = PassResult(name=path)
    try:
        func = import_string(path)
        result.count = int(func(now=now or timezone.now()) or 0)
    except Exception as exc:  # one pass's failure must not stop the others
        logger.exception("Scheduler pass %s failed", path)
        result.error = f"{type(exc).__name__}: {exc}"[:1000]
        _drop_broken_connections()
    _record(path, started=started, count=result.count, error=result.error)
    return result


def _drop_broken_connections() -> None:
    """A connection the failed pass broke is replaced before the next pass.

    Only outside a transaction: inside one (a caller's ``atomic``, a test) Django
    would close the connection for being in a transaction and lose the caller's work.
    """
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


def _record(name: str, *, started: dt.datetime, count: int, error: str) -> None:
    finished = timezone.now()
    values = {
        "last_started_at": started,
        "last_finished_at": finished,
        "last_count": count,
        "last_error": error,
    }
    if not error:
        values["last_ok_at"] = finished
    try:
        PassRun.objects.update_or_create(name=name, defaults=values)
    except Exception:
        logger.exception("Could not record the run of %s", name)


def last_tick_age(now: dt.datetime | None = None) -> dt.timedelta | None:
    """How long ago the scheduler last ticked, or None if it never has."""
    last = PassRun.objects.filter(name=TICK).values_list("last_finished_at", flat=True).first()
    if last is None:
        return None
    return (now or timezone.now()) - last


def scheduler_is_late(now: dt.datetime | None = None) -> bool:
    age = last_tick_age(now)
    return age is None or age.total_seconds() > settings.SCHEDULER_MAX_AGE


# --- Claiming due rows ---------------------------------------------------------------------

CLAIM_BATCH = 200


def claim_due(
    queryset,
    *,
    due: str,
    now: dt.datetime,
    handle,
    batch_size: int = CLAIM_BATCH,
    max_batches: int = 1000,
) -> int:
    """Drain the rows of ``queryset`` whose ``due`` timestamp is at or before ``now``, in
    batches, and return how many were handled. Every scheduled pass is written with it.

    Each batch runs in its own transaction: the ids of up to ``batch_size`` due rows,
    oldest first, are locked with ``SELECT … FOR UPDATE SKIP LOCKED`` (no joins, so the
    plan stays a range scan on the ``due`` index, and rows another worker holds are
    skipped, never waited for), then ``handle(ids)`` loads what it needs and does the
    work in that same transaction. ``handle`` must move each row out of the due range
    (advance, clear or lease it) or the row comes back in the next batch; ``max_batches``
    bounds a handler that forgets. Several workers, or two beats by mistake, never
    handle one row twice.
    """
    handled = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(due_ids(queryset, due=due, now=now, limit=batch_size))
            if not ids:
                break
            handle(ids)
        handled += len(ids)
    return handled


def due_ids(queryset, *, due: str, now: dt.datetime, limit: int):
    """``claim_due``'s lock: the ids of up to ``limit`` due rows, oldest first, locked,
    rows another transaction holds skipped (evaluate it inside a transaction)."""
    return (
        queryset.filter(**{f"{due}__isnull": False, f"{due}__lte": now})
        .select_for_update(skip_locked=True, of=("self",))
        .order_by(due)
        .values_list("pk", flat=True)[:limit]
    )
