"""Every page's exact number of queries, each one named (healthchecks style).

The "does not grow" checks elsewhere prove a page costs the same with more data; these
pin what it costs, so that a query added by accident shows up here with its name.
The world: two partners, a daily ritual with check-ins, entries over a year, a draft,
a sealed letter and a year opened; the clock pinned to one evening.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from apps.journal import services as journal
from apps.rituals import services as rituals
from apps.vault import services as vault
from tests.rituals.conftest import make_ritual

NOW = dt.datetime(2027, 2, 28, 18, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(space, alice, bob):
    space.anniversary = dt.date(2016, 2, 29)
    space.save()
    with time_machine.travel(dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        old = vault.letter_create(author=alice, title="Old", body="Opened one")
        vault.letter_seal(letter=old, user=alice, now=timezone.now())
        ritual = make_ritual(space, alice, now=timezone.now(), at=dt.time(9))
    vault.letters_open_due(now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    with time_machine.travel(NOW, tick=False):
        for d in range(20):
            day = dt.date(2027, 2, 27) - dt.timedelta(days=d * 2)
            for user in (alice, bob) if d % 5 else (alice,):
                rituals.ritual_check_in(ritual=ritual, user=user, day=day, status="kept")
        for m in range(14):
            journal.entry_create(
                author=alice if m % 3 else bob, text=f"e{m}", now=NOW - dt.timedelta(days=m * 17)
            )
        draft = vault.letter_create(author=bob, title="Draft", body="x")
        sealed = vault.letter_create(author=alice, title="S", body="y")
        vault.letter_seal(letter=sealed, user=alice, now=NOW)
        entry = journal.entry_create(author=bob, text="today", now=NOW)
    return {"ritual": ritual.pk, "entry": entry.pk, "draft": draft.pk, "draft_author": bob}


# Every signed-in page starts with the same three: the session, the user, their space
# (SpaceMiddleware). Then, per page, the page's own queries, named in order.
BASE = 3  # session, user, space
PAGES = [
    # members; journal: latest shared, last visit, new count; rituals: active rituals,
    # members, today's check-ins; vault: one aggregate of letters
    ("/home/", BASE + 8),
    ("/space/", BASE + 1),  # members (a full space: no invitation query)
    ("/settings/", BASE + 2),  # e-mail opt-outs, failed e-mails
    # members, rituals, kept check-ins of the year (heatmap), kept check-ins (totals)
    ("/rituals/", BASE + 4),
    # ritual, members, recent check-ins, own reminder choice, kept check-ins (streak,
    # heatmap), kept check-ins (totals), the reminder choice that applies
    ("/rituals/{ritual}/", BASE + 7),
    ("/rituals/{ritual}/edit/", BASE + 3),  # ritual, members, the form's giver choices
    ("/rituals/new/", BASE + 2),  # members, the form's giver choices
    ("/rituals/reminders/", BASE + 1),  # the reminder default
    ("/rituals/library/", BASE),
    # members, savepoint, profile, visit marker, release, count, page, appreciations,
    # on this day, monthly chart
    ("/journal/", BASE + 10),
    ("/journal/write/", BASE),
    ("/journal/{entry}/", BASE + 2),  # entry with author, appreciations
    ("/journal/settings/", BASE + 2),  # journal profile, journal e-mail opt-out
    # drafts, waiting for me, sealed by me, opened years, partner, nudge choice
    ("/vault/", BASE + 6),
    ("/vault/write/", BASE + 1),  # partner
    ("/vault/archive/", BASE + 1),  # opened years by author
    ("/vault/2026/", BASE + 3),  # the year's open letters, their reads, partner
    ("/vault/2026/together/", BASE + 4),  # letters, reads, who is here, members
    ("/vault/2026/together/status/", BASE + 3),  # year opened?, who is here, members
    ("/vault/letters/{draft}/", BASE + 3),  # own letter, its space (binding), recipient
    ("/vault/letters/{draft}/seal/", BASE + 2),  # own letter, recipient
    ("/vault/letters/{draft}/delete/", BASE + 1),  # own letter
    ("/my-data/", BASE),
    # partner, entries, letters, rituals, check-ins, reminder schedules, calendar feed
    ("/my-data/leave/", BASE + 7),
    ("/my-data/delete-account/", BASE + 7),
]


@pytest.mark.parametrize(("url", "expected"), PAGES)
def test_page_query_count(world, both_ways, url, expected, django_assert_num_queries):
    """The same count whoever looks (the founder or the partner who joined)."""
    viewer = both_ways.partner
    if "{draft}" in url and viewer != world["draft_author"]:
        viewer = world["draft_author"]  # a draft's pages are its author's alone
    client = Client()
    url = url.format(**world)
    with time_machine.travel(NOW, tick=False):
        client.force_login(viewer)
        client.get(url)  # warm up: the session's first write, caches
        with django_assert_num_queries(expected):
            assert client.get(url).status_code == 200


def test_landing_page_costs_nothing(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):  # no session yet, no user
        assert client.get("/").status_code == 200
