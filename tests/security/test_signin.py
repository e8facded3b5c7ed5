"""Sign-in: sessions rotate and end, every POST needs CSRF, rate limits hold."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.notifications.models import OutboundEmail
from tests.factories import PASSWORD

from .conftest import TOKEN_ROUTES, all_routes, fillings

pytestmark = pytest.mark.django_db

# Deliberately without CSRF: tokens in the URL authenticate them, and mail clients POST
# there without a form (RFC 8058 one-click unsubscribe).
CSRF_EXEMPT = {"notifications:unsubscribe"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits(db):
    cache.clear()
    yield
    cache.clear()


def _login(client, email, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def _signed_in_as(client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


# --- Sessions -------------------------------------------------------------------------------


def test_the_session_key_changes_at_sign_in(alice):
    client = Client()
    client.get(reverse("account_login"))
    session = client.session
    session["before"] = "yes"
    session.save()
    before = session.session_key
    assert client.cookies[settings.SESSION_COOKIE_NAME].value == before

    assert _login(client, alice.email).status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert _signed_in_as(client) == alice.pk
    assert after != before
    # The old key authenticates nobody.
    old = Client()
    old.cookies[settings.SESSION_COOKIE_NAME] = before
    assert old.get(reverse("home:dashboard")).status_code == 302


def test_signing_out_ends_the_session(alice):
    client = Client()
    assert _login(client, alice.email).status_code == 302
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert replay.get(reverse("home:dashboard")).status_code == 200

    assert client.post(reverse("account_logout")).status_code == 302
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    response = replay.get(reverse("home:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse(settings.LOGIN_URL))


# --- CSRF -------------------------------------------------------------------------------------


def _every_route_filled(world):
    """All project patterns (allauth's too, not the admin), with arguments filled."""
    for route in all_routes(skip=("admin/",)):
        if route.namespace == "" and route.args and route.name != "healthz":
            # allauth's keyed pages: the CSRF check comes before any lookup.
            yield route, route.reverse(**dict.fromkeys(route.args, "abc123"))
        else:
            for kwargs in fillings(route, world):
                yield route, route.reverse(**kwargs)


def test_every_post_needs_a_csrf_token(world):
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(world.one.first)
    anonymous = Client(enforce_csrf_checks=True)
    unprotected = set()
    for route, url in _every_route_filled(world):
        if route.name in CSRF_EXEMPT:
            continue
        for client in (signed_in, anonymous):
            response = client.post(url, {"x": "1"})
            if response.status_code != 403:
                unprotected.add(f"{route.name} {url} → {response.status_code}")
    assert not unprotected, "\n".join(sorted(unprotected))


def test_the_csrf_exempt_views_are_exactly_the_listed_ones():
    exempt = {
        r.name
        for r in all_routes(skip=("admin/",))
        if getattr(r.pattern.callback, "csrf_exempt", False)
    }
    assert exempt == CSRF_EXEMPT
    # and each exempt view is one a token in the URL authenticates
    assert exempt <= TOKEN_ROUTES


# --- Rate limits (allauth) -------------------------------------------------------------------


def test_failed_sign_ins_lock_the_address(alice):
    client = Client()
    for _ in range(5):
        response = _login(client, alice.email, "wrong password")
        assert response.status_code == 200
        assert _signed_in_as(client) is None
    # Now even the right password is refused for a while.
    response = _login(client, alice.email)
    assert _signed_in_as(client) is None
    assert response.status_code in (200, 429)
    # Another address from elsewhere is not affected by alice's lock.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert _login(other, alice.email).status_code in (200, 429)
    assert _signed_in_as(other) is None


def test_password_reset_mails_are_rate_limited(alice):
    client = Client()
    for _ in range(8):
        response = client.post(reverse("account_reset_password"), {"email": alice.email})
        assert response.status_code in (200, 302, 429)
    resets = OutboundEmail.objects.filter(to_email=alice.email).count()
    assert 1 <= resets <= 5


def test_the_limits_are_configured():
    limits = settings.ACCOUNT_RATE_LIMITS
    assert limits, "rate limits must not be switched off"
    assert limits["login_failed"] and limits["reset_password"]


def test_a_password_change_signs_out_the_other_sessions(alice):
    phone, laptop = Client(), Client()
    assert _login(phone, alice.email).status_code == 302
    assert _login(laptop, alice.email).status_code == 302
    response = laptop.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a new long passphrase",
            "password2": "a new long passphrase",
        },
    )
    assert response.status_code == 302
    # The device that changed it stays signed in; the other one is out.
    assert laptop.get(reverse("home:dashboard")).status_code == 200
    response = phone.get(reverse("home:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse(settings.LOGIN_URL))
