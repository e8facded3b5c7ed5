"""No open redirects: every `next` the app honours stays on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

from .conftest import client_for

pytestmark = pytest.mark.django_db

OFF_SITE = [
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "http:/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "evil.example",
    "home:dashboard",
]


def _stays_here(location: str) -> bool:
    """As a browser reads it: backslashes count as slashes, spaces are trimmed."""
    parts = urlsplit(location.strip().replace("\\", "/"))
    return not parts.scheme and not parts.netloc


@pytest.mark.parametrize("target", OFF_SITE)
def test_app_next_parameters_stay_on_site(world, target):
    partner = client_for(world.one.second)
    day = "2026-01-09"
    cases = [
        (
            reverse("rituals:check_in", args=[world.one.ritual.pk]),
            {"day": day, "status": "kept", "next": target},
        ),
        (
            reverse("journal:appreciate", args=[world.one.entry.pk]),
            {"heart": "on", "next": target},
        ),
    ]
    for url, data in cases:
        response = partner.post(url, data)
        assert response.status_code == 302, url
        assert _stays_here(response["Location"]), (url, response["Location"])


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_next_stays_on_site(alice, target):
    client = Client()
    response = client.post(
        reverse("account_login") + "?next=" + target,
        {"login": alice.email, "password": PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert _stays_here(response["Location"]), response["Location"]


@pytest.mark.parametrize(
    "name", ["home:landing", "home:dashboard", "portability:my_data", "notifications:mailbox"]
)
def test_read_only_pages_refuse_writes(alice_client, name):
    """Pages that only show things answer a POST (or PUT, DELETE) with 405, not a page."""
    url = reverse(name)
    assert alice_client.get(url).status_code in (200, 302, 404)  # the mailbox: DEBUG only
    for method in ("post", "put", "delete"):
        assert getattr(alice_client, method)(url).status_code == 405, (method, url)
