"""The token-authenticated URLs: exactly these answer without a session, each token for
one purpose and one person, and each can be reset or expires."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.accounts import services as accounts_services
from apps.accounts.models import Invitation
from apps.notifications import services as notification_services
from apps.notifications.models import EmailOptOut
from apps.rituals import services as ritual_services
from apps.rituals.models import CheckIn
from tests.factories import UserFactory

from .conftest import PUBLIC_ROUTES, TOKEN_ROUTES, all_routes, client_for, fillings

pytestmark = pytest.mark.django_db


def test_only_the_listed_patterns_answer_without_a_session(world):
    anonymous = Client()
    login = reverse(settings.LOGIN_URL)
    open_to_anyone = set()
    for route in all_routes():
        for kwargs in fillings(route, world):
            response = anonymous.get(route.reverse(**kwargs))
            # healthz answers 503 until the scheduler has ticked: that is its job.
            assert response.status_code < 500 or route.name == "healthz", route.name
            if not (response.status_code == 302 and response["Location"].startswith(login)):
                open_to_anyone.add(route.name)
    assert open_to_anyone == set(PUBLIC_ROUTES)


def test_token_routes_are_a_subset_of_the_public_ones():
    assert set(TOKEN_ROUTES) <= set(PUBLIC_ROUTES)


# --- Each token opens one door -----------------------------------------------------------


def _checkin_token(world, user=None, day=dt.date(2026, 1, 5)):
    return ritual_services.checkin_token(
        ritual_id=world.one.ritual.pk, day=day, user_id=(user or world.one.first).pk
    )


def _unsubscribe_token(world, user=None, category="reminders"):
    return notification_services.unsubscribe_token(
        user_id=(user or world.one.first).pk, category=category
    )


def test_each_token_works_only_at_its_own_door(world):
    client = Client()
    tokens = {
        "checkin": _checkin_token(world),
        "unsubscribe": _unsubscribe_token(world),
        "feed": world.one.feed_token,
        "invitation": world.one.invitation_token,
    }
    doors = {
        "checkin": lambda t: reverse("rituals:email_check_in", args=[t, "kept"]),
        "unsubscribe": lambda t: reverse("notifications:unsubscribe", args=[t]),
        "feed": lambda t: reverse("rituals:feed", args=[t]),
        "invitation": lambda t: reverse("accounts:invitation", args=[t]),
    }
    for door, url_for in doors.items():
        for kind, token in tokens.items():
            status = client.get(url_for(token)).status_code
            if kind == door:
                assert status == 200, (door, kind)
            else:
                assert status == 404, (door, kind, status)
            for method in ("post",):
                if kind != door:
                    assert getattr(client, method)(url_for(token)).status_code in (404, 405)
    assert not CheckIn.objects.filter(
        ritual=world.one.ritual, occurrence=dt.date(2026, 1, 5)
    ).exists()
    assert not EmailOptOut.objects.exists()


def _flip_last(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def test_a_tampered_token_is_a_404_everywhere(world):
    client = Client()
    checkin = _checkin_token(world)
    unsubscribe = _unsubscribe_token(world)
    assert (
        client.get(
            reverse("rituals:email_check_in", args=[_flip_last(checkin), "kept"])
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("notifications:unsubscribe", args=[_flip_last(unsubscribe)])
        ).status_code
        == 404
    )
    assert (
        client.get(reverse("rituals:feed", args=[_flip_last(world.one.feed_token)])).status_code
        == 404
    )
    assert client.get(reverse("accounts:invitation", args=["A" * 43])).status_code == 404


def test_a_checkin_token_answers_for_its_own_partner_only(world):
    client = Client()
    token = _checkin_token(world, user=world.one.second)
    response = client.post(reverse("rituals:email_check_in", args=[token, "kept"]))
    assert response.status_code == 200
    check_in = CheckIn.objects.get(ritual=world.one.ritual, occurrence=dt.date(2026, 1, 5))
    assert check_in.user == world.one.second
    # A token of someone who is no longer in the ritual's space opens nothing.
    stranger_token = _checkin_token(world, user=world.two.first)
    response = client.post(reverse("rituals:email_check_in", args=[stranger_token, "kept"]))
    assert response.status_code == 404
    assert (
        not CheckIn.objects.filter(user=world.two.first)
        .exclude(ritual__space=world.two.space)
        .exists()
    )


def test_checkin_tokens_expire(world):
    token = _checkin_token(world)
    url = reverse("rituals:email_check_in", args=[token, "kept"])
    later = timezone.now() + dt.timedelta(days=settings.RITUALS_CHECKIN_LINK_DAYS, hours=1)
    with time_machine.travel(later, tick=False):
        assert Client().get(url).status_code == 404
        assert Client().post(url).status_code == 404
    assert not CheckIn.objects.filter(occurrence=dt.date(2026, 1, 5)).exists()


def test_an_unsubscribe_token_opts_out_one_person_from_one_category(world):
    token = _unsubscribe_token(world, category="journal")
    assert Client().post(reverse("notifications:unsubscribe", args=[token])).status_code == 200
    assert list(EmailOptOut.objects.values_list("user_id", "category")) == [
        (world.one.first.pk, "journal")
    ]


def test_a_feed_reset_makes_the_old_address_a_404(world):
    old = world.one.feed_token
    assert Client().get(reverse("rituals:feed", args=[old])).status_code == 200
    partner = ritual_services.calendar_feed_reset(user=world.one.second)
    owner = client_for(world.one.first)
    response = owner.post(reverse("rituals:calendar"))
    assert response.status_code == 302
    # The new address is shown once, on the page the reset leads to.
    page = owner.get(response.url).content.decode()
    new = re.search(r"/rituals/feed/([^\"/]+)\.ics", page).group(1)
    assert new != old
    assert Client().get(reverse("rituals:feed", args=[old])).status_code == 404
    assert Client().get(reverse("rituals:feed", args=[new])).status_code == 200
    # The partner's own feed token is theirs alone and unaffected.
    assert partner not in (old, new)
    assert Client().get(reverse("rituals:feed", args=[partner])).status_code == 200


def test_the_feed_of_someone_who_left_the_space_is_gone(world):
    user = world.one.first
    user.space = None
    user.save(update_fields=["space"])
    assert Client().get(reverse("rituals:feed", args=[world.one.feed_token])).status_code == 404


# --- Invitations -----------------------------------------------------------------------------


def test_invitation_tokens_are_long_random_and_stored_only_as_a_hash(world):
    token = world.one.invitation_token
    assert len(token) >= 43  # 32 random bytes
    row = Invitation.objects.filter(pk=world.one.invitation.pk).values().get()
    for value in row.values():
        assert token not in str(value)
    assert row["token_hash"] != token
    other = world.two.invitation_token
    assert other != token


def test_an_invitation_link_works_once(db, django_capture_on_commit_callbacks):
    from tests.factories import SpaceFactory

    space = SpaceFactory()
    founder = UserFactory(space=space, joined_space_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        _, token = accounts_services.invitation_create(
            space=space, invited_by=founder, email="ben@example.com"
        )
    ben = UserFactory(email="ben@example.com")
    url = reverse("accounts:invitation", args=[token])
    assert client_for(ben).post(url).status_code == 302
    ben.refresh_from_db()
    assert ben.space_id == space.pk
    # Used: nobody else can use the same link, signed in or not.
    late = UserFactory(email="late@example.com")
    assert client_for(late).post(url).status_code == 410
    assert Client().get(url).status_code == 410
    late.refresh_from_db()
    assert late.space_id is None


# --- Garbage tokens ----------------------------------------------------------------------------


def _action(route) -> dict:
    return {"action": "kept"} if "action" in route.args else {}


@pytest.mark.parametrize("name", sorted(TOKEN_ROUTES))
def test_garbage_tokens_are_a_404_never_a_500(name, world):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from .hostile import HOSTILE

    route = next(r for r in all_routes() if r.name == name)
    client = Client()
    token_text = st.one_of(
        st.sampled_from([h for h in HOSTILE if h and "/" not in h]),
        st.text(min_size=1, max_size=300).filter(lambda t: "/" not in t),
    )

    # Every hostile value once (NUL bytes reach PostgreSQL only this way), then random ones.
    for token in HOSTILE:
        if token and "/" not in token:
            for method in ("get", "post"):
                url = route.reverse(**{"token": token, **_action(route)})
                status = getattr(client, method)(url).status_code
                assert status in (404, 405, 410), (url, status)

    @settings(
        max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(token=token_text, method=st.sampled_from(["get", "post"]))
    def check(token, method):
        kwargs = {"token": token, **_action(route)}
        try:
            url = route.reverse(**kwargs)
        except NoReverseMatch:  # a value the URL pattern itself refuses
            return
        response = getattr(client, method)(url)
        assert response.status_code in (404, 405, 410), (url, response.status_code)

    check()


def test_an_invitation_link_expires(world):
    url = reverse("accounts:invitation", args=[world.one.invitation_token])
    assert Client().get(url).status_code == 200
    later = timezone.now() + dt.timedelta(days=settings.INVITATION_DAYS, hours=1)
    with time_machine.travel(later, tick=False):
        assert Client().get(url).status_code == 410
        newcomer = client_for(UserFactory(email=world.one.invitation.email))
        assert newcomer.post(url).status_code == 410


def test_the_open_pages_without_a_token_show_nothing_private(world):
    client = Client()
    # The local inbox exists only in a DEBUG run with the file mailbox.
    assert client.get(reverse("notifications:mailbox")).status_code == 404
    health = client.get(reverse("healthz")).json()
    assert set(health) == {"status", "database", "broker", "scheduler", "last_tick_seconds_ago"}
    landing = client.get(reverse("home:landing")).content.decode()
    for secret in (world.one.space.name, world.one.first.email, world.one.entry.text):
        assert secret not in landing
