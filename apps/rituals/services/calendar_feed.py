"""The calendar feed: a partner's secret address for their calendar app.

Only the token's hash is stored (like invitation tokens): the address is shown once,
when it is made or reset, and a leaked database holds no working address. Addresses
made before hashing keep working: the migration stored their hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from django.db import transaction
from django.utils import timezone

from .. import feeds
from ..models import CalendarFeed, ReminderPreference, Ritual

# What ``secrets.token_urlsafe`` issues; anything else is no address of ours (and
# PostgreSQL would even refuse a NUL byte in the query).
FEED_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,100}")


def feed_token_hash(token: str) -> str:
    """What is stored of a feed token (the same digest as invitation tokens)."""
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_reset(*, user) -> str:
    """A new secret address for ``user`` (the old one, if any, stops working). Returns the
    token: the only copy, to show once."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        CalendarFeed.objects.update_or_create(
            user=user, defaults={"token_hash": feed_token_hash(token)}
        )
    return token


def calendar_feed_made_at(*, user) -> dt.datetime | None:
    """When ``user``'s address was made or last reset (None: they have none)."""
    return CalendarFeed.objects.filter(user=user).values_list("created_at", flat=True).first()


def calendar_feed_find(token: str) -> CalendarFeed | None:
    """The feed a token opens, if its owner is still in a space."""
    if not FEED_TOKEN_RE.fullmatch(token or ""):
        return None
    feed = (
        CalendarFeed.objects.select_related("user__space")
        .filter(token_hash=feed_token_hash(token))
        .first()
    )
    if feed is None or not feed.user.space_id:
        return None
    return feed


def calendar_feed_ics(*, token: str, now: dt.datetime | None = None) -> bytes | None:
    """The iCalendar file a token opens (None: no such address)."""
    now = now or timezone.now()
    feed = calendar_feed_find(token)
    if feed is None:
        return None
    user = feed.user
    rituals = list(
        Ritual.objects.filter(space_id=user.space_id, status=Ritual.Status.ACTIVE).select_related(
            "space"
        )
    )
    prefs = ReminderPreference.objects.effective(
        user_ids=[user.pk], ritual_ids=[r.pk for r in rituals]
    )
    return feeds.calendar_for(user=user, rituals=rituals, prefs=prefs, now=now)
