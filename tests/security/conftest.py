"""Two spaces with one of everything, a database snapshot, and the routed URL patterns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.apps import apps as django_apps
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from apps.accounts import services as accounts_services
from apps.journal import services as journal_services
from apps.notifications import services as notification_services
from apps.rituals import services as ritual_services
from apps.rituals.library import LIBRARY
from apps.rituals.models import Reminder
from apps.vault import services as vault_services
from apps.vault.models import Letter
from tests.factories import SpaceFactory, UserFactory
from tests.rituals.conftest import make_ritual

# --- The routed URL patterns ----------------------------------------------------------------

# Not the project's own pages: Django's admin and allauth's account pages (sign-in,
# sign-up, password reset…), which are not space-scoped. Everything else is swept.
SKIPPED_PREFIXES = ("admin/", "accounts/")


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    route: str  # the joined route string, for messages
    pattern: URLPattern
    arg_names: tuple

    @property
    def namespace(self) -> str:
        return self.name.split(":", 1)[0] if ":" in self.name else ""

    @property
    def args(self) -> list[str]:
        return list(self.arg_names)

    def reverse(self, **kwargs) -> str:
        from django.urls import reverse

        return reverse(self.name, kwargs=kwargs or None)


def _walk(resolver: URLResolver, prefix: str, namespace: str, args: tuple, skip: tuple):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(skip):
            continue
        names = args + tuple(n for n in entry.pattern.regex.groupindex if n not in args)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, route, ns, names, skip)
        else:
            if not entry.name:
                raise AssertionError(f"URL pattern {route!r} has no name: name it")
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(name=name, route=route, pattern=entry, arg_names=names)


def all_routes(skip: tuple = SKIPPED_PREFIXES) -> list[Route]:
    """Every URL pattern the project routes (recursively), minus those under ``skip``."""
    routes = list(_walk(get_resolver(), "", "", (), skip))
    assert routes, "no URL patterns found"
    return routes


# --- A snapshot of every row of every model -------------------------------------------------

# Sessions change with every sign-in and message; they are not the application's data.
UNSNAPSHOTTED = {Session}


def db_snapshot() -> dict[str, list]:
    snap = {}
    for model in django_apps.get_models():
        if model in UNSNAPSHOTTED:
            continue
        rows = model._default_manager.order_by("pk").values()
        snap[model._meta.label] = [
            {k: (bytes(v) if isinstance(v, memoryview) else v) for k, v in row.items()}
            for row in rows
        ]
    return snap


def snapshot_diff(before: dict, after: dict) -> list[str]:
    changed = []
    for label in before:
        if before[label] != after[label]:
            changed.append(f"{label}: {len(before[label])} → {len(after[label])} rows, or edited")
    return changed


# --- Two spaces with one of everything -------------------------------------------------------


@dataclass
class SpaceWorld:
    space: object
    first: object  # the founder
    second: object  # the partner
    ritual: object
    check_in: object
    entry: object  # the founder's shared entry, appreciated by the partner
    private_entry: object
    invitation: object
    invitation_token: str
    feed_token: str
    letters: dict  # "draft" / "sealed" / "opened" → Letter
    opened_year: int
    sealed_year: int


def build_space(*, label: str, anniversary: dt.date, seal_years_later: int) -> SpaceWorld:
    """A space with one of every kind of row, made through the apps' own services."""
    now = timezone.now()
    space = SpaceFactory(name=f"{label} space", anniversary=anniversary)
    first = UserFactory(
        email=f"{label}-1@example.com",
        display_name=f"{label} one",
        space=space,
        joined_space_at=now,
    )
    # A pending invitation while the space still has room.
    invitation, invitation_token = accounts_services.invitation_create(
        space=space, invited_by=first, email=f"{label}-invited@example.com"
    )
    second = UserFactory(
        email=f"{label}-2@example.com",
        display_name=f"{label} two",
        space=space,
        joined_space_at=now,
    )

    ritual = make_ritual(
        space, first, now=now, title=f"{label} walk", starts_on=dt.date(2026, 1, 1)
    )
    check_in = ritual_services.ritual_check_in(
        ritual=ritual, user=second, day=dt.date(2026, 1, 2), status="kept", note="Nice"
    )
    ritual_services.reminder_preference_set(
        user=first, ritual=ritual, kind="before", minutes_before=15
    )
    ritual_services.reminder_preference_set(user=second, kind="before", minutes_before=45)
    Reminder.objects.create(
        ritual=ritual,
        occurrence=dt.date(2026, 1, 3),
        recipient=first,
        status=Reminder.Status.SENT,
        due_at=now - dt.timedelta(days=3),
    )
    feed_token = ritual_services.calendar_feed_reset(user=first)

    entry = journal_services.entry_create(author=first, text=f"{label}: thanks for the soup")
    private_entry = journal_services.entry_create(
        author=first, text=f"{label}: a private note", is_private=True
    )
    journal_services.entry_appreciate(entry=entry, user=second, heart=True, reply="Always")
    journal_services.journal_settings_update(
        user=first, weekdays=[0, 3], nudge_time=dt.time(20, 0), digest_enabled=True
    )

    # Letters: an opened one (sealed years ago), a sealed one, and a draft each way.
    past = dt.datetime(2022, 3, 1, 12, tzinfo=dt.UTC)
    opened = vault_services.letter_create(author=first, title=f"{label} old", body="Opened text")
    vault_services.letter_seal(letter=opened, user=first, years_later=0, now=past)
    opened_back = vault_services.letter_create(author=second, title="Back", body="Back text")
    vault_services.letter_seal(letter=opened_back, user=second, years_later=0, now=past)
    vault_services.letters_open_due(now=now)
    sealed = vault_services.letter_create(author=first, title=f"{label} sealed", body="Secret")
    vault_services.letter_seal(letter=sealed, user=first, years_later=seal_years_later, now=now)
    draft = vault_services.letter_create(author=first, title=f"{label} draft", body="Draft text")
    partner_draft = vault_services.letter_create(author=second, title="Hers", body="Her draft")
    vault_services.nudge_set(user=first, enabled=True, now=now)
    opened.refresh_from_db()
    sealed.refresh_from_db()
    assert opened.status == Letter.Status.OPENED, opened.status
    vault_services.letter_mark_read(letter=opened, user=second, now=now)
    vault_services.presence_arrive(space=space, user=first, year=opened.opens_on.year, now=now)

    return SpaceWorld(
        space=space,
        first=first,
        second=second,
        ritual=ritual,
        check_in=check_in,
        entry=entry,
        private_entry=private_entry,
        invitation=invitation,
        invitation_token=invitation_token,
        feed_token=feed_token,
        letters={
            "draft": draft,
            "partner_draft": partner_draft,
            "sealed": sealed,
            "opened": opened,
            "opened_back": opened_back,
        },
        opened_year=opened.opens_on.year,
        sealed_year=sealed.opens_on.year,
    )


@dataclass
class World:
    one: SpaceWorld  # the space whose ids are tried
    two: SpaceWorld  # the space of the visitor


@pytest.fixture
def world(db, django_capture_on_commit_callbacks) -> World:
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        # Different anniversaries and sealing choices: the two spaces share no year, on
        # whatever day this runs (space two's letter opens two anniversaries on, so never
        # in the year of space one's next 14 February).
        two = build_space(label="two", anniversary=dt.date(2018, 9, 20), seal_years_later=2)
        one = build_space(label="one", anniversary=dt.date(2019, 2, 14), seal_years_later=0)
    years_one = {one.opened_year, one.sealed_year}
    years_two = {two.opened_year, two.sealed_year}
    assert not years_one & years_two, (years_one, years_two)
    yield World(one=one, two=two)
    cache.clear()


def client_for(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


# --- How each routed argument is filled ----------------------------------------------------

# URL patterns that answer without a session: each is public by design or authenticated
# by a token in the URL (see test_tokens.py). A new one makes the audit fail.
PUBLIC_ROUTES = {
    "healthz": "the load balancer's health check (no data)",
    "home:landing": "the landing page",
    "notifications:mailbox": "DEBUG-only local inbox (404 otherwise)",
    "notifications:unsubscribe": "token: one user, one e-mail category",
    "rituals:feed": "token: one partner's calendar feed, resettable",
    "rituals:email_check_in": "token: one partner, one ritual occurrence, expires",
    "accounts:invitation": "token: one invitation, stored hashed, single use, expires",
}
TOKEN_ROUTES = {
    "notifications:unsubscribe",
    "rituals:feed",
    "rituals:email_check_in",
    "accounts:invitation",
}

# Patterns whose arguments are not objects of a space (the same for every space).
NOT_SPACE_SCOPED = {
    "rituals:library_add": "key is an item of the shared ritual library",
}


def _ids(objs) -> list:
    return [o.pk for o in objs]


# (namespace, argument) → the values of space "one" to try. A new pattern in a namespace
# with a known argument is covered automatically; a new argument needs a filler here.
FILLERS = {
    ("rituals", "pk"): lambda w: _ids([w.one.ritual]),
    ("journal", "pk"): lambda w: _ids([w.one.entry, w.one.private_entry]),
    ("accounts", "pk"): lambda w: _ids([w.one.invitation]),
    ("vault", "pk"): lambda w: [str(pk) for pk in _ids(w.one.letters.values())],
    ("vault", "year"): lambda w: sorted({w.one.opened_year, w.one.sealed_year}),
    # Token routes: space one's own tokens (used by the anonymous sweep and the audit).
    ("notifications", "token"): lambda w: [
        notification_services.unsubscribe_token(user_id=w.one.first.pk, category="reminders")
    ],
    ("rituals", "token"): lambda w: [w.one.feed_token],
    ("rituals", "action"): lambda w: ["kept", "skipped"],
    ("accounts", "token"): lambda w: [w.one.invitation_token],
    ("rituals", "key"): lambda w: [LIBRARY[0].key],
}


def fillings(route: Route, world) -> list[dict]:
    """Every combination of known values for the route's arguments (fails on unknown)."""
    combos: list[dict] = [{}]
    for arg in route.args:
        filler = FILLERS.get((route.namespace, arg))
        if filler is None:
            raise AssertionError(
                f"{route.name} ({route.route}) has an argument {arg!r} the security sweeps "
                f"cannot fill: add a filler for ({route.namespace!r}, {arg!r}) in "
                "tests/security/conftest.py"
            )
        values = filler(world)
        assert values, f"the filler for {route.name}/{arg} gave no values"
        combos = [{**c, arg: v} for c in combos for v in values]
    return combos


# A POST body that most of the app's forms would accept, so a view that validates
# before it looks the object up would show it.
HOSTILE_POST = {
    "title": "Taken over",
    "body": "Overwritten",
    "text": "Overwritten entry",
    "description": "",
    "participation": "both",
    "freq": "daily",
    "interval": "1",
    "starts_on": "2026-01-01",
    "time_of_day": "10:00",
    "status": "archived",
    "day": "2026-01-02",
    "kind": "off",
    "minutes_before": "10",
    "heart": "on",
    "reply": "Hi",
    "confirm": "on",
    "years_later": "0",
    "nudge": "on",
    "about_partner": "on",
    "is_private": "",
}
