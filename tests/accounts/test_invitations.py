"""Invitations: stored hashed, sent through the outbox, single use, expiring, revocable."""

import datetime as dt
import hashlib

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from apps.accounts import services
from apps.accounts.models import Invitation
from apps.notifications.models import OutboundEmail
from tests.factories import SpaceFactory, UserFactory

from .conftest import link_in, mails_to

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_invitation_is_stored_hashed_and_mailed_with_the_link(founder, invite, settings):
    settings.SITE_URL = "https://keepsake.example"
    invitation, token = invite("Ben@Example.com")

    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 40
    row = OutboundEmail.objects.get(template="invitation")
    # The clear token lives only in the e-mail, never in a model field.
    for field in ("token_hash", "email"):
        assert token not in str(getattr(invitation, field))
    assert not Invitation.objects.filter(token_hash=token).exists()
    assert row.dedupe_key == f"invitation:{invitation.pk}"
    assert row.status == OutboundEmail.Status.SENT

    [message] = mail.outbox
    assert message.to == ["Ben@Example.com"]
    # Plain-text parts are not HTML: no "&amp;" in the subject or the text body.
    assert message.subject == "Anna invited you to Anna & Ben on Keepsake"
    assert '"Anna & Ben"' in message.body
    assert "Anna &amp; Ben" in message.alternatives[0][0]
    assert link_in(message) == f"https://keepsake.example/invite/{token}/"
    html = message.alternatives[0][0]
    assert f"https://keepsake.example/invite/{token}/" in html
    # An account e-mail: nobody can unsubscribe from it.
    assert "List-Unsubscribe" not in message.extra_headers


def test_sending_through_the_page_mails_the_partner(
    client, founder, django_capture_on_commit_callbacks
):
    client.force_login(founder)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/space/invite/", {"email": "ben@example.com"}, follow=True)
    assert "Invitation sent to ben@example.com" in response.content.decode()
    assert len(mails_to("ben@example.com")) == 1
    assert Invitation.objects.filter(space=founder.space, email="ben@example.com").count() == 1


@pytest.mark.parametrize("email", ["not-an-address", "", "a" * 250 + "@example.com"])
def test_bad_address_is_refused_and_nothing_sent(client, founder, email):
    client.force_login(founder)
    response = client.post("/space/invite/", {"email": email})
    assert response.status_code == 200
    # The error sits next to the field, whose value is kept.
    assert response.context["invite_form"].errors["email"]
    assert "invalid-feedback" in response.content.decode()
    assert not Invitation.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_a_new_invitation_withdraws_the_previous_one(founder, invite):
    first, first_token = invite("ben@example.com")
    second, _ = invite("benjamin@example.com")
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert second.revoked_at is None
    assert services.invitation_problem(services.invitation_find(first_token)).startswith(
        "This invitation was withdrawn"
    )


def test_existing_account_signs_in_then_joins(client, founder, invite):
    ben = UserFactory(email="ben@example.com", display_name="Ben")
    _, token = invite("ben@example.com")

    page = client.get(f"/invite/{token}/")
    assert page.status_code == 200
    assert "Anna invited you" in page.content.decode()
    ben.refresh_from_db()
    assert ben.space_id is None  # a GET (a mail scanner) changes nothing

    login = client.post(
        "/accounts/login/", {"login": "ben@example.com", "password": "correct horse battery"}
    )
    assert login.status_code == 302
    # Back to the invitation after signing in...
    assert client.get(login["Location"])["Location"] == f"/invite/{token}/"
    confirm = client.get(f"/invite/{token}/")
    assert "Join Anna &amp; Ben" in confirm.content.decode()
    ben.refresh_from_db()
    assert ben.space_id is None
    # ...and joining is the POST.
    joined = client.post(f"/invite/{token}/")
    assert joined.status_code == 302
    assert joined["Location"] == "/home/"
    ben.refresh_from_db()
    assert ben.space == founder.space
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == ben
    assert invitation.accepted_at is not None
    dashboard = client.get("/home/").content.decode()
    assert "Anna" in dashboard and "Ben" in dashboard


def test_link_cannot_be_used_twice(client, founder, invite):
    ben = UserFactory(email="ben@example.com")
    _, token = invite("ben@example.com")
    client.force_login(ben)
    client.post(f"/invite/{token}/")
    ben.refresh_from_db()
    assert ben.space == founder.space

    # Ben clicking the link again just goes home.
    assert client.get(f"/invite/{token}/")["Location"] == "/home/"
    # Anyone else holding the link later finds it used.
    client.logout()
    again = client.get(f"/invite/{token}/")
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    with pytest.raises(services.SpaceError, match="already been used"):
        services.invitation_accept(user=ben, token=token)


def test_expired_invitation_is_refused(client, founder, invite):
    ben = UserFactory(email="ben@example.com")
    with time_machine.travel(NOW, tick=False):
        invitation, token = invite("ben@example.com")
    assert invitation.expires_at == NOW + dt.timedelta(days=7)

    client.force_login(ben)
    with time_machine.travel(NOW + dt.timedelta(days=7, seconds=-1), tick=False):
        assert client.get(f"/invite/{token}/").status_code == 200
    with time_machine.travel(NOW + dt.timedelta(days=7), tick=False):
        response = client.post(f"/invite/{token}/")
        assert response.status_code == 410
        assert "expired" in response.content.decode()
        client.logout()
        assert client.get(f"/invite/{token}/").status_code == 410
    ben.refresh_from_db()
    assert ben.space_id is None
    assert Invitation.objects.get().accepted_at is None


def test_revoked_invitation_is_refused(client, founder, invite):
    ben = UserFactory(email="ben@example.com")
    invitation, token = invite("ben@example.com")
    client.force_login(founder)
    response = client.post(f"/space/invite/{invitation.pk}/revoke/")
    assert response.status_code == 302

    client.force_login(ben)
    response = client.post(f"/invite/{token}/")
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()
    ben.refresh_from_db()
    assert ben.space_id is None


def test_wrong_account_is_refused_and_nothing_changes(client, founder, invite):
    carol = UserFactory(email="carol@example.com")
    _, token = invite("ben@example.com")
    client.force_login(carol)

    page = client.get(f"/invite/{token}/")
    assert page.status_code == 403
    assert "sent to ben@example.com" in page.content.decode()
    assert "Join" not in page.content.decode()
    # A way out: sign out and come back to this very link.
    assert f'name="next" value="/invite/{token}/"' in page.content.decode()
    response = client.post(f"/invite/{token}/")
    assert response.status_code == 403
    assert "signed in as carol@example.com" in response.content.decode()

    carol.refresh_from_db()
    assert carol.space_id is None
    invitation = Invitation.objects.get()
    assert invitation.accepted_at is None and invitation.accepted_by is None
    with pytest.raises(services.SpaceError, match=r"sent to ben@example\.com"):
        services.invitation_accept(user=carol, token=token)


def test_someone_already_in_a_space_cannot_join_another(client, founder, invite, stranger):
    stranger.email = "ben@example.com"
    stranger.save()
    _, token = invite("ben@example.com")
    client.force_login(stranger)
    response = client.post(f"/invite/{token}/")
    assert response.status_code == 403
    assert "already belong to another space" in response.content.decode()
    stranger.refresh_from_db()
    assert stranger.space.name == "Elsewhere"
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.parametrize(
    "token",
    ["garbage", "x" * 43, "x" * 500, "%00%ff", "abc.def~!'<b>"],
)
@pytest.mark.parametrize("signed_in", [False, True])
def test_forged_or_garbage_tokens_are_a_404_page(client, founder, invite, token, signed_in):
    invite("ben@example.com")
    if signed_in:
        client.force_login(UserFactory(email="ben@example.com"))
    response = client.get(f"/invite/{token}/")
    assert response.status_code == 404
    assert "not valid" in response.content.decode()
    assert client.post(f"/invite/{token}/").status_code == 404
    assert Invitation.objects.get().accepted_at is None


def test_a_token_with_a_slash_is_a_404(client, founder, invite):
    invite("ben@example.com")
    assert client.get("/invite/..%2F..%2Fetc/").status_code == 404


def test_a_hash_is_not_a_token(client, founder, invite):
    invitation, _ = invite("ben@example.com")
    client.force_login(UserFactory(email="ben@example.com"))
    assert client.post(f"/invite/{invitation.token_hash}/").status_code == 404


def test_third_member_is_refused(client, alice, bob, space):
    carol = UserFactory(email="carol@example.com")
    # Even a stray usable invitation (written directly) cannot add a third member.
    token = "stray-token-for-a-full-space-0123456789abcdef"
    Invitation.objects.create(
        space=space,
        email="carol@example.com",
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        invited_by=alice,
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    with pytest.raises(services.SpaceError, match="already has two members"):
        services.invitation_accept(user=carol, token=token)
    client.force_login(carol)
    response = client.post(f"/invite/{token}/", follow=True)
    assert "already has two members" in response.content.decode()
    carol.refresh_from_db()
    assert carol.space_id is None
    assert space.members.count() == 2


def test_a_full_space_cannot_send_invitations(client, alice, bob):
    with pytest.raises(services.SpaceError, match="already has two members"):
        services.invitation_create(space=alice.space, invited_by=alice, email="c@example.com")
    client.force_login(alice)
    response = client.post("/space/invite/", {"email": "c@example.com"}, follow=True)
    assert "already has two members" in response.content.decode()
    assert not Invitation.objects.exists()


def test_inviting_yourself_is_refused(founder):
    with pytest.raises(services.SpaceError, match="already in your space"):
        services.invitation_create(
            space=founder.space, invited_by=founder, email="ANNA@example.com"
        )


def test_revoking_another_spaces_invitation_is_a_404_and_changes_nothing(client, founder, stranger):
    theirs, _ = services.invitation_create(
        space=stranger.space, invited_by=stranger, email="x@example.com"
    )
    client.force_login(founder)
    response = client.post(f"/space/invite/{theirs.pk}/revoke/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_invitation_of_another_space_never_shows_on_my_space_page(client, founder, stranger):
    services.invitation_create(space=stranger.space, invited_by=stranger, email="x@example.com")
    client.force_login(founder)
    body = client.get("/space/").content.decode()
    assert "x@example.com" not in body


def test_new_space_member_is_not_left_with_a_second_space(db):
    """A user belongs to at most one space: creating one when already in one fails."""
    user = UserFactory(space=SpaceFactory())
    with pytest.raises(services.SpaceError):
        services.space_create(
            user=user, name="Second", time_zone="UTC", anniversary=dt.date(2020, 1, 1)
        )


def test_wrong_account_can_sign_out_and_come_back_to_the_link(client, founder, invite):
    _, token = invite("ben@example.com")
    client.force_login(UserFactory(email="carol@example.com"))
    response = client.post("/accounts/logout/", {"next": f"/invite/{token}/"})
    assert response["Location"] == f"/invite/{token}/"
    assert client.get(f"/invite/{token}/").status_code == 200


def test_a_space_sends_a_bounded_number_of_invitations_a_day(founder, invite):
    with time_machine.travel(NOW, tick=False):
        for i in range(services.INVITATIONS_PER_DAY):
            invite(f"guess{i}@example.com")
        with pytest.raises(services.SpaceError, match="try again tomorrow"):
            invite("one-more@example.com")
    assert len(mail.outbox) == services.INVITATIONS_PER_DAY
    with time_machine.travel(NOW + dt.timedelta(days=1, seconds=1), tick=False):
        invite("next-day@example.com")
    assert len(mail.outbox) == services.INVITATIONS_PER_DAY + 1


def test_an_expired_invitation_is_not_shown_as_waiting(client, founder, invite):
    with time_machine.travel(NOW, tick=False):
        invite("ben@example.com")
    client.force_login(founder)
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        assert "is waiting" in client.get("/space/").content.decode()
    with time_machine.travel(NOW + dt.timedelta(days=8), tick=False):
        assert "is waiting" not in client.get("/space/").content.decode()


def test_a_dead_invitation_does_not_haunt_later_sign_ins(client, founder, invite):
    ben = UserFactory(email="ben@example.com")
    invitation, token = invite("ben@example.com")
    client.get(f"/invite/{token}/")  # signed out: remembered for after sign-in
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    login = client.post(
        "/accounts/login/", {"login": ben.email, "password": "correct horse battery"}
    )
    assert client.get(login["Location"])["Location"] == f"/invite/{token}/"
    assert client.get(f"/invite/{token}/").status_code == 410
    # Shown once: the session forgets it, so sign-in redirects go home again.
    assert "keepsake_invitation" not in client.session
    assert client.get("/invite/")["Location"] == "/home/"


def test_invitation_pages_have_one_heading(client, founder, invite):
    _, token = invite("ben@example.com")
    for url, status in ((f"/invite/{token}/", 200), ("/invite/nope/", 404)):
        response = client.get(url)
        assert response.status_code == status
        assert response.content.decode().count("<h1") == 1
