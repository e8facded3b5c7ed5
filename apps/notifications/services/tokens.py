"""Unsubscribe links: ``django.core.signing`` tokens of (user id, category).

The format is ``signing.dumps({"u": user_id, "c": category}, salt=UNSUBSCRIBE_SALT,
compress=True)``, the one these links have always had: links in inboxes keep working,
and ``SECRET_KEY_FALLBACKS`` reads those signed before a key rotation.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing
from django.urls import reverse

from ..models import Category

UNSUBSCRIBE_SALT = "keepsake.notifications.unsubscribe"
UNSUBSCRIBE_MAX_AGE = dt.timedelta(days=365)


def unsubscribe_token(*, user_id: int, category: str) -> str:
    return signing.dumps({"u": user_id, "c": category}, salt=UNSUBSCRIBE_SALT, compress=True)


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


def unsubscribe_url(*, user_id: int, category: str) -> str:
    token = unsubscribe_token(user_id=user_id, category=category)
    return settings.SITE_URL + reverse("notifications:unsubscribe", args=[token])
