"""Which e-mails a partner wants: one opt-out row per category turned off.

Account e-mails (sign-in, invitations, a partner leaving) cannot be turned off.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction

from ..models import Category, EmailOptOut


def is_subscribed(*, user, category: str) -> bool:
    if category == Category.ACCOUNT:
        return True
    return not EmailOptOut.objects.filter(user=user, category=category).exists()


def opted_out(*, user_ids: Iterable[int], categories: Iterable[str]) -> set[tuple[int, str]]:
    """The (user id, category) pairs turned off among these, in one query: how the outbox
    checks a whole batch when queueing and again when sending."""
    user_ids = set(user_ids)
    categories = set(categories) - {Category.ACCOUNT}
    if not user_ids or not categories:
        return set()
    return set(
        EmailOptOut.objects.filter(user_id__in=user_ids, category__in=categories).values_list(
            "user_id", "category"
        )
    )


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


def unsubscribe(*, user_id: int, category: str) -> bool:
    """Opt a user out of one category. True if the user exists."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return False
    EmailOptOut.objects.get_or_create(user=user, category=category)
    return True
