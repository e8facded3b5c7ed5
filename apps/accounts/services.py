"""Writes for users, spaces and invitations."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.core.errors import KeepsakeError
from apps.core.hooks import hooks_run
from apps.core.tz import get_zone
from apps.notifications.models import Category, OutboundEmail
from apps.notifications.services import email_enqueue

from .models import MAX_MEMBERS, Invitation, Space, User

# A space may send this many invitations a day: enough for typos, too few for spam.
INVITATIONS_PER_DAY = 10


class SpaceError(KeepsakeError):
    """A rule of the space was broken; the message is meant for the user."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def space_create(
    *, user: User, name: str, time_zone: str, anniversary: dt.date, now: dt.datetime | None = None
) -> Space:
    now = now or timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.space_id:
            raise SpaceError("You already belong to a space.")
        space = Space.objects.create(name=name, time_zone=time_zone, anniversary=anniversary)
        user.space = space
        user.joined_space_at = now
        user.save(update_fields=["space", "joined_space_at"])
    return space


def space_update(*, space: Space, name: str, time_zone: str, anniversary: dt.date) -> Space:
    with transaction.atomic():
        space = Space.objects.select_for_update().get(pk=space.pk)
        zone_changed = space.time_zone != time_zone
        space.name = name
        space.time_zone = time_zone
        space.anniversary = anniversary
        space.save(update_fields=["name", "time_zone", "anniversary", "updated_at"])
        if zone_changed:
            hooks_run("space_zone_changed", space=space)
    return space


def profile_update(*, user: User, display_name: str, time_zone: str) -> User:
    with transaction.atomic():
        zone_changed = user.time_zone != time_zone
        user.display_name = display_name
        user.time_zone = time_zone
        user.save(update_fields=["display_name", "time_zone"])
        if zone_changed:
            hooks_run("user_zone_changed", user=user)
    return user


def invitation_create(
    *, space: Space, invited_by: User, email: str, now: dt.datetime | None = None
) -> tuple[Invitation, str]:
    """Invite someone to a space; returns the invitation and its one-time token.

    Only the token's hash is stored, so the link in the e-mail is the only copy.
    An earlier pending invitation of the space is revoked: one open link at a time.
    """
    email = email.strip()
    now = now or timezone.now()
    with transaction.atomic():
        space = Space.objects.select_for_update().get(pk=space.pk)
        if space.members.count() >= MAX_MEMBERS:
            raise SpaceError("Your space already has two members.")
        if User.objects.filter(email__iexact=email, space=space).exists():
            raise SpaceError("That person is already in your space.")
        sent_today = Invitation.objects.filter(
            space=space, created_at__gt=now - dt.timedelta(days=1)
        ).count()
        if sent_today >= INVITATIONS_PER_DAY:
            raise SpaceError(
                "Your space has sent many invitations today. Please try again tomorrow."
            )
        Invitation.objects.pending().filter(space=space).update(revoked_at=now)
        token = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            space=space,
            email=email,
            token_hash=_hash(token),
            invited_by=invited_by,
            expires_at=now + dt.timedelta(days=settings.INVITATION_DAYS),
        )
        email_enqueue(
            to_email=email,
            template="invitation",
            context={
                "inviter": invited_by.name,
                "space_name": space.name,
                "accept_url": settings.SITE_URL + reverse("accounts:invitation", args=[token]),
                "expires_at": invitation.expires_at,
                "days": settings.INVITATION_DAYS,
            },
            dedupe_key=f"invitation:{invitation.pk}",
            category=Category.ACCOUNT,
        )
    return invitation, token


def invitation_revoke(*, space: Space, invitation_id: int, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    Invitation.objects.pending().filter(space=space, pk=invitation_id).update(revoked_at=now)


def invitation_find(token: str) -> Invitation | None:
    """The invitation a token opens, whatever its state (None if unknown)."""
    if not token or len(token) > 100:
        return None
    return (
        Invitation.objects.select_related("space", "invited_by")
        .filter(token_hash=_hash(token))
        .first()
    )


def invitation_problem(
    invitation: Invitation | None, *, user: User | None = None, now: dt.datetime | None = None
) -> str:
    """Why this invitation cannot be used (by this user), or "" if it can."""
    if invitation is None:
        return "This invitation link is not valid. Check that you copied all of it."
    if not invitation.is_usable(now):
        # Which of the rules in ``Invitation.is_usable`` it broke, in words.
        if invitation.accepted_at is not None:
            return "This invitation has already been used."
        if invitation.revoked_at is not None:
            return "This invitation was withdrawn. Ask your partner to send a new one."
        return "This invitation has expired. Ask your partner to send a new one."
    if user is not None and user.is_authenticated:
        if user.email.lower() != invitation.email.lower():
            return (
                f"This invitation was sent to {invitation.email}, but you are signed in as "
                f"{user.email}. Sign out and sign in (or sign up) with the invited address."
            )
        if user.space_id == invitation.space_id:
            return "You are already in this space."
        if user.space_id:
            return "You already belong to another space; you can be in only one."
    return ""


def invitation_accept(*, user: User, token: str, now: dt.datetime | None = None) -> Space:
    """Join the invitation's space. Safe under concurrent accepts: never a third member."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = invitation_find(token)
        if invitation is None:
            raise SpaceError(invitation_problem(None))
        # Lock the space first, then the invitation and the user: every accept of
        # this space queues here, so the member count below cannot go stale.
        space = Space.objects.select_for_update().get(pk=invitation.space_id)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        user = User.objects.select_for_update().get(pk=user.pk)
        problem = invitation_problem(invitation, user=user, now=now)
        if problem:
            raise SpaceError(problem)
        if space.members.count() >= MAX_MEMBERS:
            raise SpaceError("This space already has two members.")
        user.space = space
        user.joined_space_at = now
        user.save(update_fields=["space", "joined_space_at"])
        if space.partner_left_at is not None:
            # Someone new is here: the notice about who left has done its work.
            space.partner_left_name = ""
            space.partner_left_at = None
            space.save(update_fields=["partner_left_name", "partner_left_at", "updated_at"])
        invitation.accepted_at = now
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
        hooks_run("user_joined_space", user=user)
    return space


TEST_EMAIL_INTERVAL = dt.timedelta(minutes=1)


def email_test_send(*, user: User, now: dt.datetime | None = None) -> bool:
    """Queue a test e-mail: at most one a minute per user. False if one was just sent."""
    now = now or timezone.now()
    with transaction.atomic():
        # The user row lock serialises double clicks, so the check below holds.
        User.objects.select_for_update().filter(pk=user.pk).first()
        recent = OutboundEmail.objects.filter(
            user=user, template="test", created_at__gt=now - TEST_EMAIL_INTERVAL
        )
        if recent.exists():
            return False
        email_enqueue(
            to_email=user.email,
            template="test",
            context={"name": user.name},
            dedupe_key=f"test:{user.pk}:{now.timestamp():.0f}",
            category=Category.ACCOUNT,
            user=user,
        )
    return True


# --- Leaving a space, deleting an account ---------------------------------------------------
# What stays and what goes is decided in apps/portability/README.md. Accounts knows no
# feature app: each one removes its own personal rows from the hooks named below
# (settings.KEEPSAKE_HOOKS), inside this transaction.

DELETED_EMAIL_DOMAIN = "deleted.invalid"


def space_leave(*, user: User, now: dt.datetime | None = None) -> Space | None:
    """Take ``user`` out of their space; returns the space, or None if it was deleted.

    Shared history stays with the space. When nobody is left, the space and
    everything in it is deleted: no one could ever reach it again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.space_id is None:
            raise SpaceError("You are not in a space.")
        space = Space.objects.select_for_update().get(pk=user.space_id)
        hooks_run("user_leaving_space", user=user, space=space)
        joined_at = user.joined_space_at
        user.space = None
        user.joined_space_at = None
        user.save(update_fields=["space", "joined_space_at"])
        Invitation.objects.pending().filter(space=space).update(revoked_at=now)
        # Reminders, nudges and digests already queued for them are about this space,
        # and so is the news that their partner left before them.
        OutboundEmail.objects.filter(user=user, status=OutboundEmail.Status.PENDING).filter(
            ~Q(category=Category.ACCOUNT) | Q(template=PARTNER_LEFT_TEMPLATE)
        ).update(status=OutboundEmail.Status.SKIPPED, last_error="Left the space.")
        staying = list(space.members.all())
        if not staying:
            space.delete()
            return None
        space.partner_left_name = user.name[:60]
        space.partner_left_at = now
        space.save(update_fields=["partner_left_name", "partner_left_at", "updated_at"])
        for partner in staying:
            _partner_left_email(space=space, leaver=user, joined_at=joined_at, partner=partner)
    return space


PARTNER_LEFT_TEMPLATE = "partner_left"


def _partner_left_email(
    *, space: Space, leaver: User, joined_at: dt.datetime | None, partner: User
) -> None:
    """Tell the partner who stays, kindly and once. Names and dates only: nothing
    anyone wrote (entries, letters, notes) goes into it."""
    left_on = timezone.localtime(space.partner_left_at, get_zone(partner.zone)).date()
    # One membership, one departure: the key holds when the leaver joined, so leaving
    # again after coming back is news again, and a retry of this one is not.
    membership = f"{joined_at.timestamp():.0f}" if joined_at else "-"
    email_enqueue(
        to_email=partner.email,
        template=PARTNER_LEFT_TEMPLATE,
        context={
            "leaver": leaver.name,
            "space_name": space.name,
            "left_on": left_on,
            "space_url": settings.SITE_URL + reverse("accounts:space"),
            "home_url": settings.SITE_URL + reverse("home:dashboard"),
        },
        dedupe_key=f"partner-left:{space.pk}:{leaver.pk}:{membership}",
        category=Category.ACCOUNT,
        user=partner,
    )


def account_delete(*, user: User) -> None:
    """Delete an account: leave the space, then keep only an anonymous tombstone.

    The user row itself stays (inactive, no e-mail address, no password) because
    shared history points at it: check-ins, shared entries, letters sent and
    received (``Letter`` protects its author and recipient, and their ids are bound
    into each letter's ciphertext). Only the name the partner knew is kept.
    """
    from allauth.account.models import EmailAddress

    from apps.notifications.models import EmailOptOut

    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.space_id is not None:
            space_leave(user=user)
            user.refresh_from_db()
        hooks_run("user_deleting", user=user)
        old_email = user.email
        EmailAddress.objects.filter(user=user).delete()
        EmailOptOut.objects.filter(user=user).delete()
        OutboundEmail.objects.filter(user=user).delete()
        OutboundEmail.objects.filter(to_email__iexact=old_email).delete()
        tombstone = f"deleted-{secrets.token_hex(8)}@{DELETED_EMAIL_DOMAIN}"
        Invitation.objects.filter(email__iexact=old_email).update(email=tombstone)
        user.display_name = user.name[:60]
        user.email = tombstone
        user.time_zone = ""
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.set_unusable_password()
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
