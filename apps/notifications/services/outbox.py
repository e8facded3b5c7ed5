"""Queueing: every e-mail is an outbox row first, delivered afterwards with retries.

Queueing is idempotent through ``dedupe_key``. One builder, ``_row``, writes what every
row gets the same way: the unsubscribe link (context and ``List-Unsubscribe`` headers),
and "skipped" for a partner who turned the category off.

Where the body is rendered:
- ``email_enqueue`` (one e-mail; its context may hold model instances and dates, as
  the one-off e-mails' contexts do) renders it now and the row keeps the parts.
- ``email_enqueue_many`` (the reminder pass) keeps the JSON context and the delivery
  worker renders the body, so the pass only inserts rows.
The subject is rendered when queued either way (short; lists show it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import bulk

# ``package.queue_on_commit`` is looked up when called, so that patching
# ``apps.notifications.services.queue_on_commit`` (tests, the benchmark) reaches it.
from apps.notifications import services as package

from ..models import Category, OutboundEmail
from ..tasks import deliver_email as deliver_email_task
from ..tasks import deliver_emails as deliver_emails_task
from .preferences import opted_out
from .rendering import email_render, subject_render
from .tokens import unsubscribe_url


@dataclass(frozen=True)
class EmailItem:
    """One e-mail to queue.

    For ``email_enqueue_many`` the ``context`` is JSON (text, numbers, lists, dicts):
    the row keeps it and the worker renders the templates at delivery. Values are data,
    never markup: the templates escape them as any other text.
    """

    to_email: str
    template: str
    context: dict
    dedupe_key: str
    category: str
    user: Any = None


def _row(item: EmailItem, *, skipped: bool, render_now: bool) -> OutboundEmail:
    """The row for one item (not saved). ``render_now``: keep the rendered parts rather
    than the context (see the module's docstring)."""
    context = {
        "site_url": settings.SITE_URL,
        "site_name": settings.SITE_NAME,
        **item.context,
    }
    headers = {}
    if item.user is not None and item.category != Category.ACCOUNT:
        url = unsubscribe_url(user_id=item.user.pk, category=item.category)
        context["unsubscribe_url"] = url
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    row = OutboundEmail(
        dedupe_key=item.dedupe_key,
        user=item.user,
        to_email=item.to_email,
        category=item.category,
        template=item.template,
        headers=headers,
        status=OutboundEmail.Status.SKIPPED if skipped else OutboundEmail.Status.PENDING,
    )
    if render_now:
        row.subject, row.stored_text, row.stored_html = email_render(
            item.template, {"user": item.user, **context}
        )
    else:
        row.subject, row.context = subject_render(item.template, context), context
    return row


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
    item = EmailItem(to_email, template, context, dedupe_key, category, user)
    skipped = user is not None and bool(opted_out(user_ids=[user.pk], categories=[category]))
    return _insert(_row(item, skipped=skipped, render_now=True))


def email_enqueue_many(items: Iterable[EmailItem]) -> list[OutboundEmail]:
    """Queue many e-mails at once; the same e-mails as ``email_enqueue`` for each item,
    rendered by the delivery worker.

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
    off = opted_out(
        user_ids={i.user.pk for i in fresh if i.user is not None},
        categories={i.category for i in fresh},
    )
    rows = [
        _row(
            item,
            skipped=item.user is not None and (item.user.pk, item.category) in off,
            render_now=False,
        )
        for item in fresh
    ]
    _insert_many(rows)
    # The INSERT returns no ids: read back which of the keys are rows of this call (the
    # ones not there before; a concurrent winner counts as ours at worst, which only
    # costs a delivery task that finds nothing to do).
    added = list(
        OutboundEmail.objects.filter(dedupe_key__in=[r.dedupe_key for r in rows]).only(
            "pk", "dedupe_key", "status"
        )
    )
    pending = [r.pk for r in added if r.status == OutboundEmail.Status.PENDING]
    if pending:
        package.queue_on_commit(deliver_emails_task, pending)
    return added


# Every column: the bulk INSERT gives an unlisted column no value (no database defaults).
_COLUMNS = (
    "dedupe_key",
    "user_id",
    "to_email",
    "category",
    "template",
    "context",
    "subject",
    "stored_text",
    "stored_html",
    "headers",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "sent_at",
)


def _insert_many(rows: list[OutboundEmail]) -> None:
    """INSERT the rows; a key queued by someone else between our read and this INSERT
    keeps that row (the unique constraint has the last word, as in ``_insert``)."""
    now = timezone.now()
    for row in rows:
        row.created_at = row.next_attempt_at = now
    bulk.insert_ignoring_conflicts(
        OutboundEmail, _COLUMNS, [[getattr(row, name) for name in _COLUMNS] for row in rows]
    )


def email_enqueue_message(
    *,
    message: EmailMessage,
    dedupe_key: str,
    template: str,
    category=Category.ACCOUNT,
    user=None,
) -> OutboundEmail:
    """Queue a message something else rendered (allauth's sign-in e-mails), as it is."""
    html = ""
    if isinstance(message, EmailMultiAlternatives):
        html = next((c for c, mime in message.alternatives if mime == "text/html"), "")
    if message.content_subtype == "html":
        html, text = message.body, ""
    else:
        text = message.body
    return _insert(
        OutboundEmail(
            dedupe_key=dedupe_key,
            user=user,
            to_email=message.to[0],
            category=category,
            template=template,
            subject=message.subject[:255],
            stored_text=text,
            stored_html=html,
            headers={},
            status=OutboundEmail.Status.PENDING,
        )
    )


def _insert(row: OutboundEmail) -> OutboundEmail:
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        # Queued concurrently under the same key: that row wins.
        return OutboundEmail.objects.get(dedupe_key=row.dedupe_key)
    if row.status == OutboundEmail.Status.PENDING:
        package.queue_on_commit(deliver_email_task, row.pk)
    return row
