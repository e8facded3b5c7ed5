"""Reads of spaces, members and invitations, always through the viewer's space.

"The partner of a user" lives here, once: every app asks ``partner_of``.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from apps.notifications.models import OPTIONAL_CATEGORIES

from .models import Invitation, Space, User


def members_of(space: Space) -> list[User]:
    """The space's members, the founder first (the order every page lists them in)."""
    return list(space.members.order_by("joined_space_at", "pk"))


def partner_of(user: User, *, members: list[User] | None = None) -> User | None:
    """The other member of ``user``'s space, or None while there is none.

    Pass the ``members`` a page already loaded to pick from them without a query.
    """
    if members is not None:
        return next((m for m in members if m.pk != user.pk), None)
    if not user.space_id:
        return None
    return User.objects.filter(space_id=user.space_id).exclude(pk=user.pk).first()


def invitations_visible_to(user: User) -> QuerySet[Invitation]:
    """The invitations of the viewer's space that are still pending (none without a space)."""
    if not getattr(user, "is_authenticated", False) or user.space_id is None:
        return Invitation.objects.none()
    return Invitation.objects.pending().filter(space_id=user.space_id)


def pending_invitation(space: Space, *, now: dt.datetime | None = None) -> Invitation | None:
    """The space's open invitation, if its link still works."""
    now = now or timezone.now()
    return Invitation.objects.usable_at(now).filter(space=space).order_by("-created_at").first()


def email_categories_of(user: User) -> list[str]:
    """The optional e-mail categories this partner gets (one query for all of them)."""
    opted_out = set(user.email_opt_outs.values_list("category", flat=True))
    return [c.value for c in OPTIONAL_CATEGORIES if c.value not in opted_out]
