"""A couple with one of everything: rituals and check-ins, shared and private journal
entries with a heart, an opened letter, a sealed one each way, drafts, reminders,
a calendar feed, e-mail choices."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

import pytest
import time_machine

from apps.journal import services as journal
from apps.notifications.models import Category, EmailOptOut
from apps.rituals import services as rituals
from apps.rituals.recurrence import rrule_from_answers
from apps.vault import services as vault
from apps.vault.models import Letter

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# The story is told up to this instant; tests run with the clock frozen here.
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
# 00:00 of the anniversary on which Bob's sealed letter opens, in the space's zone.
BOB_LETTER_OPENS = dt.datetime(2026, 2, 14, 0, 0, tzinfo=BERLIN)

ALICE_PRIVATE = "Alice private: I was scared at the doctor and never said so"
BOB_PRIVATE = "Bob private: the surprise trip to Porto is booked"
ALICE_SHARED = "Alice shared: thank you for the soup when I was ill"
BOB_SHARED = "Bob shared: you laughed at my terrible joke"
OPENED_BODY = "Alice to Bob, opened: one year of mornings with you"
SEALED_TO_ALICE_TITLE = "Bob sealed title: for our tenth"
SEALED_TO_ALICE_BODY = "Bob sealed body: I still keep the ticket from our first film"
SEALED_TO_BOB_BODY = "Alice sealed body: look under the blue box"
ALICE_DRAFT_BODY = "Alice draft body: not finished yet"
BOB_DRAFT_BODY = "Bob draft body: half a thought"


@dataclass
class History:
    space: object
    alice: object
    bob: object
    ritual: object
    entries: dict
    opened: Letter
    sealed_to_alice: Letter
    sealed_to_bob: Letter
    alice_draft: Letter
    bob_draft: Letter


def make_ritual(space, user, *, title="Evening talk", now):
    starts_on = dt.date(2025, 1, 1)
    answers = {"freq": "daily", "interval": 1}
    return rituals.ritual_create(
        space=space,
        user=user,
        now=now,
        title=title,
        description="No phones, just us.",
        participation="both",
        giver=None,
        rrule=rrule_from_answers(answers, starts_on),
        recurrence=answers,
        starts_on=starts_on,
        time_of_day=dt.time(19, 30),
        duration_minutes=30,
        is_conversation=False,
    )


def build_history(space, alice, bob) -> History:
    space.time_zone = "Europe/Berlin"
    space.anniversary = dt.date(2015, 2, 14)
    space.save()
    alice.refresh_from_db()
    bob.refresh_from_db()
    with time_machine.travel(dt.datetime(2025, 1, 10, 9, 0, tzinfo=dt.UTC), tick=False):
        now = dt.datetime(2025, 1, 10, 9, 0, tzinfo=dt.UTC)
        opened = vault.letter_create(author=alice, title="Our first year", body=OPENED_BODY)
        opened = vault.letter_seal(letter=opened, user=alice, now=now)
    with time_machine.travel(NOW, tick=False):
        vault.letters_open_due(now=NOW)
        opened.refresh_from_db()
        sealed_to_alice = vault.letter_create(
            author=bob, title=SEALED_TO_ALICE_TITLE, body=SEALED_TO_ALICE_BODY
        )
        sealed_to_alice = vault.letter_seal(letter=sealed_to_alice, user=bob, now=NOW)
        sealed_to_bob = vault.letter_create(
            author=alice, title="Alice sealed title", body=SEALED_TO_BOB_BODY
        )
        sealed_to_bob = vault.letter_seal(letter=sealed_to_bob, user=alice, years_later=1, now=NOW)
        alice_draft = vault.letter_create(author=alice, title="Alice draft", body=ALICE_DRAFT_BODY)
        bob_draft = vault.letter_create(author=bob, title="Bob draft", body=BOB_DRAFT_BODY)
        vault.letter_mark_read(letter=opened, user=bob, now=NOW)
        vault.nudge_set(user=alice, enabled=True, now=NOW)

        ritual = make_ritual(space, alice, now=NOW)
        for day in (dt.date(2025, 2, 27), dt.date(2025, 2, 28)):
            rituals.ritual_check_in(
                ritual=ritual, user=alice, day=day, status="kept", note="lovely", now=NOW
            )
            rituals.ritual_check_in(
                ritual=ritual, user=bob, day=day, status="kept", feeling="calm", now=NOW
            )
        rituals.reminder_preference_set(user=alice, ritual=ritual, kind="before", minutes_before=15)
        rituals.calendar_feed_reset(user=alice)
        rituals.question_for(ritual=ritual, day=dt.date(2025, 2, 28))

        entries = {
            "alice_private": journal.entry_create(
                author=alice, text=ALICE_PRIVATE, is_private=True
            ),
            "bob_private": journal.entry_create(author=bob, text=BOB_PRIVATE, is_private=True),
            "alice_shared": journal.entry_create(author=alice, text=ALICE_SHARED),
            "bob_shared": journal.entry_create(author=bob, text=BOB_SHARED, about_partner=True),
        }
        journal.entry_appreciate(entry=entries["alice_shared"], user=bob, reply="Always")
        journal.entry_appreciate(entry=entries["bob_shared"], user=alice)
        journal.journal_settings_update(
            user=alice, weekdays=[0, 3], nudge_time=dt.time(21, 0), digest_enabled=True
        )
        journal.journal_visit_record(user=bob, now=NOW)
        EmailOptOut.objects.create(user=bob, category=Category.JOURNAL)
    return History(
        space=space,
        alice=alice,
        bob=bob,
        ritual=ritual,
        entries=entries,
        opened=opened,
        sealed_to_alice=sealed_to_alice,
        sealed_to_bob=sealed_to_bob,
        alice_draft=alice_draft,
        bob_draft=bob_draft,
    )


@pytest.fixture
def history(space, alice, bob) -> History:
    return build_history(space, alice, bob)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW
