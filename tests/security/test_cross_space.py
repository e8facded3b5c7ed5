"""Cross-space sweep: every routed pattern, filled with another space's ids, is a 404."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from .conftest import (
    HOSTILE_POST,
    NOT_SPACE_SCOPED,
    PUBLIC_ROUTES,
    TOKEN_ROUTES,
    all_routes,
    client_for,
    db_snapshot,
    fillings,
    snapshot_diff,
)

pytestmark = pytest.mark.django_db

ROUTES = all_routes()


def _swept(route) -> bool:
    return bool(route.args) and route.name not in TOKEN_ROUTES | NOT_SPACE_SCOPED.keys()


def test_every_argument_of_every_pattern_can_be_filled(world):
    """A new pattern with an argument nobody taught the sweep about fails here."""
    for route in ROUTES:
        assert fillings(route, world)


def test_the_exception_lists_name_real_patterns():
    names = {r.name for r in ROUTES}
    assert set(PUBLIC_ROUTES) <= names
    assert set(TOKEN_ROUTES) <= names
    assert set(NOT_SPACE_SCOPED) <= names


def test_the_sweep_reaches_the_apps():
    swept = {r.name for r in ROUTES if _swept(r)}
    # The object pages of every feature app are in the sweep.
    for expected in ("rituals:detail", "journal:edit", "vault:seal", "vault:year"):
        assert expected in swept
    assert len(swept) >= 17, sorted(swept)


# A value no row has, of the same kind as the real one: for integers 2**31 - 2 (still an
# int4 for PostgreSQL), for UUIDs a fresh one.
GHOST_INT = 2_147_483_646


def _ghost(value):
    if isinstance(value, int):
        return GHOST_INT
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise AssertionError(f"no made-up value for {value!r}: teach _ghost() about it") from None
    return str(uuid.uuid4())


def _request(client, method: str, url: str):
    return getattr(client, method)(url, HOSTILE_POST if method == "post" else None)


def refusal_problem(client, method: str, route, kwargs: dict) -> str | None:
    """None if the answer is a 404, or a 405 that the same request for an object that does
    not exist gets as well (a method check before the lookup tells nothing); else what's wrong.
    """
    url = route.reverse(**kwargs)
    response = _request(client, method, url)
    if response.status_code == 404:
        return None
    if response.status_code != 405:
        return f"{method.upper()} {url} → {response.status_code}"
    ghost_url = route.reverse(**{name: _ghost(value) for name, value in kwargs.items()})
    ghost = _request(client, method, ghost_url)
    answer = (response.status_code, response.get("Allow"), response.content)
    if (ghost.status_code, ghost.get("Allow"), ghost.content) == answer:
        return None
    return (
        f"{method.upper()} {url} → 405 (Allow: {response.get('Allow')}), but {ghost_url}, "
        f"which names nothing, → {ghost.status_code}: the answer tells the object exists"
    )


def test_a_member_of_another_space_gets_404_and_changes_nothing(world):
    visitors = [client_for(world.two.first), client_for(world.two.second)]
    before = db_snapshot()
    failures = []
    tried = 0
    for route in ROUTES:
        if not _swept(route):
            continue
        for kwargs in fillings(route, world):
            for client in visitors:
                methods = (
                    ("get", "post", "put", "delete") if client is visitors[0] else ("get", "post")
                )
                for method in methods:
                    tried += 1
                    problem = refusal_problem(client, method, route, kwargs)
                    if problem:
                        failures.append(problem)
    assert not failures, "\n".join(failures)
    assert snapshot_diff(before, db_snapshot()) == []
    assert tried >= 80


def test_a_405_that_depends_on_the_object_is_caught(world, monkeypatch):
    """The control for the rule above: a view that finds the object without the space and
    then refuses the method answers 405 for a real id, 404 for a made-up one."""
    from django.http import HttpResponseNotAllowed
    from django.shortcuts import get_object_or_404

    from apps.journal.models import Entry

    route = next(r for r in ROUTES if r.name == "journal:entry")
    visitor = client_for(world.two.first)
    kwargs = {"pk": world.one.entry.pk}
    assert refusal_problem(visitor, "post", route, kwargs) is None  # the real view: a 405

    def leaky(request, pk):
        get_object_or_404(Entry, pk=pk)
        return HttpResponseNotAllowed(["GET"])

    monkeypatch.setattr(route.pattern, "callback", leaky)
    problem = refusal_problem(visitor, "post", route, kwargs)
    assert problem is not None
    assert "tells the object exists" in problem


def test_the_owners_reach_the_same_urls(world):
    """The control: the ids tried above are real (their owners do not get a 404)."""
    owners = [client_for(world.one.first), client_for(world.one.second)]
    missing = []
    for route in ROUTES:
        if not _swept(route):
            continue
        reached = False
        for kwargs in fillings(route, world):
            url = route.reverse(**kwargs)
            for client in owners:
                status = client.get(url).status_code
                if status == 405:
                    status = client.post(url, HOSTILE_POST).status_code
                if status not in (404, 405):
                    reached = True
        if not reached:
            missing.append(route.name)
    assert not missing, f"no filled value reaches these patterns for their owners: {missing}"


def test_anonymous_visitors_are_sent_to_sign_in(world):
    anonymous = Client()
    login = reverse(settings.LOGIN_URL)
    before = db_snapshot()
    failures = []
    for route in ROUTES:
        if route.name in PUBLIC_ROUTES:
            continue
        for kwargs in fillings(route, world):
            url = route.reverse(**kwargs)
            for method in ("get", "post"):
                response = getattr(anonymous, method)(
                    url, HOSTILE_POST if method == "post" else None
                )
                location = response.get("Location", "")
                if response.status_code != 302 or not location.startswith(login):
                    failures.append(f"{method.upper()} {url} → {response.status_code} {location}")
    assert not failures, "\n".join(failures)
    assert snapshot_diff(before, db_snapshot()) == []


def test_another_spaces_ids_in_a_form_are_refused(world):
    """Ids travel in bodies and query strings too: a partner of another space is no choice."""
    from apps.rituals.models import Ritual

    visitor = client_for(world.two.first)
    stranger = world.one.first
    before = Ritual.objects.count()
    response = visitor.post(
        reverse("rituals:create"),
        {
            "title": "Borrowed giver",
            "participation": "gives",
            "giver": stranger.pk,
            "freq": "daily",
            "interval": "1",
            "starts_on": "2026-01-01",
            "time_of_day": "10:00",
        },
    )
    assert response.status_code == 200
    assert "giver" in response.context["form"].errors
    assert Ritual.objects.count() == before
    page = visitor.get(reverse("journal:index"), {"author": stranger.pk})
    assert page.status_code == 200
    assert world.one.entry.text not in page.content.decode()


def test_a_partner_cannot_reach_the_others_private_entry_or_unopened_letters(world):
    """Inside one space too: private entries, drafts and sealed letters are the author's."""
    partner = client_for(world.one.second)
    private = {
        "journal": [world.one.private_entry.pk],
        "vault": [str(world.one.letters["draft"].pk), str(world.one.letters["sealed"].pk)],
    }
    before = db_snapshot()
    failures = []
    for route in ROUTES:
        if route.args != ["pk"] or route.namespace not in private:
            continue
        for pk in private[route.namespace]:
            for method in ("get", "post"):
                problem = refusal_problem(partner, method, route, {"pk": pk})
                if problem:
                    failures.append(problem)
    assert not failures, "\n".join(failures)
    assert snapshot_diff(before, db_snapshot()) == []


def test_someone_without_a_space_is_sent_to_create_one_and_sees_nothing(world):
    from tests.factories import UserFactory

    loner = client_for(UserFactory(email="loner@example.com"))
    secrets = (world.one.entry.text, world.one.ritual.title, world.one.space.name)
    failures = []
    for route in ROUTES:
        if route.name in TOKEN_ROUTES:
            continue
        for kwargs in fillings(route, world):
            url = route.reverse(**kwargs)
            for method in ("get", "post"):
                response = getattr(loner, method)(url, HOSTILE_POST if method == "post" else None)
                if response.status_code >= 500 and route.name != "healthz":
                    failures.append(f"{method.upper()} {url} → {response.status_code}")
                body = response.content.decode(errors="replace")
                if any(secret in body for secret in secrets):
                    failures.append(f"{method.upper()} {url} shows space one's data")
    assert not failures, "\n".join(failures)
