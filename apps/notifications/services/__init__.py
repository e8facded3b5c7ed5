"""The notifications app's services, one module per concern:

- ``preferences``: which e-mails a partner wants (opt-outs, unsubscribing);
- ``tokens``: the signed unsubscribe links;
- ``outbox``: queueing e-mails as rows (``email_enqueue``, ``email_enqueue_many``);
- ``rendering``: ``templates/emails/<name>_*`` to subject, text and HTML;
- ``delivery``: leasing due rows and sending them, with retries (``outbox_deliver_due``);
- ``smtp``: the one connection a delivery pass holds.

Everything other apps use is importable from here.
"""

from apps.core.tasks import queue_on_commit

from ..selectors import failed_emails_for
from .delivery import (
    BATCH_SIZE,
    LEASE,
    LEASE_RENEWED,
    MAX_BACKOFF,
    backoff,
    email_deliver,
    email_deliver_many,
    message_for,
    message_id,
    outbox_deliver_due,
)
from .outbox import EmailItem, email_enqueue, email_enqueue_many, email_enqueue_message
from .preferences import is_subscribed, opted_out, preferences_set, unsubscribe
from .rendering import body_render, email_render, subject_render
from .smtp import PermanentFailure, SmtpSession
from .tokens import (
    UNSUBSCRIBE_MAX_AGE,
    UNSUBSCRIBE_SALT,
    unsubscribe_token,
    unsubscribe_token_read,
    unsubscribe_url,
)

__all__ = [
    "BATCH_SIZE",
    "LEASE",
    "LEASE_RENEWED",
    "MAX_BACKOFF",
    "UNSUBSCRIBE_MAX_AGE",
    "UNSUBSCRIBE_SALT",
    "EmailItem",
    "PermanentFailure",
    "SmtpSession",
    "backoff",
    "body_render",
    "email_deliver",
    "email_deliver_many",
    "email_enqueue",
    "email_enqueue_many",
    "email_enqueue_message",
    "email_render",
    "failed_emails_for",
    "is_subscribed",
    "message_for",
    "message_id",
    "opted_out",
    "outbox_deliver_due",
    "preferences_set",
    "queue_on_commit",
    "subject_render",
    "unsubscribe",
    "unsubscribe_token",
    "unsubscribe_token_read",
    "unsubscribe_url",
]
