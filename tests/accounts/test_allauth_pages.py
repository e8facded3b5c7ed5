"""allauth's pages look like the rest of Keepsake: one h1, labelled fields, Bootstrap."""

import re

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str

from tests.factories import UserFactory


def _assert_keepsake_page(response, url):
    body = response.content.decode()
    assert response.status_code == 200, url
    assert len(re.findall(r"<h1\b", body)) == 1, url
    assert "/static/vendor/bootstrap/bootstrap.min.css" in body, url
    assert 'class="navbar' in body, url  # our layout, not allauth's bare one
    # Every visible input, select and textarea has a <label for=…>.
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", body):
        if re.search(r'type="(hidden|submit)"', tag):
            continue
        field_id = re.search(r'id="([^"]+)"', tag)
        assert field_id, (url, tag)
        assert f'for="{field_id.group(1)}"' in body, (url, tag)
    assert "style=" not in body, url  # CSP forbids inline styles
    return body


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/confirm-email/",
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/password/reset/key/done/",
        "/accounts/confirm-email/not-a-real-key/",
        "/accounts/password/reset/key/1-bad-key/",
    ],
)
def test_signed_out_pages_render(client, db, url):
    _assert_keepsake_page(client.get(url), url)


@pytest.mark.parametrize(
    "url",
    ["/accounts/email/", "/accounts/password/change/", "/accounts/logout/"],
)
def test_signed_in_pages_render(alice_client, url):
    _assert_keepsake_page(alice_client.get(url), url)


def test_confirm_email_page_with_a_real_key(client, db):
    user = UserFactory(verified=False)
    EmailAddress.objects.filter(user=user).update(verified=False)
    key = EmailConfirmationHMAC(EmailAddress.objects.get(user=user)).key
    url = f"/accounts/confirm-email/{key}/"
    body = _assert_keepsake_page(client.get(url), url)
    assert user.email in body
    assert client.post(url).status_code == 302
    assert EmailAddress.objects.get(user=user).verified


def test_password_reset_from_a_real_key(client, alice):
    key = default_token_generator.make_token(alice)
    url = f"/accounts/password/reset/key/{user_pk_to_url_str(alice)}-{key}/"
    response = client.get(url, follow=True)
    body = _assert_keepsake_page(response, url)
    assert 'name="password1"' in body


def test_signup_closed_page_renders(client, db, settings):
    settings.KEEPSAKE_OPEN_SIGNUP = False
    _assert_keepsake_page(client.get("/accounts/signup/"), "signup closed")


def test_login_form_is_bootstrap(client, db):
    body = client.get("/accounts/login/").content.decode()
    assert re.search(r'<input[^>]*name="login"[^>]*class="[^"]*form-control', body)
    assert re.search(r'<button class="btn btn-primary[^>]*type="submit"', body)


def test_login_errors_are_shown_next_to_the_form(client, alice):
    response = client.post("/accounts/login/", {"login": alice.email, "password": "wrong"})
    body = _assert_keepsake_page(response, "login error")
    assert "alert" in body
    assert "not correct" in body
