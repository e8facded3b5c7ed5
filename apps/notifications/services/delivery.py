"""Delivery: due outbox rows are leased, rendered and sent, each outcome written back.

Claiming takes ``core.scheduling.due_ids``' lock (``FOR UPDATE SKIP LOCKED`` on the
due index), so several workers, or two beats started by mistake, never send one row
twice. It is not ``claim_due``, which handles every batch inside its transaction: the
outbox must commit each batch's lease *before* sending it (an SMTP conversation never
runs inside a transaction), and send a batch before claiming the next, so that a pass
that finds the server down stops claiming and leaves the rest to the next tick.

Per batch: the claim, the lease renewal and the opt-out check. Per message: the record
that the server accepted it, committed the moment it said so, so a worker killed at
any point leaves at most the one message in flight looking unsent, the only one that
can go out twice (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.scheduling import due_ids

from ..models import Category, OutboundEmail
from .preferences import opted_out
from .smtp import SEND_ERRORS, PermanentFailure, SmtpSession, classify

logger = logging.getLogger(__name__)

# A claimed row is someone's for this long; if its worker dies, the row comes back.
LEASE = dt.timedelta(minutes=5)
# A row about to be sent is renewed this far ahead, so its lease never runs out mid-send;
# a worker killed then leaves the row held this long at most.
LEASE_RENEWED = 2 * LEASE
BATCH_SIZE = 100
MAX_BACKOFF = dt.timedelta(hours=6)


def email_deliver(*, email_id: int, now: dt.datetime | None = None) -> bool:
    """Deliver one queued row now, if it is still due and nobody else holds it."""
    rows = _claim(now=now or timezone.now(), ids=[email_id], limit=1)
    if not rows:
        return False
    smtp = SmtpSession()
    try:
        return _send_rows(rows, smtp) == 1
    finally:
        smtp.close()


def email_deliver_many(*, email_ids: list[int], now: dt.datetime | None = None) -> int:
    """Deliver the given rows that are still due and free, in leased batches, over one
    connection (the task one ``email_enqueue_many`` call publishes). Returns rows sent."""
    now = now or timezone.now()
    wanted = list(dict.fromkeys(email_ids))
    sent = 0
    smtp = SmtpSession()
    try:
        for start in range(0, len(wanted), BATCH_SIZE):
            if smtp.unreachable:
                break
            chunk = wanted[start : start + BATCH_SIZE]
            rows = _claim(now=now, ids=chunk, limit=len(chunk))
            if rows:
                sent += _send_rows(rows, smtp)
    finally:
        smtp.close()
    return sent


def outbox_deliver_due(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """The scheduler pass: send every due row, in leased batches, over one connection."""
    now = now or timezone.now()
    sent = 0
    # Each row is tried at most once per pass, even when its backoff is already over.
    seen: set[int] = set()
    smtp = SmtpSession()
    try:
        while len(seen) < limit and not smtp.unreachable:
            rows = _claim(now=now, exclude=seen, limit=min(BATCH_SIZE, limit - len(seen)))
            if not rows:
                break
            seen.update(r.pk for r in rows)
            sent += _send_rows(rows, smtp)
    finally:
        smtp.close()
    # An unreachable server ends the pass: the rows not claimed yet wait for the next tick.
    return sent


def message_id(row: OutboundEmail) -> str:
    """The row's Message-ID, the same on every attempt: should a message go out twice
    (a worker killed between the server's "250" and the record of it), mail clients
    that fold messages by Message-ID show it once."""
    host = urlsplit(settings.SITE_URL).hostname or ""
    if not re.search(r"[a-z]", host) or "." not in host:
        host = str(DNS_NAME)  # an IP address or "localhost": the machine's name, as Django does
    return f"<keepsake.{row.pk}.{int(row.created_at.timestamp() * 1_000_000)}@{host}>"


class _Message(EmailMultiAlternatives):
    """A message whose MIME boundary is chosen up front, one not in its body: left to
    itself the email package compiles a fresh regex per message to find one, which
    was a tenth of delivery's time."""

    def message(self, *args, **kwargs):
        mime = super().message(*args, **kwargs)
        if mime.is_multipart():
            parts = (self.body, *(content for content, _ in self.alternatives))
            boundary = f"=====ks-{secrets.token_hex(12)}====="
            while any(boundary in part for part in parts):
                boundary = f"=====ks-{secrets.token_hex(12)}====="
            mime.set_boundary(boundary)
        return mime


def message_for(row: OutboundEmail) -> EmailMultiAlternatives:
    """The message a row stands for, its body rendered now if the row keeps a context."""
    text, html = row.body()
    message = _Message(
        subject=row.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to_email],
        headers={**row.headers, "X-Keepsake-Id": str(row.pk), "Message-ID": message_id(row)},
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def backoff(attempts: int) -> dt.timedelta:
    """How long a row waits after its ``attempts``-th failed attempt."""
    delay = dt.timedelta(seconds=settings.OUTBOX_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


def _claim(
    *,
    now: dt.datetime,
    ids: list[int] | None = None,
    exclude: set[int] | None = None,
    limit: int = BATCH_SIZE,
) -> list[OutboundEmail]:
    """Lease up to ``limit`` due rows to this caller, oldest first; other callers skip
    them. The lease is committed when this returns."""
    due = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING)
    if ids is not None:
        due = due.filter(pk__in=ids)
    if exclude:
        due = due.exclude(pk__in=exclude)
    with transaction.atomic():
        claimed = list(due_ids(due, due="next_attempt_at", now=now, limit=limit))
        if not claimed:
            return []
        lease = max(now, timezone.now()) + LEASE
        OutboundEmail.objects.filter(pk__in=claimed).update(next_attempt_at=lease)
        rows = {row.pk: row for row in OutboundEmail.objects.filter(pk__in=claimed)}
    return [rows[pk] for pk in claimed if pk in rows]


def _renew_leases(rows: list[OutboundEmail]) -> list[OutboundEmail]:
    """Renew this caller's lease on claimed rows before sending them; returns those kept.

    A lease runs out when a batch takes long (a slow server, many rows); another pass
    may then have claimed a row, which moved its ``next_attempt_at``. Only the rows
    still held at the lease we gave them are kept (and locked while renewed), so of two
    passes only one goes on with a row and it is never sent twice. The new lease is
    ``LEASE_RENEWED`` ahead, and ``_send_rows`` renews the rest of the batch again before
    any message could start with less than ``LEASE`` ahead.
    """
    if not rows:
        return []
    renewed = timezone.now() + LEASE_RENEWED
    ours: dict[int, dt.datetime] = {}
    by_lease: dict[dt.datetime, list[int]] = {}
    for row in rows:
        by_lease.setdefault(row.next_attempt_at, []).append(row.pk)
    with transaction.atomic():
        for held, ids in by_lease.items():
            kept = list(
                OutboundEmail.objects.filter(
                    pk__in=ids, status=OutboundEmail.Status.PENDING, next_attempt_at=held
                )
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
            )
            new = max(renewed, held)
            OutboundEmail.objects.filter(pk__in=kept).update(next_attempt_at=new)
            ours.update(dict.fromkeys(kept, new))
    kept_rows = []
    for row in rows:
        if row.pk in ours:
            row.next_attempt_at = ours[row.pk]
            kept_rows.append(row)
        else:
            logger.info("E-mail %s was taken over by another delivery pass; skipped", row.pk)
    return kept_rows


def _skip_opted_out(rows: list[OutboundEmail]) -> list[OutboundEmail]:
    """Mark rows whose partner opted out since they were queued as skipped (one lookup and
    one UPDATE for the batch); returns the rows still to send."""
    off = opted_out(
        user_ids={r.user_id for r in rows if r.user_id is not None},
        categories={r.category for r in rows},
    )
    skipped = {r.pk for r in rows if (r.user_id, r.category) in off}
    if not skipped:
        return rows
    OutboundEmail.objects.filter(pk__in=skipped, status=OutboundEmail.Status.PENDING).update(
        status=OutboundEmail.Status.SKIPPED
    )
    return [r for r in rows if r.pk not in skipped]


def _send_rows(rows: list[OutboundEmail], smtp: SmtpSession) -> int:
    """Send claimed rows over the session's connection; each outcome is written to its row."""
    rows = _skip_opted_out(_renew_leases(rows))
    sent = 0
    lost: set[int] = set()
    for index, row in enumerate(rows):
        if row.pk in lost:
            continue
        if row.next_attempt_at - timezone.now() < LEASE:
            # A slow batch: renew the rest before this message can outlive its lease.
            rest = [r for r in rows[index:] if r.pk not in lost]
            kept = {r.pk for r in _renew_leases(rest)}
            lost.update(r.pk for r in rest if r.pk not in kept)
            if row.pk in lost:
                continue
        try:
            smtp.open()
        except SEND_ERRORS as exc:
            # No server to talk to (refused, silent, TLS or login failed): this attempt
            # failed for every row of the batch; trying each in turn would only hold
            # the worker for one timeout per row. Even a 5xx here (a refused login) is
            # the host's setup, not the message: it stays temporary, so the mail goes
            # out once that is fixed.
            for rest in rows[index:]:
                if rest.pk not in lost:
                    _record_failure(rest, exc)
            smtp.reset()
            smtp.unreachable = True
            break
        try:
            message = message_for(row)
        except Exception as exc:  # one broken row (a template gone) must not stop the rest
            logger.exception("E-mail %s could not be rendered", row.pk)
            _record_failure(row, PermanentFailure(f"Could not be rendered: {exc}"))
            continue
        try:
            smtp.send(message)
        except SEND_ERRORS as exc:
            _record_failure(row, classify(exc))
            smtp.reset()
        else:
            _record_sent(row)
            sent += 1
    return sent


def _record_sent(row: OutboundEmail) -> None:
    """Mark one accepted message sent, committed at once (autocommit). An account
    e-mail's body goes: its links (an invitation, a password reset) are live secrets,
    and none may rest in the outbox once used (DESIGN.md)."""
    cleared = {}
    if row.category == Category.ACCOUNT:
        cleared = {"context": None, "stored_text": "", "stored_html": ""}
    OutboundEmail.objects.filter(pk=row.pk, status=OutboundEmail.Status.PENDING).update(
        status=OutboundEmail.Status.SENT,
        sent_at=timezone.now(),
        attempts=F("attempts") + 1,
        last_error="",
        **cleared,
    )


def _record_failure(row: OutboundEmail, error: Exception) -> None:
    attempts = row.attempts + 1
    text = f"{type(error).__name__}: {error}"[:2000]
    # Only while this caller still holds the row's lease.
    ours = OutboundEmail.objects.filter(
        pk=row.pk, status=OutboundEmail.Status.PENDING, next_attempt_at=row.next_attempt_at
    )
    if isinstance(error, PermanentFailure) or attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        logger.error("E-mail %s to %s failed for good: %s", row.pk, row.to_email, text)
        ours.update(status=OutboundEmail.Status.FAILED, attempts=attempts, last_error=text)
    else:
        logger.warning(
            "E-mail %s to %s failed (attempt %s), will retry: %s",
            row.pk,
            row.to_email,
            attempts,
            text,
        )
        ours.update(
            attempts=attempts,
            last_error=text,
            next_attempt_at=timezone.now() + backoff(attempts),
        )
