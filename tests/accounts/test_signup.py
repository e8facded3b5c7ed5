"""Sign-up and sign-in: through an invitation, invite-only hosts, allauth's rate limits."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from apps.accounts.models import Invitation, User
from apps.notifications.models import OutboundEmail
from tests.factories import PASSWORD, UserFactory

from .conftest import mails_to

NEW_PASSWORD = "a long and unusual passphrase"


def _signup(client, email, callbacks, **extra):
    with callbacks(execute=True):
        return client.post(
            "/accounts/signup/",
            {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
            **extra,
        )


def test_new_partner_signs_up_through_the_link_and_lands_in_the_space(
    client, founder, invite, django_capture_on_commit_callbacks
):
    _, token = invite("ben@example.com")
    mail.outbox.clear()

    page = client.get(f"/invite/{token}/")
    assert "?email=ben%40example.com" in page.content.decode()
    form = client.get("/accounts/signup/?email=ben@example.com")
    assert 'value="ben@example.com"' in form.content.decode()
    response = _signup(client, "Ben@example.com", django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == "/home/"
    ben = User.objects.get(email__iexact="ben@example.com")
    assert ben.space == founder.space
    assert EmailAddress.objects.get(user=ben).verified
    # The invitation proved the address: no second (verification) e-mail.
    assert mail.outbox == []
    dashboard = client.get("/home/").content.decode()
    assert "Anna" in dashboard and "Ben" in dashboard
    assert Invitation.objects.get().accepted_by == ben


def test_signing_up_through_the_link_with_another_address_needs_verification(
    client, founder, invite, django_capture_on_commit_callbacks
):
    _, token = invite("ben@example.com")
    mail.outbox.clear()
    client.get(f"/invite/{token}/")
    response = _signup(client, "someone.else@example.com", django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="someone.else@example.com")
    assert user.space_id is None
    assert not EmailAddress.objects.filter(user=user, verified=True).exists()
    # The invited address is not attached to this account behind the user's back.
    assert not EmailAddress.objects.filter(email__iexact="ben@example.com").exists()
    assert len(mails_to("someone.else@example.com")) == 1
    assert Invitation.objects.get().accepted_at is None


def test_existing_owner_of_the_invited_address_who_signs_up_instead_gets_no_500(
    client, founder, invite, django_capture_on_commit_callbacks
):
    UserFactory(email="ben@example.com")
    _, token = invite("ben@example.com")
    client.get(f"/invite/{token}/")
    response = _signup(client, "other@example.com", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert User.objects.filter(email__iexact="ben@example.com").count() == 1


def test_plain_signup_needs_e_mail_verification(client, db, django_capture_on_commit_callbacks):
    response = _signup(client, "new@example.com", django_capture_on_commit_callbacks)
    assert response["Location"] == "/accounts/confirm-email/"
    [message] = mails_to("new@example.com")
    assert "/accounts/confirm-email/" in message.body
    # Through the outbox, with the site's name filled in (not "Hello from !").
    assert message.subject == "[Keepsake] Please Confirm Your Email Address"
    assert "Hello from Keepsake!" in message.body
    assert OutboundEmail.objects.get(to_email="new@example.com").status == "sent"


def test_password_reset_mail_goes_through_the_outbox(
    client, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": alice.email})
    [message] = mails_to(alice.email)
    assert "/accounts/password/reset/key/" in message.body
    assert "Hello from Keepsake!" in message.body
    row = OutboundEmail.objects.get(to_email=alice.email)
    assert (row.template, row.user) == ("password_reset_key", alice)


class TestInviteOnly:
    @pytest.fixture(autouse=True)
    def _closed(self, settings):
        settings.KEEPSAKE_OPEN_SIGNUP = False

    def test_plain_signup_is_closed(self, client, db, django_capture_on_commit_callbacks):
        page = client.get("/accounts/signup/")
        assert page.status_code == 200
        assert "invite-only" in page.content.decode().lower()
        _signup(client, "new@example.com", django_capture_on_commit_callbacks)
        assert not User.objects.filter(email="new@example.com").exists()

    def test_signup_through_a_valid_invitation_is_open(
        self, client, founder, invite, django_capture_on_commit_callbacks
    ):
        _, token = invite("ben@example.com")
        client.get(f"/invite/{token}/")
        assert 'name="password1"' in client.get("/accounts/signup/").content.decode()
        response = _signup(client, "ben@example.com", django_capture_on_commit_callbacks)
        assert response["Location"] == "/home/"
        assert User.objects.get(email="ben@example.com").space == founder.space

    def test_invitation_does_not_open_signup_for_another_address(
        self, client, founder, invite, django_capture_on_commit_callbacks
    ):
        _, token = invite("ben@example.com")
        client.get(f"/invite/{token}/")
        response = _signup(client, "intruder@example.com", django_capture_on_commit_callbacks)
        assert response.status_code == 200
        assert "address your invitation was sent to" in response.content.decode()
        assert not User.objects.filter(email="intruder@example.com").exists()

    def test_a_used_or_forged_invitation_does_not_open_signup(
        self, client, founder, invite, django_capture_on_commit_callbacks
    ):
        invitation, token = invite("ben@example.com")
        client.get(f"/invite/{token}/")
        Invitation.objects.filter(pk=invitation.pk).update(revoked_at=invitation.created_at)
        _signup(client, "ben@example.com", django_capture_on_commit_callbacks)
        assert not User.objects.filter(email="ben@example.com").exists()
        client.get("/invite/forged-token/")
        _signup(client, "ben@example.com", django_capture_on_commit_callbacks)
        assert not User.objects.filter(email="ben@example.com").exists()


def test_login_failures_are_rate_limited(client, alice):
    for _ in range(5):
        wrong = client.post("/accounts/login/", {"login": alice.email, "password": "nope"})
        assert wrong.status_code == 200
    blocked = client.post("/accounts/login/", {"login": alice.email, "password": PASSWORD})
    # Even the right password is refused until the window passes.
    assert blocked.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert "too many" in blocked.content.decode().lower()


def test_login_works_with_the_right_password(client, alice):
    response = client.post("/accounts/login/", {"login": alice.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_signup_asks_for_a_display_name(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/accounts/signup/",
            {
                "email": "zoe@example.com",
                "display_name": "  Zoë ",
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            },
        )
    assert User.objects.get(email="zoe@example.com").display_name == "Zoë"


def test_oversized_display_name_is_refused_at_signup(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "zoe@example.com",
            "display_name": "Z" * 61,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "at most 60 characters" in response.content.decode()
    assert not User.objects.filter(email="zoe@example.com").exists()


def test_admin_cannot_move_people_between_spaces(client, alice):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(f"/admin/accounts/user/{alice.pk}/change/")
    assert page.status_code == 200
    assert 'name="space"' not in page.content.decode()


def test_password_reset_mails_are_rate_limited(client, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            client.post("/accounts/password/reset/", {"email": alice.email}) for _ in range(8)
        ]
    assert responses[0].status_code == 302
    assert any(r.status_code in (200, 429) for r in responses[5:])
    # allauth's "5 a minute per address" limit: the mailbox is not flooded.
    assert len(mails_to(alice.email)) == 5


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "web:8000"])
def test_allauth_links_point_at_the_base_url_whatever_host_the_request_used(
    client, alice, settings, host, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://keepsake.example.org"
    settings.ALLOWED_HOSTS = ["*"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": alice.email}, HTTP_HOST=host)
    _signup(client, "new@example.com", django_capture_on_commit_callbacks, HTTP_HOST=host)
    [reset] = mails_to(alice.email)
    [confirm] = mails_to("new@example.com")
    assert "https://keepsake.example.org/accounts/password/reset/key/" in reset.body
    assert "https://keepsake.example.org/accounts/confirm-email/" in confirm.body
    for message in (reset, confirm):
        assert host not in message.body
