"""Input sweep through the real views: hostile POSTs never give a 500, never a partial
write, and whatever is stored comes back escaped in pages and HTML e-mails."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from hypothesis import HealthCheck, given, settings

from apps.journal import services as journal_services
from apps.rituals import services as ritual_services
from apps.rituals.models import ReminderSchedule
from tests.rituals.conftest import make_ritual

from .conftest import client_for, db_snapshot, snapshot_diff
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

# (url name, who posts: "first"/"second", how to find the url's arguments, fields)
ENDPOINTS = {
    "rituals:create": ("first", lambda w: {}, RITUAL_FIELDS),
    "rituals:edit": ("first", lambda w: {"pk": w.one.ritual.pk}, RITUAL_FIELDS),
    "rituals:reminders": ("first", lambda w: {}, ["kind", "minutes_before"]),
    "rituals:reminder": ("first", lambda w: {"pk": w.one.ritual.pk}, ["kind", "minutes_before"]),
    "rituals:check_in": (
        "second",
        lambda w: {"pk": w.one.ritual.pk},
        ["day", "status", "note", "feeling", "next"],
    ),
    "rituals:status": ("first", lambda w: {"pk": w.one.ritual.pk}, ["status"]),
    "journal:write": ("first", lambda w: {}, ["text", "about_partner", "is_private", "prompt_key"]),
    "journal:edit": (
        "first",
        lambda w: {"pk": w.one.entry.pk},
        ["text", "about_partner", "is_private"],
    ),
    "journal:appreciate": ("second", lambda w: {"pk": w.one.entry.pk}, ["heart", "reply", "next"]),
    "journal:settings": ("first", lambda w: {}, ["weekdays", "nudge_time", "digest_enabled"]),
    "vault:write": ("first", lambda w: {}, ["title", "body", "seal"]),
    "vault:edit": ("first", lambda w: {"pk": w.one.letters["draft"].pk}, ["title", "body"]),
    "vault:seal": (
        "second",
        lambda w: {"pk": w.one.letters["partner_draft"].pk},
        ["years_later", "confirm"],
    ),
    "accounts:space": ("first", lambda w: {}, ["name", "time_zone", "anniversary"]),
    "accounts:settings": (
        "first",
        lambda w: {},
        ["form", "display_name", "time_zone", "categories"],
    ),
    "accounts:invitation_send": ("first", lambda w: {}, ["email"]),
}


def _assert_escaped(response, where: str) -> None:
    if "html" not in response.get("Content-Type", ""):
        return
    html = response.content.decode()
    for marker in RAW_MARKERS:
        assert marker not in html, f"unescaped {marker!r} in {where}"


def _counts() -> dict:
    return {label: len(rows) for label, rows in db_snapshot().items()}


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_hostile_posts(name, world):
    from django.urls import reverse

    who, args, fields = ENDPOINTS[name]
    client = client_for(getattr(world.one, who))
    url = reverse(name, kwargs=args(world) or None)

    @HYPOTHESIS
    @given(data=form_data(fields))
    def check(data):
        before = db_snapshot()
        response = client.post(url, to_post(data))
        assert response.status_code < 500, response.status_code
        _assert_escaped(response, url)
        if response.status_code != 302:
            # A form error (or a 4xx): nothing at all was written.
            assert snapshot_diff(before, db_snapshot()) == [], response.status_code
        else:
            location = response["Location"]
            if location.startswith("/"):
                page = client.get(location)
                assert page.status_code < 500, location
                _assert_escaped(page, location)

    check()
    # And a valid answer with a script in every free-text field is stored, then escaped.
    answers = {**VALID, **VALID_OVERRIDES.get(name, {})}
    valid = {f: [answers[f] + (SCRIPT if f in FREE_TEXT else "")] for f in fields if answers.get(f)}
    response = client.post(url, valid)
    assert response.status_code == 302, (response.status_code, valid)
    if response["Location"].startswith("/"):
        _assert_escaped(client.get(response["Location"]), response["Location"])
    for page in ("home:dashboard", "rituals:list", "journal:index", "vault:home"):
        response = client.get(reverse(page))
        assert response.status_code == 200
        _assert_escaped(response, page)


def test_filters_and_search_never_fail(world):
    from django.urls import reverse

    client = client_for(world.one.first)

    @HYPOTHESIS
    @given(data=form_data(["author", "month", "q", "page", "another"]))
    def check(data):
        for name in ("journal:index", "journal:write"):
            response = client.get(reverse(name), to_post(data))
            assert response.status_code < 500
            _assert_escaped(response, name)

    check()


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

    with transaction.atomic():
        journal_services.entry_create(author=world.one.second, text=f"Thanks {SCRIPT} and more")
    profile = JournalProfile.objects.get(user=world.one.first)
    mail.outbox.clear()
    when = profile.next_digest_at or profile.next_nudge_at
    assert when is not None
    moment = max(filter(None, [profile.next_digest_at, profile.next_nudge_at]))
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
    from django.urls import reverse

    client = client_for(world.one.second)
    response = client.post(
        reverse("journal:appreciate", args=[world.one.entry.pk]),
        {"heart": "on", "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("journal:entry", args=[world.one.entry.pk])
