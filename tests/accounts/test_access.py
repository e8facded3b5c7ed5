"""Access rules: signed in, in a space, only this space's objects, CSRF on every POST."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts import selectors, services
from apps.accounts.models import Invitation, Space
from apps.notifications.models import Category, EmailOptOut, OutboundEmail
from tests.factories import SpaceFactory, UserFactory


def test_invitations_are_found_only_through_the_viewers_space(client, alice, stranger):
    theirs, _ = services.invitation_create(
        space=stranger.space, invited_by=stranger, email="x@example.com"
    )
    assert list(selectors.invitations_visible_to(alice)) == []
    assert list(selectors.invitations_visible_to(stranger)) == [theirs]
    client.force_login(alice)
    assert client.post(f"/space/invite/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_pages_need_a_space(client, db):
    client.force_login(UserFactory())
    for url in ("/space/", "/home/"):
        assert client.get(url)["Location"] == "/space/new/"


@pytest.fixture
def csrf_client(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_every_post_needs_a_csrf_token(csrf_client, alice, space, stranger):
    invitation, _ = services.invitation_create(
        space=space, invited_by=alice, email="someone@example.com"
    )
    posts = {
        "/space/": {"name": "Hacked", "time_zone": "UTC", "anniversary": "2000-01-01"},
        "/space/invite/": {"email": "evil@example.com"},
        f"/space/invite/{invitation.pk}/revoke/": {},
        "/settings/": {"form": "profile", "display_name": "Hacked", "time_zone": "UTC"},
        "/settings/test-email/": {},
        "/accounts/logout/": {},
        "/accounts/email/": {"action_add": "", "email": "evil@example.com"},
        "/accounts/password/change/": {
            "oldpassword": "correct horse battery",
            "password1": "a brand new passphrase",
            "password2": "a brand new passphrase",
        },
    }
    before = OutboundEmail.objects.count()
    for url, data in posts.items():
        assert csrf_client.post(url, data).status_code == 403, url

    space.refresh_from_db()
    alice.refresh_from_db()
    invitation.refresh_from_db()
    assert space.name != "Hacked"
    assert alice.display_name == "Alice"
    assert invitation.revoked_at is None
    assert Invitation.objects.count() == 1
    assert OutboundEmail.objects.count() == before
    assert csrf_client.get("/home/").status_code == 200  # still signed in


def test_anonymous_posts_need_a_csrf_token(db, founder):
    client = Client(enforce_csrf_checks=True)
    _, token = services.invitation_create(
        space=founder.space, invited_by=founder, email="ben@example.com"
    )
    for url, data in {
        "/accounts/login/": {"login": founder.email, "password": "correct horse battery"},
        "/accounts/signup/": {"email": "n@example.com", "password1": "x" * 12},
        "/accounts/password/reset/": {"email": founder.email},
    }.items():
        assert client.post(url, data).status_code == 403, url

    newcomer = Client(enforce_csrf_checks=True)
    newcomer.force_login(UserFactory(email="ben@example.com"))
    assert newcomer.post(f"/invite/{token}/").status_code == 403
    assert (
        newcomer.post(
            "/space/new/", {"name": "X", "time_zone": "UTC", "anniversary": "2000-01-01"}
        ).status_code
        == 403
    )
    assert Invitation.objects.get().accepted_at is None
    assert Space.objects.count() == 1


def test_forms_carry_the_csrf_token(csrf_client):
    for url in ("/space/", "/settings/", "/home/"):
        assert "csrfmiddlewaretoken" in csrf_client.get(url).content.decode(), url


def _heap_of_data(space, founder, n):
    """Rows that grow with use and with other couples: none may cost a query each."""
    others = [SpaceFactory() for _ in range(n)]
    for i, other in enumerate(others):
        UserFactory(space=other, joined_space_at=timezone.now(), email=f"o{i}@example.com")
    now = timezone.now()
    Invitation.objects.bulk_create(
        Invitation(
            space=space,
            email=f"old{i}@example.com",
            token_hash=f"{i:064x}",
            invited_by=founder,
            expires_at=now + dt.timedelta(days=7),
            revoked_at=now,
        )
        for i in range(n)
    )
    # Old invitations, so the daily invitation limit is not what this is about.
    Invitation.objects.filter(email__startswith="old").update(
        created_at=now - dt.timedelta(days=30)
    )
    OutboundEmail.objects.bulk_create(
        OutboundEmail(
            dedupe_key=f"heap:{i}",
            user=founder,
            to_email=founder.email,
            category=Category.ACCOUNT,
            template="test",
            subject="s",
            body_text="b",
            status=OutboundEmail.Status.FAILED if i % 2 else OutboundEmail.Status.SENT,
        )
        for i in range(n)
    )
    EmailOptOut.objects.get_or_create(user=founder, category=Category.JOURNAL)


@pytest.mark.parametrize("url", ["/home/", "/space/", "/settings/"])
def test_page_query_count_does_not_grow_with_data(
    client, alice, bob, space, url, django_assert_num_queries
):
    client.force_login(alice)
    client.get(url)  # warm up (session, caches)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200

    _heap_of_data(space, alice, 60)
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200


def test_space_page_with_a_pending_invitation_has_a_fixed_query_count(
    client, founder, django_assert_num_queries
):
    services.invitation_create(space=founder.space, invited_by=founder, email="b@example.com")
    client.force_login(founder)
    client.get("/space/")
    with CaptureQueriesContext(connection) as small:
        client.get("/space/")
    _heap_of_data(founder.space, founder, 60)
    services.invitation_create(space=founder.space, invited_by=founder, email="c@example.com")
    with django_assert_num_queries(len(small.captured_queries)):
        assert "c@example.com" in client.get("/space/").content.decode()
