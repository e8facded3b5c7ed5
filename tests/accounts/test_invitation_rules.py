"""Who an invitation lets in: the invited address in any letter case, and never a third member.

These close holes that mutation testing found: a case-sensitive address match and a
broken member limit both survived the suite (the limit was only exercised by the
PostgreSQL race tests).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core import mail
from django.utils import timezone

from apps.accounts import services
from apps.accounts.models import MAX_MEMBERS, Invitation, User
from apps.notifications.models import OutboundEmail
from tests.factories import UserFactory

from .test_signup import _signup

# --- The invited address, in any letter case ---------------------------------------------------


@pytest.mark.parametrize(
    ("invited", "account"),
    [("Bob@Example.com", "bob@example.com"), ("bob@example.com", "Bob@Example.com")],
)
def test_the_invited_address_matches_whatever_its_letter_case(
    client, founder, invite, invited, account
):
    bob = UserFactory(email=account, display_name="Bob")
    _, token = invite(invited)
    client.force_login(bob)

    page = client.get(f"/invite/{token}/")
    assert page.status_code == 200
    assert "Join Anna &amp; Ben" in page.content.decode()
    assert services.invitation_problem(services.invitation_find(token), user=bob) == ""

    response = client.post(f"/invite/{token}/")
    assert response.status_code == 302 and response["Location"] == "/home/"
    bob.refresh_from_db()
    assert bob.space == founder.space
    assert Invitation.objects.get().accepted_by == bob


def test_signing_up_through_the_link_in_another_letter_case_joins_without_a_second_email(
    client, founder, invite, django_capture_on_commit_callbacks
):
    _, token = invite("Bob@Example.com")
    mail.outbox.clear()
    client.get(f"/invite/{token}/")
    response = _signup(client, "bob@example.com", django_capture_on_commit_callbacks)

    assert response["Location"] == "/home/"
    bob = User.objects.get(email__iexact="bob@example.com")
    assert bob.space == founder.space
    assert mail.outbox == []


@pytest.mark.parametrize("account", ["bob@example.org", "bobby@example.com", "BOB@example.co"])
def test_another_address_is_refused_and_nothing_changes(client, founder, invite, account):
    other = UserFactory(email=account)
    _, token = invite("Bob@Example.com")
    client.force_login(other)

    response = client.post(f"/invite/{token}/")
    assert response.status_code == 403
    assert f"signed in as {account}" in response.content.decode()
    with pytest.raises(services.SpaceError, match=r"sent to Bob@Example\.com"):
        services.invitation_accept(user=other, token=token)
    other.refresh_from_db()
    assert other.space_id is None
    assert Invitation.objects.get().accepted_at is None


# --- Never a third member (no race needed) -----------------------------------------------------


def _stray_invitation(space, by, email, token):
    """A second usable invitation of a space, as two invitations accepted at once would
    find them (the service itself keeps only one open, so it is written directly)."""
    return Invitation.objects.create(
        space=space,
        email=email,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        invited_by=by,
        expires_at=timezone.now() + dt.timedelta(days=7),
    )


def test_a_second_invitation_accepted_after_the_partner_joined_is_refused(
    client, founder, invite, django_capture_on_commit_callbacks
):
    assert MAX_MEMBERS == 2
    ben = UserFactory(email="ben@example.com", display_name="Ben")
    cleo = UserFactory(email="cleo@example.com", display_name="Cleo")
    _, ben_token = invite("ben@example.com")
    cleo_token = "second-usable-invitation-0123456789abcdef"
    cleos = _stray_invitation(founder.space, founder, cleo.email, cleo_token)

    services.invitation_accept(user=ben, token=ben_token)
    assert founder.space.members.count() == MAX_MEMBERS
    emails_before = OutboundEmail.objects.count()

    with pytest.raises(services.SpaceError, match="already has two members"):
        services.invitation_accept(user=cleo, token=cleo_token)
    client.force_login(cleo)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/invite/{cleo_token}/", follow=True)
    assert response.status_code == 200
    assert "This space already has two members." in response.content.decode()

    # Nothing written: Cleo is in no space, her invitation unused, no e-mail queued.
    cleo.refresh_from_db()
    assert cleo.space_id is None and cleo.joined_space_at is None
    cleos.refresh_from_db()
    assert cleos.accepted_at is None and cleos.accepted_by is None
    assert set(founder.space.members.values_list("email", flat=True)) == {
        "anna@example.com",
        "ben@example.com",
    }
    assert OutboundEmail.objects.count() == emails_before


def test_a_full_space_page_offers_no_invitation(client, both_ways):
    client.force_login(both_ways.actor)
    page = client.get("/space/").content.decode()
    assert "it is just the two of you" in page
    assert "Send invitation" not in page


def test_a_space_with_room_offers_an_invitation(client, founder):
    client.force_login(founder)
    page = client.get("/space/").content.decode()
    assert "Send invitation" in page
    assert "it is just the two of you" not in page
