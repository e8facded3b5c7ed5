"""Input sweep through the real views: hostile POSTs never give a 500, never a partial
write, and whatever is stored comes back escaped in pages and HTML e-mails."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings

from apps.accounts.models import Invitation
from apps.journal import services as journal_services
from apps.notifications import services as notification_services
from apps.notifications.models import EmailOptOut, OutboundEmail
from apps.rituals import services as ritual_services
from apps.rituals.library import LIBRARY
from apps.rituals.models import ReminderSchedule
from apps.vault.models import Letter, LetterRead, NudgeOptIn, OpeningPresence
from tests.factories import UserFactory
from tests.rituals.conftest import make_ritual

from .conftest import all_routes, client_for, db_snapshot, fillings, snapshot_diff
from .hostile import RAW_MARKERS, SCRIPT, VALID, form_data, to_post

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

RITUAL_FIELDS = [
    "title", "description", "participation", "giver", "freq", "interval", "weekdays",
    "month_day", "nth", "nth_weekday", "starts_on", "time_of_day", "duration_minutes",
    "is_conversation", "custom_rule", "preview",
]  # fmt: skip

FREE_TEXT = {"title", "body", "text", "description", "note", "reply", "name", "display_name"}

VALID_OVERRIDES = {"journal:settings": {"weekdays": "0"}}

# A key no view reads: an endpoint that reads no field still gets hostile bodies.
UNREAD = "unexpected"


@dataclass(frozen=True)
class Endpoint:
    """One URL that takes a POST, and how to post to it."""

    # Who posts: "first" / "second" of space one, "loner" (signed in, not in a space yet)
    # or "anonymous" (the token routes).
    who: str
    args: Callable  # world → the URL's arguments
    fields: list = field(default_factory=list)  # the POST keys the view reads
    # The answer to a valid POST. Rows may change only with this answer...
    success: int = 302
    # ...and never for an endpoint that only reads (a page, the data download).
    writes: bool = True
    # world → whether the valid POST at the end did its job (the sweep reached the service).
    done: Callable | None = None
    examples: int = 25


def _no_args(w) -> dict:
    return {}


def _checkin_token(w) -> dict:
    token = ritual_services.checkin_token(
        ritual_id=w.one.ritual.pk, day=dt.date(2026, 1, 5), user_id=w.one.first.pk
    )
    return {"token": token, "action": "kept"}


def _unsubscribe_token(w) -> dict:
    token = notification_services.unsubscribe_token(user_id=w.one.first.pk, category="reminders")
    return {"token": token}


# Every URL that takes a POST, by name. test_every_route_that_takes_a_post_is_swept fails
# when a routed one is missing here (or in NOT_SWEPT below).
ENDPOINTS = {
    # Rituals.
    "rituals:create": Endpoint("first", _no_args, RITUAL_FIELDS),
    "rituals:edit": Endpoint("first", lambda w: {"pk": w.one.ritual.pk}, RITUAL_FIELDS),
    "rituals:reminders": Endpoint("first", _no_args, ["kind", "minutes_before"]),
    "rituals:reminder": Endpoint(
        "first", lambda w: {"pk": w.one.ritual.pk}, ["kind", "minutes_before"]
    ),
    "rituals:check_in": Endpoint(
        "second", lambda w: {"pk": w.one.ritual.pk}, ["day", "status", "note", "feeling", "next"]
    ),
    "rituals:status": Endpoint("first", lambda w: {"pk": w.one.ritual.pk}, ["status"]),
    "rituals:library_add": Endpoint(
        "first",
        lambda w: {"key": LIBRARY[0].key},
        done=lambda w: w.one.space.rituals.filter(title=LIBRARY[0].title).exists(),
        examples=5,
    ),
    "rituals:calendar": Endpoint(  # a POST resets the feed address
        "first",
        _no_args,
        done=lambda w: ritual_services.calendar_feed_find(w.one.feed_token) is None,
        examples=5,
    ),
    "rituals:email_check_in": Endpoint(
        "anonymous",
        _checkin_token,
        success=200,
        done=lambda w: w.one.ritual.check_ins.filter(
            user=w.one.first, occurrence=dt.date(2026, 1, 5)
        ).exists(),
        examples=5,
    ),
    # Journal.
    "journal:write": Endpoint(
        "first", _no_args, ["text", "about_partner", "is_private", "prompt_key"]
    ),
    "journal:edit": Endpoint(
        "first", lambda w: {"pk": w.one.entry.pk}, ["text", "about_partner", "is_private"]
    ),
    "journal:delete": Endpoint(
        "first",
        lambda w: {"pk": w.one.entry.pk},
        done=lambda w: not type(w.one.entry).objects.filter(pk=w.one.entry.pk).exists(),
        examples=5,
    ),
    "journal:appreciate": Endpoint(
        "second", lambda w: {"pk": w.one.entry.pk}, ["heart", "reply", "next"]
    ),
    "journal:settings": Endpoint("first", _no_args, ["weekdays", "nudge_time", "digest_enabled"]),
    # Vault.
    "vault:write": Endpoint("first", _no_args, ["title", "body", "seal"]),
    "vault:edit": Endpoint("first", lambda w: {"pk": w.one.letters["draft"].pk}, ["title", "body"]),
    "vault:seal": Endpoint(
        "second", lambda w: {"pk": w.one.letters["partner_draft"].pk}, ["years_later", "confirm"]
    ),
    "vault:delete": Endpoint(
        "first",
        lambda w: {"pk": w.one.letters["draft"].pk},
        done=lambda w: not Letter.objects.filter(pk=w.one.letters["draft"].pk).exists(),
        examples=5,
    ),
    "vault:nudge": Endpoint(  # the second partner has not asked for the reminder yet
        "second",
        _no_args,
        ["nudge"],
        done=lambda w: NudgeOptIn.objects.filter(user=w.one.second).exists(),
        examples=10,
    ),
    "vault:together": Endpoint(
        "second",
        lambda w: {"year": w.one.opened_year},
        done=lambda w: OpeningPresence.objects.filter(
            user=w.one.second, year=w.one.opened_year
        ).exists(),
        examples=5,
    ),
    "vault:mark_read": Endpoint(  # the partner's letter to the founder, opened, not yet read
        "first",
        lambda w: {"pk": w.one.letters["opened_back"].pk},
        done=lambda w: LetterRead.objects.filter(
            letter=w.one.letters["opened_back"], user=w.one.first
        ).exists(),
        examples=5,
    ),
    # The space, invitations, settings.
    "accounts:space_create": Endpoint(
        "loner",
        _no_args,
        ["name", "time_zone", "anniversary"],
        done=lambda w: w.loner.space_id is not None,
    ),
    "accounts:space": Endpoint("first", _no_args, ["name", "time_zone", "anniversary"]),
    "accounts:settings": Endpoint(
        "first", _no_args, ["form", "display_name", "time_zone", "categories"]
    ),
    "accounts:invitation_send": Endpoint("first", _no_args, ["email"]),
    "accounts:invitation_revoke": Endpoint(
        "first",
        lambda w: {"pk": w.one.invitation.pk},
        done=lambda w: Invitation.objects.get(pk=w.one.invitation.pk).revoked_at is not None,
        examples=5,
    ),
    "accounts:invitation": Endpoint(  # the space is full: the link shows why, joins nobody
        "anonymous",
        lambda w: {"token": w.one.invitation_token},
        success=200,
        writes=False,
        examples=5,
    ),
    "accounts:test_email": Endpoint(
        "first",
        _no_args,
        done=lambda w: OutboundEmail.objects.filter(user=w.one.first, template="test").exists(),
        examples=5,
    ),
    "notifications:unsubscribe": Endpoint(
        "anonymous",
        _unsubscribe_token,
        success=200,
        done=lambda w: EmailOptOut.objects.filter(user=w.one.first, category="reminders").exists(),
        examples=5,
    ),
    # My data: the download, leaving the space, deleting the account.
    "portability:download": Endpoint("first", _no_args, success=200, writes=False, examples=5),
    "portability:leave": Endpoint(
        "second",
        _no_args,
        ["password"],
        done=lambda w: w.one.second.space_id is None,
        examples=10,
    ),
    "portability:delete_account": Endpoint(
        "second",
        _no_args,
        ["password"],
        done=lambda w: not w.one.second.is_active,
        examples=10,
    ),
}

# Routes that take a POST and get no hostile input here, each with the reason. A new route
# of the project belongs in ENDPOINTS, not here.
NOT_SWEPT = {}  # "namespace:name": "why"
# Whole URL trees left out (the admin's patterns are not all named, so it is not walked).
NOT_SWEPT_PREFIXES = {
    "admin/": "Django's admin site: its own views and ModelForms, staff only; what it shows "
    "of letters is in tests/vault/test_leaks.py",
}
# Third-party views, recognised by the module that defines them (whatever their URL), so
# that no view of the project can hide among them.
THIRD_PARTY_VIEWS = {
    "allauth.": "django-allauth's sign-in, sign-up, password and e-mail pages: allauth "
    "validates them; CSRF and rate limits in test_signin.py, the project's SignupForm in "
    "test_input_forms.py",
}


def _assert_escaped(response, where: str) -> None:
    if "html" not in response.get("Content-Type", ""):
        return
    html = response.content.decode()
    for marker in RAW_MARKERS:
        assert marker not in html, f"unescaped {marker!r} in {where}"


def _poster(endpoint: Endpoint, world):
    """(client, user) for an endpoint; the user is None for anonymous visitors."""
    if endpoint.who == "anonymous":
        return Client(), None
    if endpoint.who == "loner":
        world.loner = UserFactory(email="loner@example.com", display_name="Loner")
        user = world.loner
    else:
        user = getattr(world.one, endpoint.who)
    return client_for(user), user


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_hostile_posts(name, world):
    endpoint = ENDPOINTS[name]
    client, user = _poster(endpoint, world)
    url = reverse(name, kwargs=endpoint.args(world) or None)
    fields = endpoint.fields or [UNREAD]

    def sign_in_again():
        # An example that deleted the account (rolled back since) also signed it out.
        if user is not None and "_auth_user_id" not in client.session:
            client.force_login(user)

    @settings(HYPOTHESIS, max_examples=endpoint.examples)
    @given(data=form_data(fields))
    def check(data):
        sign_in_again()
        # Each example starts from the same world: a leave, a delete or a seal that
        # succeeds is rolled back, so later examples do not all hit "already gone".
        with transaction.atomic():
            before = db_snapshot()
            response = client.post(url, to_post(data))
            assert response.status_code < 500, response.status_code
            _assert_escaped(response, url)
            changed = snapshot_diff(before, db_snapshot())
            if not endpoint.writes or response.status_code != endpoint.success:
                # A form error, a refusal or a page: nothing at all was written.
                assert changed == [], response.status_code
            if response.status_code == 302 and response["Location"].startswith("/"):
                page = client.get(response["Location"])
                assert page.status_code < 500, response["Location"]
                _assert_escaped(page, response["Location"])
            transaction.set_rollback(True)

    check()
    # And a valid answer with a script in every free-text field is stored, then escaped.
    cache.clear()  # the password confirmation's rate limit counted the examples' tries
    sign_in_again()
    answers = {**VALID, **VALID_OVERRIDES.get(name, {})}
    valid = {f: [answers[f] + (SCRIPT if f in FREE_TEXT else "")] for f in fields if answers.get(f)}
    response = client.post(url, valid)
    assert response.status_code == endpoint.success, (response.status_code, valid)
    if response.status_code == 302 and response["Location"].startswith("/"):
        _assert_escaped(client.get(response["Location"]), response["Location"])
    if endpoint.done is not None:
        if user is not None:
            user.refresh_from_db()
        assert endpoint.done(world), f"a valid POST to {name} did not do its job"
    if user is None or not (user.is_active and user.space_id):
        return
    for page in ("home:dashboard", "rituals:list", "journal:index", "vault:home"):
        response = client.get(reverse(page))
        assert response.status_code == 200
        _assert_escaped(response, page)


# --- The list above is complete -----------------------------------------------------------


def _view_module(callback) -> str:
    return (getattr(callback, "view_class", None) or callback).__module__


def _project_routes():
    """Every routed pattern (allauth's included) but the admin's, minus third-party views."""
    for route in all_routes(skip=tuple(NOT_SWEPT_PREFIXES)):
        if not _view_module(route.pattern.callback).startswith(tuple(THIRD_PARTY_VIEWS)):
            yield route


def takes_post(client, route, world) -> bool:
    """Whether a route's view takes a POST: a PUT is refused with the methods it allows
    (nothing is written); a view that does not refuse it has no method check at all."""
    response = client.put(route.reverse(**fillings(route, world)[0]))
    if response.status_code == 405:
        return "POST" in response["Allow"].replace(" ", "").split(",")
    return True


def test_every_route_that_takes_a_post_is_swept(world):
    member = client_for(world.one.first)
    unswept, needless = [], []
    for route in _project_routes():
        listed = route.name in ENDPOINTS or route.name in NOT_SWEPT
        post = takes_post(member, route, world)
        if post and not listed:
            unswept.append(f"{route.name} ({route.route})")
        if listed and not post:
            needless.append(route.name)
    assert not unswept, (
        "these routes take a POST but get no hostile input: add them to ENDPOINTS in "
        f"tests/security/test_input_views.py (or, with a reason, to NOT_SWEPT): {unswept}"
    )
    assert not needless, f"listed, but refuse a POST: {needless}"
    stale = (set(ENDPOINTS) | set(NOT_SWEPT)) - {route.name for route in _project_routes()}
    assert not stale, f"listed, but not routed (any more): {stale}"


def test_the_post_walk_catches_an_unlisted_route(world, monkeypatch):
    """The control: drop a route from the list and the walk names it."""
    monkeypatch.delitem(ENDPOINTS, "vault:nudge")
    with pytest.raises(AssertionError, match="vault:nudge"):
        test_every_route_that_takes_a_post_is_swept(world)


# --- Invalid zones and dates where a space is made or changed --------------------------------

BAD_ZONES = [
    "Mars/Olympus_Mons", "UTC\x00", "Europe/Berlin ", " Europe/Berlin", "europe/berlin",
    "../../etc/passwd", "/etc/localtime", "localtime", "Factory", "posixrules", "EST5EDT",
    "Etc/GMT+99", "+02:00", "\u202eEurope/Berlin", "Europe/Berlin\nX", "x" * 5000, "",
]  # fmt: skip
BAD_DATES = [
    "2026-02-30", "2025-02-29", "2019-13-01", "2019-00-10", "0000-00-00", "0001-01-01",
    "9999-12-31", "31/12/2026", "2019-06-14\x00", "2019-06-14T00:00", "1e309", "-1", "",
    "\u202e2019-06-14", "'; DROP TABLE accounts_space; --",
]  # fmt: skip


def test_a_new_space_refuses_invalid_zones_and_dates(world):
    """Every one of them, not only those hypothesis happens to draw (accounts:space uses
    the same form, which test_input_forms.py fuzzes directly)."""
    loner = UserFactory(email="loner@example.com")
    client = client_for(loner)
    good = {"name": "Our space", "time_zone": "Europe/Berlin", "anniversary": "2019-06-14"}
    tries = [{**good, "time_zone": zone} for zone in BAD_ZONES]
    tries += [{**good, "anniversary": day} for day in BAD_DATES]
    before = db_snapshot()
    for data in tries:
        response = client.post(reverse("accounts:space_create"), data)
        assert response.status_code == 200, (data, response.status_code)
        assert response.context["form"].errors, data
    assert snapshot_diff(before, db_snapshot()) == []
    response = client.post(reverse("accounts:space_create"), good)
    assert response.status_code == 302
    loner.refresh_from_db()
    assert loner.space_id is not None


# --- HTML e-mails escape what partners wrote ---------------------------------------------------


def _html_parts() -> list[str]:
    parts = []
    for message in mail.outbox:
        for body, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                parts.append(body)
    return parts


def test_a_hostile_ritual_title_is_escaped_in_the_reminder_email(
    world, django_capture_on_commit_callbacks
):
    now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        ritual = make_ritual(
            world.one.space,
            world.one.first,
            now=now,
            starts_on=dt.date(2026, 3, 1),
            title=f"Walk {SCRIPT}",
            description=f"Bring {SCRIPT}",
        )
    due = ReminderSchedule.objects.filter(ritual=ritual).order_by("next_remind_at").first()
    mail.outbox.clear()
    with (
        time_machine.travel(due.next_remind_at, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ritual_services.reminders_schedule_due(now=due.next_remind_at)
    html = [p for p in _html_parts() if "Walk" in p]
    assert html, [m.subject for m in mail.outbox]
    for part in html:
        assert "&lt;script&gt;" in part
        for marker in RAW_MARKERS:
            assert marker not in part


def test_hostile_entries_are_escaped_in_the_digest_email(world, django_capture_on_commit_callbacks):
    from apps.journal.models import JournalProfile

    # The pass runs at the digest's own instant: a later one (the next nudge, say, on a
    # Monday after Sunday's digest) would find it more than DIGEST_GRACE late and skip it.
    moment = JournalProfile.objects.get(user=world.one.first).next_digest_at
    assert moment is not None
    with time_machine.travel(moment - dt.timedelta(minutes=1), tick=False), transaction.atomic():
        journal_services.entry_create(author=world.one.second, text=f"Thanks {SCRIPT} and more")
    mail.outbox.clear()
    with (
        time_machine.travel(moment, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        journal_services.nudges_schedule_due(now=moment)
    html = [p for p in _html_parts() if "Thanks" in p]
    assert html, [m.subject for m in mail.outbox]
    for part in html:
        for marker in RAW_MARKERS:
            assert marker not in part


# --- Regressions the sweep found ------------------------------------------------------------


@pytest.mark.parametrize("target", ["abc", "abc\x00def", "home:dashboard", "https://evil.example/"])
def test_an_appreciation_next_that_is_not_a_path_falls_back_to_the_entry(world, target):
    client = client_for(world.one.second)
    response = client.post(
        reverse("journal:appreciate", args=[world.one.entry.pk]),
        {"heart": "on", "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("journal:entry", args=[world.one.entry.pk])


# --- The admin: left out of the sweep, but never a 500 either ---------------------------------


def test_an_empty_admin_add_form_is_refused_or_invalid_never_a_500(db):
    """Staff posting an add form with nothing in it (found by the POST pass of
    tests/vault/test_leaks.py: adding an invitation, whose fields are all read-only,
    saved a row without an expiry and gave a 500)."""
    from django.contrib import admin

    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    failures = []
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        before = db_snapshot()
        response = client.post(url, {})
        if response.status_code not in (200, 403):
            failures.append(f"POST {url} → {response.status_code}")
        elif snapshot_diff(before, db_snapshot()):
            failures.append(f"POST {url} with nothing in it saved a row")
    assert not failures, "\n".join(failures)
