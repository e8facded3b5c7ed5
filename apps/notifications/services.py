"""The outbox: every e-mail is a row first, then delivered with retries.

Queueing is idempotent through ``dedupe_key``; delivery claims due rows with
``SELECT … FOR UPDATE SKIP LOCKED`` and leases them, so several workers (or two
beats started by mistake) never send one row twice.

Both work in batches where it pays: ``email_enqueue_many`` queues many rows in a fixed
number of queries (the reminder pass uses it), and delivery renews leases, checks
opt-outs and records sent rows once per batch, not once per row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import smtplib
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME
from django.db import IntegrityError, connection, transaction
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape

from apps.core.tasks import queue_on_commit

from .models import Category, EmailOptOut, OutboundEmail

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "keepsake.notifications.unsubscribe"
UNSUBSCRIBE_MAX_AGE = dt.timedelta(days=365)
# A claimed row is someone's for this long; if its worker dies, the row comes back.
LEASE = dt.timedelta(minutes=5)
# A row about to be sent is renewed this far ahead, so its lease never runs out mid-send;
# a worker killed then leaves the row held this long at most.
LEASE_RENEWED = 2 * LEASE
BATCH_SIZE = 100
MAX_BACKOFF = dt.timedelta(hours=6)


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying will not help."""


# --- Preferences and unsubscribe tokens -------------------------------------------------


def is_subscribed(*, user, category: str) -> bool:
    if category == Category.ACCOUNT:
        return True
    return not EmailOptOut.objects.filter(user=user, category=category).exists()


def preferences_set(*, user, enabled: Iterable[str]) -> None:
    """Keep exactly the optional categories in ``enabled``; opt out of the rest."""
    enabled = set(enabled)
    with transaction.atomic():
        for category in Category:
            if category == Category.ACCOUNT:
                continue
            if category in enabled:
                EmailOptOut.objects.filter(user=user, category=category).delete()
            else:
                EmailOptOut.objects.get_or_create(user=user, category=category)


def unsubscribe_token(*, user_id: int, category: str) -> str:
    return signing.dumps({"u": user_id, "c": category}, salt=UNSUBSCRIBE_SALT, compress=True)


class BatchSigner(signing.TimestampSigner):
    """``signing.dumps(obj, salt=salt, compress=True)`` for many objects in a row: the
    same tokens (``signing.loads`` reads them as ever), with the HMAC key derived once
    per instance instead of once per token. Signing with a fallback key (only done when
    reading) goes the usual way."""

    def __init__(self, *, salt: str) -> None:
        super().__init__(salt=salt)
        hasher = getattr(hashlib, self.algorithm)
        derived = hasher((self.salt + "signer").encode() + signing.force_bytes(self.key)).digest()
        self._mac = hmac.new(derived, digestmod=hasher)

    def signature(self, value, key=None):
        if key is not None and key != self.key:
            return super().signature(value, key)
        mac = self._mac.copy()
        mac.update(signing.force_bytes(value))
        return signing.b64_encode(mac.digest()).decode()

    def dumps(self, obj) -> str:
        """``sign_object(obj, compress=True)`` written out (the same steps, without the
        serializer and method calls in between)."""
        data = json.dumps(obj, separators=(",", ":")).encode("latin-1")
        compressed = zlib.compress(data)
        if len(compressed) < len(data) - 1:
            value = "." + signing.b64_encode(compressed).decode()
        else:
            value = signing.b64_encode(data).decode()
        value = f"{value}{self.sep}{signing.b62_encode(int(time.time()))}"
        mac = self._mac.copy()
        mac.update(value.encode())
        return f"{value}{self.sep}{signing.b64_encode(mac.digest()).decode()}"


def unsubscribe_token_read(token: str) -> tuple[int, str]:
    """The (user id, category) a token stands for; raises ``signing.BadSignature``.

    Links expire after ``UNSUBSCRIBE_MAX_AGE``: long enough for any e-mail someone
    still reads, short enough that a leaked old mail is not a key for ever.
    """
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    if (
        not isinstance(data, dict)
        or data.get("c") not in Category.values
        or not isinstance(data.get("u"), int)
    ):
        raise signing.BadSignature("Malformed unsubscribe token")
    if data["c"] == Category.ACCOUNT:
        raise signing.BadSignature("Account e-mails cannot be unsubscribed from")
    return data["u"], data["c"]


def unsubscribe(*, user_id: int, category: str) -> bool:
    """Opt a user out of one category. True if the user exists."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return False
    EmailOptOut.objects.get_or_create(user=user, category=category)
    return True


def unsubscribe_url(*, user_id: int, category: str) -> str:
    token = unsubscribe_token(user_id=user_id, category=category)
    return settings.SITE_URL + reverse("notifications:unsubscribe", args=[token])


# --- Queueing ------------------------------------------------------------------------------


def email_enqueue(
    *,
    to_email: str,
    template: str,
    context: dict,
    dedupe_key: str,
    category: str,
    user=None,
) -> OutboundEmail:
    """Render ``templates/emails/<template>_*`` and queue it once per ``dedupe_key``.

    Returns the existing row when the key was queued before. A partner who turned
    the category off gets a row marked skipped, so the pass does not retry it.
    """
    existing = OutboundEmail.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing

    ctx = {"site_url": settings.SITE_URL, "site_name": settings.SITE_NAME, "user": user, **context}
    headers = {}
    if user is not None and category != Category.ACCOUNT:
        url = unsubscribe_url(user_id=user.pk, category=category)
        ctx["unsubscribe_url"] = url
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", ctx).split())
    body_text = render_to_string(f"emails/{template}_message.txt", ctx)
    body_html = render_to_string(f"emails/{template}_message.html", ctx)

    status = OutboundEmail.Status.PENDING
    if user is not None and not is_subscribed(user=user, category=category):
        status = OutboundEmail.Status.SKIPPED
    return _insert(
        dedupe_key=dedupe_key,
        user=user,
        to_email=to_email,
        category=category,
        template=template,
        subject=subject[:255],
        body_text=body_text,
        body_html=body_html,
        headers=headers,
        status=status,
    )


@dataclass(frozen=True)
class EmailItem:
    """One e-mail for ``email_enqueue_many``: the same fields as ``email_enqueue`` takes,
    plus ``fill``: texts that differ from one recipient to the next.

    Without ``fill`` each message is rendered on its own, exactly as ``email_enqueue``
    does. With it, the templates are rendered once per group of items that share the
    template, ``context``, which ``fill`` texts are empty, and whether an unsubscribe
    link goes in; each message then gets its own texts put in, escaped as the template
    would have escaped them. So a ``fill`` name must only appear in the templates as a
    plain ``{{ name }}`` or ``{% if name %}`` (no filters, no comparisons), and with
    ``fill`` the context holds no ``user``. A dotted name (``"ritual.title"``) is an
    attribute of a context object. ``context`` values must then be hashable.
    """

    to_email: str
    template: str
    context: dict
    dedupe_key: str
    category: str
    user: Any = None
    fill: dict[str, str] | None = None


# An address ``sanitize_address`` would return unchanged.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(\.{_ATEXT})*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
# A fill marker holds "&" so the rendering shows whether that spot was escaped ("&amp;")
# or not (``autoescape off``, ``|safe``): each spot gets its text the same way.
_FILL = re.compile("\ue000(\\d+)(&amp;|&)\ue001")


def _fill_context(names: tuple[str, ...], empty: frozenset[str]) -> dict:
    """A context with a numbered marker for each non-empty fill name ("" for the empty)."""
    ctx: dict = {}
    for n, name in enumerate(names):
        value = "" if name in empty else f"\ue000{n}&\ue001"
        head, _, attr = name.partition(".")
        if attr:
            ctx.setdefault(head, SimpleNamespace()).__dict__[attr] = value
        else:
            ctx[name] = value
    return ctx


class _Renderer:
    """Templates compiled once per call; renderings shared by items that allow it."""

    def __init__(self) -> None:
        self.templates: dict[str, tuple] = {}
        self.shared: dict[tuple, tuple[str, str, str]] = {}
        self.signer = BatchSigner(salt=UNSUBSCRIBE_SALT)
        marker = "~token~"
        self.unsubscribe_prefix, _, self.unsubscribe_suffix = (
            settings.SITE_URL + reverse("notifications:unsubscribe", args=[marker])
        ).partition(marker)

    def parts(self, template: str) -> tuple:
        found = self.templates.get(template)
        if found is None:
            found = self.templates[template] = tuple(
                get_template(f"emails/{template}_{part}")
                for part in ("subject.txt", "message.txt", "message.html")
            )
        return found

    def unsubscribe_url(self, *, user_id: int, category: str) -> str:
        token = self.signer.dumps({"u": user_id, "c": category})
        return f"{self.unsubscribe_prefix}{token}{self.unsubscribe_suffix}"

    def render(self, item: EmailItem, base: dict, unsubscribe: str) -> tuple[str, str, str]:
        """(subject, text, html) of one item."""
        templates = self.parts(item.template)
        if item.fill is None:
            ctx = {**base, "user": item.user, **item.context}
            if unsubscribe:
                ctx["unsubscribe_url"] = unsubscribe
            return tuple(t.render(ctx) for t in templates)
        fill = {**item.fill, "unsubscribe_url": unsubscribe}
        names = tuple(sorted(fill))
        empty = frozenset(name for name in names if not fill[name])
        key = (item.template, tuple(sorted(item.context.items())), names, empty)
        shared = self.shared.get(key)
        if shared is None:
            ctx = {**base, **item.context, **_fill_context(names, empty)}
            shared = self.shared[key] = tuple(_split(t.render(ctx)) for t in templates)
        values = [fill[name] for name in names]
        escaped: dict[int, str] = {}  # escaped once, when a spot asks for it
        out = []
        for literals, spots in shared:
            pieces = [literals[0]]
            for (n, escape), literal in zip(spots, literals[1:], strict=True):
                if not escape:
                    pieces.append(str(values[n]))
                else:
                    found = escaped.get(n)
                    if found is None:
                        found = escaped[n] = str(conditional_escape(values[n]))
                    pieces.append(found)
                pieces.append(literal)
            out.append("".join(pieces))
        return tuple(out)


def _split(rendered: str) -> tuple[tuple[str, ...], tuple[tuple[int, bool], ...]]:
    """A rendering with fill markers as (the texts around them, (fill number, escaped?) of
    each marker): filling in is then a join, not a regex pass over the whole body."""
    parts = _FILL.split(rendered)
    literals = tuple(parts[0::3])
    spots = tuple((int(n), amp == "&amp;") for n, amp in zip(parts[1::3], parts[2::3], strict=True))
    return literals, spots


def email_enqueue_many(items: Iterable[EmailItem]) -> list[OutboundEmail]:
    """Queue many e-mails at once; the same outcome as ``email_enqueue`` for each item.

    A fixed number of queries whatever the number of items: the keys already queued
    and the opt-outs are read once, the new rows go in with one multi-row INSERT that
    leaves a key someone queued meanwhile to that row, and one delivery task is
    published after commit for the whole lot (the outbox pass retries anything it
    misses). Returns the rows this call added (``pk``, ``dedupe_key``, ``status``).
    """
    wanted: dict[str, EmailItem] = {}
    for item in items:
        wanted.setdefault(item.dedupe_key, item)  # the first item with a key wins
    if not wanted:
        return []
    existing = set(
        OutboundEmail.objects.filter(dedupe_key__in=list(wanted)).values_list(
            "dedupe_key", flat=True
        )
    )
    fresh = [item for key, item in wanted.items() if key not in existing]
    if not fresh:
        return []
    user_ids = {i.user.pk for i in fresh if i.user is not None and i.category != Category.ACCOUNT}
    opted_out = (
        set(
            EmailOptOut.objects.filter(
                user_id__in=user_ids, category__in={i.category for i in fresh}
            ).values_list("user_id", "category")
        )
        if user_ids
        else set()
    )
    base = {"site_url": settings.SITE_URL, "site_name": settings.SITE_NAME}
    renderer = _Renderer()
    rows = []
    for item in fresh:
        user = item.user
        headers = {}
        unsubscribe = ""
        if user is not None and item.category != Category.ACCOUNT:
            unsubscribe = renderer.unsubscribe_url(user_id=user.pk, category=item.category)
            headers["List-Unsubscribe"] = f"<{unsubscribe}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        subject, body_text, body_html = renderer.render(item, base, unsubscribe)
        skipped = user is not None and (user.pk, item.category) in opted_out
        rows.append(
            OutboundEmail(
                dedupe_key=item.dedupe_key,
                user=user,
                to_email=item.to_email,
                category=item.category,
                template=item.template,
                subject=" ".join(subject.split())[:255],
                body_text=body_text,
                body_html=body_html,
                headers=headers,
                status=OutboundEmail.Status.SKIPPED if skipped else OutboundEmail.Status.PENDING,
            )
        )
    # A key queued by someone else between the read above and this INSERT keeps that
    # row (ON CONFLICT DO NOTHING), exactly as ``_insert`` does one row at a time.
    _insert_many(rows)
    # ignore_conflicts returns no ids: read back which of the keys are rows of this call
    # (the ones not there before; a concurrent winner counts as ours at worst, which only
    # costs a delivery task that finds nothing to do).
    added = list(
        OutboundEmail.objects.filter(dedupe_key__in=[r.dedupe_key for r in rows]).only(
            "pk", "dedupe_key", "status"
        )
    )
    pending = [r.pk for r in added if r.status == OutboundEmail.Status.PENDING]
    if pending:
        from .tasks import deliver_emails

        queue_on_commit(deliver_emails, pending)
    return added


# Columns of the PostgreSQL multi-row INSERT, each with its array type.
_INSERT_COLUMNS = (
    ("dedupe_key", "text"),
    ("user_id", "bigint"),
    ("to_email", "text"),
    ("category", "text"),
    ("template", "text"),
    ("subject", "text"),
    ("body_text", "text"),
    ("body_html", "text"),
    ("headers", "jsonb"),
    ("status", "text"),
    ("attempts", "smallint"),
    ("next_attempt_at", "timestamptz"),
    ("last_error", "text"),
    ("created_at", "timestamptz"),
    ("sent_at", "timestamptz"),
)


def _insert_many(rows: list[OutboundEmail]) -> None:
    """``bulk_create(rows, ignore_conflicts=True)``. On PostgreSQL one ``INSERT … SELECT
    FROM unnest(…) ON CONFLICT DO NOTHING`` whose arrays go to the server as binary
    parameters: Django's own ``unnest`` INSERT quotes every body into an array literal
    in Python, which cost more than the rest of the reminder pass's e-mail work."""
    if connection.vendor != "postgresql" or not rows:
        OutboundEmail.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        return
    import psycopg

    now = timezone.now()
    for row in rows:
        row.created_at = now
    columns = {
        name: [getattr(row, name) for row in rows]
        for name, _ in _INSERT_COLUMNS
        if name != "headers"
    }
    # jsonb travels as text and is cast on the server (the same JSON Django would store).
    columns["headers"] = [json.dumps(row.headers) for row in rows]
    table = connection.ops.quote_name(OutboundEmail._meta.db_table)
    names = ", ".join(connection.ops.quote_name(name) for name, _ in _INSERT_COLUMNS)
    arrays = ", ".join(
        "%b::text[]" if kind == "jsonb" else f"%b::{kind}[]" for _, kind in _INSERT_COLUMNS
    )
    select = ", ".join(
        f"v.{name}::jsonb" if kind == "jsonb" else f"v.{name}" for name, kind in _INSERT_COLUMNS
    )
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {select} "  # noqa: S608
        f"FROM unnest({arrays}) AS v({', '.join(name for name, _ in _INSERT_COLUMNS)}) "
        "ON CONFLICT DO NOTHING"
    )
    connection.ensure_connection()
    # A server-side binding cursor for this one statement, wrapped as Django wraps its own
    # (so query logging and counting see it).
    with connection._prepare_cursor(psycopg.Cursor(connection.connection)) as cursor:
        cursor.execute(sql, [columns[name] for name, _ in _INSERT_COLUMNS])


def email_enqueue_message(
    *,
    message: EmailMessage,
    dedupe_key: str,
    template: str,
    category=Category.ACCOUNT,
    user=None,
) -> OutboundEmail:
    """Queue a message something else rendered (allauth's sign-in e-mails)."""
    html = ""
    if isinstance(message, EmailMultiAlternatives):
        html = next((c for c, mime in message.alternatives if mime == "text/html"), "")
    if message.content_subtype == "html":
        html, text = message.body, ""
    else:
        text = message.body
    return _insert(
        dedupe_key=dedupe_key,
        user=user,
        to_email=message.to[0],
        category=category,
        template=template,
        subject=message.subject[:255],
        body_text=text,
        body_html=html,
        headers={},
        status=OutboundEmail.Status.PENDING,
    )


def _insert(**fields) -> OutboundEmail:
    try:
        with transaction.atomic():
            row = OutboundEmail.objects.create(**fields)
    except IntegrityError:
        # Queued concurrently under the same key: that row wins.
        return OutboundEmail.objects.get(dedupe_key=fields["dedupe_key"])
    if row.status == OutboundEmail.Status.PENDING:
        from .tasks import deliver_email

        queue_on_commit(deliver_email, row.pk)
    return row


# --- Delivery -------------------------------------------------------------------------------


def _claim(
    *,
    now: dt.datetime,
    ids: list[int] | None = None,
    exclude: set[int] | None = None,
    limit: int = BATCH_SIZE,
):
    """Lease up to ``limit`` due rows to this caller; other callers skip them."""
    with transaction.atomic():
        qs = OutboundEmail.objects.filter(
            status=OutboundEmail.Status.PENDING, next_attempt_at__lte=now
        )
        if ids is not None:
            qs = qs.filter(pk__in=ids)
        if exclude:
            qs = qs.exclude(pk__in=exclude)
        rows = list(
            qs.select_for_update(skip_locked=True, of=("self",)).order_by("next_attempt_at")[:limit]
        )
        if rows:
            lease = max(now, timezone.now()) + LEASE
            OutboundEmail.objects.filter(pk__in=[r.pk for r in rows]).update(next_attempt_at=lease)
            for row in rows:
                row.next_attempt_at = lease
    return rows


def _renew_leases(rows: list[OutboundEmail]) -> list[OutboundEmail]:
    """Renew this caller's lease on claimed rows before sending them; returns those kept.

    A lease runs out when a batch takes long (a slow server, many rows); another pass
    may then have claimed a row, which moved its ``next_attempt_at``. One conditional
    ``UPDATE … RETURNING`` keeps exactly the rows still held at the lease we gave them,
    so of two passes only one goes on with a row and it is never sent twice. The new
    lease is ``LEASE_RENEWED`` ahead, and ``_send_rows`` renews the rest of the batch again
    before any message could start with less than ``LEASE`` ahead: each send keeps the
    margin the former row-by-row renewal gave it, for one query per batch, not per row.
    """
    if not rows:
        return []
    renewed = timezone.now() + LEASE_RENEWED
    kept: list[OutboundEmail] = []
    by_lease: dict[dt.datetime, list[OutboundEmail]] = {}
    for row in rows:
        by_lease.setdefault(row.next_attempt_at, []).append(row)
    table = connection.ops.quote_name(OutboundEmail._meta.db_table)
    for held, group in by_lease.items():
        new = max(renewed, held)
        ids = [row.pk for row in group]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET next_attempt_at = %s "  # noqa: S608 (no user input)
                f"WHERE id IN ({', '.join(['%s'] * len(ids))}) "
                "AND status = %s AND next_attempt_at = %s RETURNING id",
                [
                    connection.ops.adapt_datetimefield_value(new),
                    *ids,
                    OutboundEmail.Status.PENDING,
                    connection.ops.adapt_datetimefield_value(held),
                ],
            )
            ours = {pk for (pk,) in cursor.fetchall()}
        for row in group:
            if row.pk in ours:
                row.next_attempt_at = new
                kept.append(row)
            else:
                logger.info("E-mail %s was taken over by another delivery pass; skipped", row.pk)
    order = {row.pk: i for i, row in enumerate(rows)}
    kept.sort(key=lambda row: order[row.pk])
    return kept


def message_id(row: OutboundEmail) -> str:
    """The row's Message-ID, the same on every attempt: should a message go out twice
    (a worker killed between the server's "250" and the record of it), mail clients
    that fold messages by Message-ID show it once."""
    host = urlsplit(settings.SITE_URL).hostname or ""
    if not re.search(r"[a-z]", host) or "." not in host:
        host = str(DNS_NAME)  # an IP address or "localhost": the machine's name, as Django does
    return f"<keepsake.{row.pk}.{int(row.created_at.timestamp() * 1_000_000)}@{host}>"


def _build(row: OutboundEmail, connection) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to_email],
        headers={**row.headers, "X-Keepsake-Id": str(row.pk), "Message-ID": message_id(row)},
        connection=connection,
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    return message


def _classify(exc: Exception) -> Exception:
    """Turn an SMTP error into PermanentFailure (5xx) or leave it as temporary."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentFailure(f"Recipient refused: {exc.recipients}")
    elif isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        msg = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return PermanentFailure(f"{exc.smtp_code} {msg}")
    return exc


def _backoff(attempts: int) -> dt.timedelta:
    delay = dt.timedelta(seconds=settings.OUTBOX_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


def _close_quietly(connection) -> None:
    """Close an SMTP connection that may already be broken (a timeout, a dropped link)."""
    try:
        connection.close()
    except Exception:  # nothing useful to do with a failing QUIT
        logger.debug("Closing the SMTP connection failed", exc_info=True)


def _skip_opted_out(rows: list[OutboundEmail]) -> list[OutboundEmail]:
    """Mark rows whose partner opted out since they were queued as skipped (one lookup and
    one UPDATE for the batch); returns the rows still to send."""
    users = {r.user_id for r in rows if r.user_id is not None and r.category != Category.ACCOUNT}
    if not users:
        return rows
    opted_out = set(
        EmailOptOut.objects.filter(
            user_id__in=users, category__in={r.category for r in rows}
        ).values_list("user_id", "category")
    )
    skipped = [
        r.pk
        for r in rows
        if r.category != Category.ACCOUNT and (r.user_id, r.category) in opted_out
    ]
    if not skipped:
        return rows
    OutboundEmail.objects.filter(pk__in=skipped, status=OutboundEmail.Status.PENDING).update(
        status=OutboundEmail.Status.SKIPPED
    )
    skipped = set(skipped)
    return [r for r in rows if r.pk not in skipped]


def _record_sent(pk: int) -> None:
    """Mark one accepted message sent, committed at once (autocommit). It runs once per
    message, so the statement is written out rather than compiled by the ORM each time."""
    table = connection.ops.quote_name(OutboundEmail._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, attempts = attempts + 1, "  # noqa: S608
            "last_error = '' WHERE id = %s AND status = %s",
            [OutboundEmail.Status.SENT, timezone.now(), pk, OutboundEmail.Status.PENDING],
        )


class _SmtpSession:
    """One SMTP connection for a whole delivery pass, reopened after a failed message."""

    def __init__(self) -> None:
        self.connection = get_connection(fail_silently=False)
        self.opened = False
        self.unreachable = False
        # Django's own SMTP backend: messages go straight to its smtplib connection (see
        # ``send``); any other backend (the local mailbox, tests' locmem) gets ``send()``.
        self.direct = type(self.connection) is SmtpBackend
        self.from_email = sanitize_address(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET)

    def send(self, row: OutboundEmail) -> None:
        """Send one row; raises what smtplib raises.

        The direct path does what ``EmailBackend._send`` does, minus its per-message
        costs that add nothing here: the sender's address is cleaned once per session,
        a plain ASCII recipient address needs no cleaning, and the MIME boundary is set
        up front (the email package otherwise compiles a new regex per message to find
        one that is not in the body).
        """
        message = _build(row, self.connection)
        if not self.direct:
            message.send()
            return
        to = row.to_email
        if not _PLAIN_ADDRESS.fullmatch(to):
            to = sanitize_address(to, settings.DEFAULT_CHARSET)
        mime = message.message()
        if mime.is_multipart():
            boundary = f"=====ks-{secrets.token_hex(12)}====="
            while boundary in row.body_text or boundary in row.body_html:
                boundary = f"=====ks-{secrets.token_hex(12)}====="
            mime.set_boundary(boundary)
        self.connection.connection.sendmail(self.from_email, [to], mime.as_bytes(linesep="\r\n"))

    def open(self) -> None:
        if not self.opened:
            self.connection.open()
            self.opened = True

    def reset(self) -> None:
        """After an error the connection may be broken: the next message opens a new one."""
        _close_quietly(self.connection)
        self.opened = False

    def close(self) -> None:
        if self.opened:
            self.reset()


def _send_rows(rows: list[OutboundEmail], smtp: _SmtpSession) -> int:
    """Send claimed rows over the session's connection; each outcome is written to its row.

    Per batch: the lease renewal (``_renew_leases``) and the opt-out check. Per row: the
    record of a message the server accepted, committed the moment it said so, so a
    worker killed at any point leaves at most the one message in flight looking unsent,
    the only one that can go out twice (docs/operations.md).
    """
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
        except (smtplib.SMTPException, OSError) as exc:
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
            smtp.send(row)
        except (smtplib.SMTPException, OSError) as exc:
            _record_failure(row, _classify(exc))
            smtp.reset()
        else:
            _record_sent(row.pk)
            sent += 1
    return sent


def _record_failure(row: OutboundEmail, error: Exception) -> None:
    attempts = row.attempts + 1
    text = f"{type(error).__name__}: {error}"[:2000]
    # Only while this caller still holds the row's lease (see _still_ours).
    ours = OutboundEmail.objects.filter(
        pk=row.pk, status=OutboundEmail.Status.PENDING, next_attempt_at=row.next_attempt_at
    )
    if isinstance(error, PermanentFailure) or attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        logger.error("E-mail %s to %s failed for good: %s", row.pk, row.to_email, text)
        ours.update(
            status=OutboundEmail.Status.FAILED,
            attempts=attempts,
            last_error=text,
        )
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
            next_attempt_at=timezone.now() + _backoff(attempts),
        )


def email_deliver(*, email_id: int, now: dt.datetime | None = None) -> bool:
    """Deliver one queued row now, if it is still due and nobody else holds it."""
    rows = _claim(now=now or timezone.now(), ids=[email_id], limit=1)
    if not rows:
        return False
    smtp = _SmtpSession()
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
    smtp = _SmtpSession()
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
    smtp = _SmtpSession()
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


def failed_emails_for(*, user, limit: int = 5):
    """The latest permanently failed e-mails of a partner, for their settings page."""
    return list(
        OutboundEmail.objects.filter(user=user, status=OutboundEmail.Status.FAILED).only(
            "to_email", "subject", "last_error", "created_at"
        )[:limit]
    )
