"""A stateful model of two partners sharing rituals (issue 10).

Hypothesis drives both partners through any order of: creating, editing (time of day,
recurrence), pausing, resuming and archiving rituals; the second partner accepting the
invitation after rituals exist (some runs start with the founder alone); setting or
clearing a default or per-ritual reminder choice; unsubscribing from reminders (the
unsubscribe link's category opt-out) and subscribing again (the settings page); changing
a personal or the space's time zone (through the real services, so the real hooks run);
changing the anniversary; leaving the space; checking in (the ritual page's form or the
e-mail's link); and moving the pinned clock on: with a pass (a few minutes on, to just
after the next reminder or past the grace period's edge, or hours on in one jump), or with
no pass at all (the scheduler is down) so that partners act while reminders wait. Every
run starts with one ritual, made by the founder.

The model (``tests/rituals/model.py``) recomputes everything with ``dateutil`` and
``zoneinfo`` only. After every step these are checked:

1. **Schedules.** For every active ritual and each current member whose reminder choice
   is not "off", exactly one ``ReminderSchedule`` row has a ``next_remind_at``, and it
   equals the model's (occurrence day, instant); no other row is live. The model keeps
   which row is live and the day it points at:

   - a live row that is recomputed (an edit, a zone or reminder change, by either
     partner) points at the first occurrence on or after the day it pointed at, however
     late its instant now is;
   - a new or parked row (new ritual, resume, a partner who joins, reminders turned back
     on) points at the first occurrence that has not started (``at >= now``) after the
     last one recorded for that member, due at ``max(remind instant, now)``;
   - the pass, having handled an occurrence, moves to the first one after that day.

2. **Every reminder owed ends one way.** Call a (ritual, occurrence, member) *owed* when
   the member's live row pointed at it and its instant came (``next_remind_at <= now``)
   while the ritual was active, the member's choice was not "off" and they were in the
   space. Each owed reminder ends in exactly one of:

   - *sent*: a ``Reminder`` row with status sent (the pass ran at most the grace period
     after the instant) and exactly one outbox e-mail with the dedupe key
     ``ritual-reminder:<ritual>:<day>:<member>``: pending, or skipped when the member was
     unsubscribed from reminders when it was queued (the Reminder row is still written)
     or has left the space since (leaving skips their queued e-mails);
   - *missed*: a ``Reminder`` row with status missed (the pass came later than the grace
     period), and no e-mail (the only e-mail with that key can be a skipped one queued in
     an earlier membership of a partner who left and came back);
   - *skipped*: no ``Reminder`` and no e-mail, because before any pass reached it the
     ritual was paused or archived, the member turned reminders off, left, or an edit
     took the occurrence away (the model names the reason). If the row comes back to it
     before it starts (resumed at once), it is sent after all and counts as sent only.

   Never none: right after every pass no live row is due any more. Never two: the
   database's ``Reminder`` rows are exactly the model's sent and missed ones, no more.
   When a member leaves, their reminder log is deleted with them (personal data, see
   apps/portability/README.md), so what they were owed is settled at that step.

3. **Outbox dedupe.** No two ``OutboundEmail`` rows share a dedupe key; the reminder
   e-mails and the "moved" notices (whoever was reminded of an occurrence still ahead that
   an edit moved or removed gets one per new time) are exactly the model's, with the
   model's status; and a pass run twice at one instant adds nothing.

4. **Check-ins.** A check-in for an occurrence opens at the occurrence's start instant:
   before it (or on a day the ritual does not happen) it is refused with a
   ``RitualError`` (a 400 page from the e-mail link) and nothing is written; an answer
   from the e-mail never erases the note or feeling given on the ritual's page.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from apps.accounts import services as accounts
from apps.accounts.models import Space, User
from apps.notifications import services as notifications
from apps.notifications.models import OPTIONAL_CATEGORIES, Category, OutboundEmail
from apps.rituals import services
from apps.rituals.models import CheckIn, Reminder, ReminderSchedule, Ritual
from tests.factories import SpaceFactory, UserFactory

from .model import DEFAULT, RitualModel, is_day, next_for_new_row, next_from_day

pytestmark = pytest.mark.django_db

UTC = dt.UTC
GRACE = dt.timedelta(minutes=django_settings.RITUALS_REMINDER_GRACE_MINUTES)

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Asia/Kolkata",
]
# Starting instants a few hours before a DST change in one of the zones, and one without.
STARTS = [
    dt.datetime(2026, 3, 28, 21, 0, tzinfo=UTC),  # Berlin springs forward at 01:00 UTC
    dt.datetime(2026, 3, 7, 20, 0, tzinfo=UTC),  # New York springs forward at 07:00 UTC
    dt.datetime(2026, 10, 24, 20, 0, tzinfo=UTC),  # Berlin falls back at 01:00 UTC
    dt.datetime(2026, 10, 31, 20, 0, tzinfo=UTC),  # New York falls back at 06:00 UTC
    dt.datetime(2026, 4, 4, 10, 0, tzinfo=UTC),  # Lord Howe falls back at 15:00 UTC
    dt.datetime(2026, 10, 3, 10, 0, tzinfo=UTC),  # Lord Howe springs forward at 15:30 UTC
    dt.datetime(2026, 12, 2, 11, 0, tzinfo=UTC),
]
TIMES = [
    dt.time(0, 15),
    dt.time(1, 30),  # ambiguous in New York in the autumn
    dt.time(2, 15),  # in Lord Howe's gap in the spring
    dt.time(2, 30),  # in Berlin's and New York's gap in the spring, ambiguous in Berlin later
    dt.time(8, 0),
    dt.time(19, 30),
    dt.time(21, 30),
    dt.time(23, 45),
]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def _rules(starts_on: dt.date) -> list[str]:
    first = WEEKDAYS[starts_on.weekday()]
    return [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=2",
        f"FREQ=WEEKLY;BYDAY={first},{WEEKDAYS[(starts_on.weekday() + 3) % 7]}",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYDAY=-1SU",
        "FREQ=DAILY;COUNT=2",
        f"FREQ=YEARLY;BYMONTH={starts_on.month};BYMONTHDAY={starts_on.day}",
    ]


RULE_COUNT = len(_rules(dt.date(2026, 1, 1)))
KINDS = st.sampled_from(["before", "at_time", "morning", "off"])
MINUTES = st.sampled_from([0, 15, 30, 90, 600, 1440, 2880])
WHO = st.integers(0, 1)
PICK = st.integers(0, 7)
RULE = st.integers(0, RULE_COUNT - 1)
STARTS_ON = st.sampled_from([-2, -1, 0, 1, 3])
SHORT = st.sampled_from([7, 29, 61, 119])
LONG = st.sampled_from([121, 180, 420, 1500])
MAX_RITUALS = 4
NAMES = ("alice", "bob")


def reminder_key(ritual_id: int, day: dt.date, user_id: int) -> str:
    return f"ritual-reminder:{ritual_id}:{day.isoformat()}:{user_id}"


class TwoPartners(RuleBasedStateMachine):
    """See the module docstring: rules, model, and the promises checked after each step."""

    fired: Counter = Counter()

    def __init__(self):
        super().__init__()
        # Each example starts from the database the test began with: a savepoint rolled
        # back in teardown (works alike on SQLite and PostgreSQL).
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._clock = None
        self.rituals: dict[int, RitualModel] = {}
        self.members: set[str] = set()
        self.pk: dict[str, int] = {}
        self.user_tz: dict[str, str] = {}
        self.unsubscribed: set[str] = set()
        self.default_pref: dict[str, tuple[str, int]] = {}
        self.ritual_pref: dict[tuple[str, int], tuple[str, int]] = {}
        # (ritual, name) -> (day, instant) of a live row, or None (parked / none owed).
        self.rows: dict[tuple[int, str], tuple[dt.date, dt.datetime] | None] = {}
        # When each live row started counting (its reminders are never due before).
        self.since: dict[tuple[int, str], dt.datetime] = {}
        self.recorded: dict[tuple[int, str, dt.date], str] = {}
        self.skipped: dict[tuple[int, str, dt.date], str] = {}
        self.outbox: dict[str, str] = {}
        self.check_ins: dict[tuple[int, dt.date, str], tuple[str, str, str]] = {}
        self.invitations: list[dt.datetime] = []

    def teardown(self):
        try:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)
        finally:
            if self._clock is not None:
                self._clock.stop()

    # --- helpers ----------------------------------------------------------------------

    def _fire(self, name: str) -> None:
        type(self).fired[name] += 1

    def user(self, name: str) -> User:
        return User.objects.select_related("space").get(pk=self.pk[name])

    def ritual(self, pk: int) -> Ritual:
        return Ritual.objects.select_related("space").get(pk=pk)

    def space(self) -> Space:
        return Space.objects.get(pk=self.space_id)

    def acting(self, who: int) -> str:
        names = sorted(self.members)
        return names[who % len(names)]

    def zone(self, name: str) -> str:
        return self.user_tz[name] or self.space_zone

    def pref(self, name: str, pk: int) -> tuple[str, int]:
        return self.ritual_pref.get((name, pk)) or self.default_pref.get(name) or DEFAULT

    def last_recorded(self, pk: int, name: str) -> dt.date | None:
        days = [day for (r, n, day) in self.recorded if (r, n) == (pk, name)]
        return max(days) if days else None

    def sync(self, pk: int, names, reason: str) -> None:
        """The model's recompute of ``names``' rows of ritual ``pk``."""
        ritual = self.rituals[pk]
        for name in names:
            if name not in self.members:
                continue
            old = self.rows.get((pk, name))
            kwargs = {
                "pref": self.pref(name, pk),
                "space_zone": self.space_zone,
                "zone": self.zone(name),
            }
            if old is not None:
                new = next_from_day(
                    ritual, since=old[0], floor=self.since.get((pk, name)), **kwargs
                )
            else:
                new = next_for_new_row(
                    ritual, now=self.now, after_day=self.last_recorded(pk, name), **kwargs
                )
                self.since[(pk, name)] = self.now
            if old is not None and old[1] <= self.now and (new is None or new[0] != old[0]):
                key = (pk, name, old[0])
                if key not in self.recorded:
                    self.skipped[key] = reason
                    self._fire("outcome: skipped")
            self.rows[(pk, name)] = new

    def sync_all(self, names, reason: str) -> None:
        for pk in self.rituals:
            self.sync(pk, names, reason)

    def model_pass(self) -> None:
        for (pk, name), row in list(self.rows.items()):
            ritual = self.rituals[pk]
            while row is not None and row[1] <= self.now:
                day, when = row
                key = (pk, name, day)
                if key not in self.recorded:
                    status = "missed" if self.now - when > GRACE else "sent"
                    self.recorded[key] = status
                    self.skipped.pop(key, None)
                    self._fire(f"outcome: {status}")
                    if status == "sent":
                        email = reminder_key(pk, day, self.pk[name])
                        if email not in self.outbox:
                            self.outbox[email] = (
                                "skipped" if name in self.unsubscribed else "pending"
                            )
                row = next_from_day(
                    ritual,
                    pref=self.pref(name, pk),
                    space_zone=self.space_zone,
                    zone=self.zone(name),
                    since=day + dt.timedelta(days=1),
                    floor=self.since.get((pk, name)),
                )
            self.rows[(pk, name)] = row

    def run_pass(self) -> int:
        return services.reminders_schedule_due(now=self.now)

    def move_clock(self, minutes: int) -> None:
        self.now = self.now.replace(second=0, microsecond=0) + dt.timedelta(minutes=minutes)
        self._coords.move_to(self.now)

    # --- setting up -------------------------------------------------------------------

    @initialize(
        start=st.sampled_from(STARTS),
        space_zone=st.sampled_from(ZONES),
        alice_zone=st.sampled_from(["", *ZONES]),
        bob_zone=st.sampled_from(["", *ZONES]),
        together=st.booleans(),
        rule_at=RULE,
        at=st.sampled_from(TIMES),
        offset=STARTS_ON,
    )
    def setup(self, start, space_zone, alice_zone, bob_zone, together, rule_at, at, offset):
        """The space, Alice (the founder), Bob (in the space or not yet) and a first ritual,
        so that every run has something to remind of."""
        self.now = start
        self._clock = time_machine.travel(start, tick=False)
        self._coords = self._clock.start()
        self.space_zone = space_zone
        space = SpaceFactory(time_zone=space_zone, anniversary=dt.date(2019, 6, 14))
        self.space_id = space.pk
        alice = UserFactory(
            space=space, display_name="Alice", time_zone=alice_zone, joined_space_at=start
        )
        bob = UserFactory(
            space=space if together else None,
            display_name="Bob",
            time_zone=bob_zone,
            joined_space_at=start if together else None,
        )
        self.pk = {"alice": alice.pk, "bob": bob.pk}
        self.user_tz = {"alice": alice_zone, "bob": bob_zone}
        self.members = {"alice", "bob"} if together else {"alice"}
        self._fire("start together" if together else "start alone")
        self._create("alice", rule_at, at, offset)

    # --- rituals ----------------------------------------------------------------------

    @precondition(lambda self: len(self.rituals) < MAX_RITUALS)
    @rule(who=WHO, rule_at=RULE, at=st.sampled_from(TIMES), offset=STARTS_ON)
    def create_ritual(self, who, rule_at, at, offset):
        self._create(self.acting(who), rule_at, at, offset)
        self._fire("create")

    def _create(self, name, rule_at, at, offset):
        starts_on = self.local_today() + dt.timedelta(days=offset)
        text = _rules(starts_on)[rule_at]
        ritual = services.ritual_create(
            space=self.space(),
            user=self.user(name),
            now=self.now,
            title="Evening talk",
            description="",
            participation="both",
            giver=None,
            rrule=text,
            recurrence={},
            starts_on=starts_on,
            time_of_day=at,
            duration_minutes=30,
            is_conversation=False,
        )
        self.rituals[ritual.pk] = RitualModel(ritual.pk, text, starts_on, at)
        self.sync(ritual.pk, self.members, "new")

    def local_today(self) -> dt.date:
        from zoneinfo import ZoneInfo

        return self.now.astimezone(ZoneInfo(self.space_zone)).date()

    def _pick(self, pick: int, statuses=("active", "paused", "archived")) -> int:
        pks = sorted(pk for pk, r in self.rituals.items() if r.status in statuses)
        return pks[pick % len(pks)]

    @precondition(lambda self: self.rituals)
    @rule(who=WHO, pick=PICK, at=st.sampled_from(TIMES))
    def edit_time(self, who, pick, at):
        pk = self._pick(pick)
        self.acting(who)  # either partner may edit; the service does not ask who
        reminded = self.reminded_ahead(pk)
        services.ritual_update(ritual=self.ritual(pk), now=self.now, time_of_day=at)
        self.rituals[pk].time_of_day = at
        self.sync(pk, self.members, "edited")
        self.tell_moved(pk, reminded)
        self._fire("edit time")

    @precondition(lambda self: self.rituals)
    @rule(pick=PICK, rule_at=RULE, offset=STARTS_ON)
    def edit_recurrence(self, pick, rule_at, offset):
        pk = self._pick(pick)
        starts_on = self.local_today() + dt.timedelta(days=offset)
        text = _rules(starts_on)[rule_at]
        reminded = self.reminded_ahead(pk)
        services.ritual_update(
            ritual=self.ritual(pk), now=self.now, rrule=text, recurrence={}, starts_on=starts_on
        )
        self.rituals[pk].rrule, self.rituals[pk].starts_on = text, starts_on
        self.sync(pk, self.members, "edited away")
        self.tell_moved(pk, reminded)
        self._fire("edit recurrence")

    def reminded_ahead(self, pk: int) -> list[tuple[str, dt.date, dt.datetime]]:
        """(member, day, instant) of reminders sent for occurrences still ahead."""
        model = self.rituals[pk]
        since = self.local_today() - dt.timedelta(days=1)
        out = []
        for (r, name, day), status in self.recorded.items():
            if r != pk or status != "sent" or day < since:
                continue
            if is_day(model.rrule, model.starts_on, day):
                at = model.at(day, self.space_zone)
                if at > self.now:
                    out.append((name, day, at))
        return out

    def tell_moved(self, pk: int, reminded) -> None:
        """Whoever was reminded of an occurrence that an edit moved or removed gets one
        "moved" e-mail per new time (apps/rituals/README.md, decided cases)."""
        model = self.rituals[pk]
        for name, day, was in reminded:
            at = (
                model.at(day, self.space_zone)
                if is_day(model.rrule, model.starts_on, day)
                else None
            )
            if at == was:
                continue
            key = (
                f"ritual-moved:{pk}:{day.isoformat()}:{self.pk[name]}:"
                f"{at.isoformat() if at else 'off'}"
            )
            if key not in self.outbox:
                self.outbox[key] = "skipped" if name in self.unsubscribed else "pending"
                self._fire("outcome: moved notice")

    def _set_status(self, pk: int, status: str) -> None:
        services.ritual_set_status(ritual=self.ritual(pk), status=status, now=self.now)
        self.rituals[pk].status = status
        self.sync(pk, self.members, status)
        self._fire(status)

    # Which statuses each button leaves from: the ritual's page offers "Pause" for an
    # active ritual, "Resume" for a paused or archived one, "Archive" for any other.
    FROM = {
        "paused": ("active",),
        "active": ("paused", "archived"),
        "archived": ("active", "paused"),
    }

    @rule(pick=PICK, status=st.sampled_from(["paused", "active", "archived"]))
    def pause_resume_archive(self, pick, status):
        if not any(r.status in self.FROM[status] for r in self.rituals.values()):
            return
        self._set_status(self._pick(pick, self.FROM[status]), status)

    # --- membership -------------------------------------------------------------------

    @precondition(
        lambda self: (
            len(self.members) == 1
            and sum(1 for t in self.invitations if self.now - t < dt.timedelta(days=1)) < 10
        )
    )
    @rule()
    def partner_joins(self):
        (inviter,) = self.members
        joiner = "bob" if inviter == "alice" else "alice"
        user = self.user(joiner)
        _invitation, token = accounts.invitation_create(
            space=self.space(), invited_by=self.user(inviter), email=user.email
        )
        self.invitations.append(self.now)
        accounts.invitation_accept(user=user, token=token)  # its hook recomputes the joiner
        self.members.add(joiner)
        self.sync_all([joiner], "joined")
        self._fire("partner joins")

    @precondition(lambda self: len(self.members) == 2)
    @rule(who=WHO)
    def leave(self, who):
        name = self.acting(who)
        accounts.space_leave(user=self.user(name))
        self.members.discard(name)
        # Their schedules, reminder choices and reminder log go with them; what was owed
        # to them was checked at the steps before this one.
        for (_pk, whose), row in self.rows.items():
            if whose == name and row is not None and row[1] <= self.now:
                self._fire("outcome: skipped")  # due, but they left before a pass came
        for key in [k for k in self.rows if k[1] == name]:
            del self.rows[key]
        for store in (self.recorded, self.skipped):
            for key in [k for k in store if k[1] == name]:
                del store[key]
        self.default_pref.pop(name, None)
        for key in [k for k in self.ritual_pref if k[0] == name]:
            del self.ritual_pref[key]
        for key, status in self.outbox.items():
            if key.split(":")[3] == str(self.pk[name]) and status == "pending":
                self.outbox[key] = "skipped"  # leaving skips what was queued for them
        self._fire("leave")

    # --- reminder choices -------------------------------------------------------------

    @rule(
        who=WHO,
        pick=PICK,
        per_ritual=st.booleans(),
        kind=KINDS,
        minutes=MINUTES,
        clear=st.booleans(),
    )
    def reminder_choice(self, who, pick, per_ritual, kind, minutes, clear):
        """The Reminders page's default, or one ritual's own choice ("" clears it)."""
        name = self.acting(who)
        pk = self._pick(pick) if per_ritual and self.rituals else None
        services.reminder_preference_set(
            user=self.user(name),
            ritual=self.ritual(pk) if pk else None,
            kind="" if clear else kind,
            minutes_before=minutes,
            now=self.now,
        )
        store, key = (self.ritual_pref, (name, pk)) if pk else (self.default_pref, name)
        if clear:
            store.pop(key, None)
        else:
            store[key] = (kind, minutes)
        if pk:
            self.sync(pk, self.members, "reminders off")  # the service recomputes both
        else:
            self.sync_all([name], "reminders off")
        what = "ritual choice" if pk else "default"
        self._fire(f"clear {what}" if clear else f"set {what}")

    @rule(who=WHO, on=st.booleans())
    def reminder_emails(self, who, on):
        """Off: the unsubscribe link's category opt-out. On: the settings page."""
        name = self.acting(who)
        if on:
            notifications.preferences_set(
                user=self.user(name), enabled=[c.value for c in OPTIONAL_CATEGORIES]
            )
            if name in self.unsubscribed:
                self._fire("subscribe again")
            self.unsubscribed.discard(name)
        else:
            assert notifications.unsubscribe(user_id=self.pk[name], category=Category.REMINDERS)
            self.unsubscribed.add(name)
            self._fire("unsubscribe")

    # --- zones and the space ----------------------------------------------------------

    @rule(who=WHO, zone=st.sampled_from(["", *ZONES]))
    def personal_zone(self, who, zone):
        name = self.acting(who)
        user = self.user(name)
        accounts.profile_update(user=user, display_name=user.display_name, time_zone=zone)
        if zone != self.user_tz[name]:
            self.user_tz[name] = zone
            self.sync_all([name], "zone")
        self._fire("personal zone")

    @rule(zone=st.sampled_from(ZONES))
    def space_zone_change(self, zone):
        space = self.space()
        accounts.space_update(
            space=space, name=space.name, time_zone=zone, anniversary=space.anniversary
        )
        if zone != self.space_zone:
            self.space_zone = zone
            self.sync_all(sorted(self.members), "zone")
        self._fire("space zone")

    @rule(day=st.dates(dt.date(2015, 1, 1), dt.date(2026, 12, 31)))
    def anniversary(self, day):
        space = self.space()
        accounts.space_update(
            space=space, name=space.name, time_zone=space.time_zone, anniversary=day
        )
        self._fire("anniversary")

    # --- check-ins --------------------------------------------------------------------

    @precondition(lambda self: self.rituals)
    @rule(
        who=WHO,
        pick=PICK,
        which=PICK,
        status=st.sampled_from(["kept", "skipped"]),
        note=st.sampled_from(["", "We walked by the river."]),
        feeling=st.sampled_from(["", "close", "tired"]),
        by_email=st.booleans(),
    )
    def check_in(self, who, pick, which, status, note, feeling, by_email):
        """On a day among the ritual's last week of occurrences, the next ones, and the
        days either side of today (which may not be occurrences)."""
        name = self.acting(who)
        pk = self._pick(pick)
        model = self.rituals[pk]
        today = self.local_today()
        days = {today - dt.timedelta(days=1), today + dt.timedelta(days=1)}
        started = []
        for day, at in model.occurrences(today - dt.timedelta(days=7), self.space_zone):
            if day > today + dt.timedelta(days=2):
                break
            days.add(day)
            if at <= self.now:
                started.append(day)
        # Two times in three an occurrence that has started, when there is one.
        days = started if started and which % 3 else sorted(days)
        day = days[which % len(days)]
        opens = (
            is_day(model.rrule, model.starts_on, day) and model.at(day, self.space_zone) <= self.now
        )
        before = set(
            CheckIn.objects.values_list(
                "ritual_id", "occurrence", "user_id", "status", "note", "feeling"
            )
        )
        if by_email:
            url = services.checkin_url(ritual_id=pk, day=day, user_id=self.pk[name], action=status)
            response = Client().post(url.removeprefix(django_settings.SITE_URL))
            assert response.status_code == (200 if opens else 400), (day, response.status_code)
        else:
            kwargs = {"day": day, "status": status, "note": note, "feeling": feeling}
            if opens:
                services.ritual_check_in(
                    ritual=self.ritual(pk), user=self.user(name), now=self.now, **kwargs
                )
            else:
                with pytest.raises(services.RitualError):
                    services.ritual_check_in(
                        ritual=self.ritual(pk), user=self.user(name), now=self.now, **kwargs
                    )
        if not opens:
            after = set(
                CheckIn.objects.values_list(
                    "ritual_id", "occurrence", "user_id", "status", "note", "feeling"
                )
            )
            assert after == before, "a refused check-in wrote something"
            self._fire("check-in refused")
            return
        key = (pk, day, name)
        if by_email:
            _old, old_note, old_feeling = self.check_ins.get(key, ("", "", ""))
            self.check_ins[key] = (status, old_note, old_feeling)
            self._fire("check-in by e-mail")
        else:
            self.check_ins[key] = (status, note, feeling)
            self._fire("check-in")

    # --- time -------------------------------------------------------------------------

    def _tick(self, minutes: int) -> None:
        self.move_clock(minutes)
        self.run_pass()
        self.model_pass()
        due = ReminderSchedule.objects.filter(next_remind_at__lte=self.now)
        assert not due.exists(), f"still due after the pass: {list(due.values())}"
        # A second pass at the same instant adds nothing.
        counts = (Reminder.objects.count(), OutboundEmail.objects.count())
        assert self.run_pass() == 0
        assert (Reminder.objects.count(), OutboundEmail.objects.count()) == counts

    @rule(minutes=SHORT)
    def tick(self, minutes):
        self._tick(minutes)
        self._fire("tick")

    @rule(minutes=LONG)
    def pass_skipped_past_grace(self, minutes):
        self._tick(minutes)
        self._fire("pass skipped past the grace period")

    @rule(minutes=st.sampled_from([30, 90, 150, 600]))
    def scheduler_down(self, minutes):
        """The clock moves on and no pass runs (the scheduler is down): whatever falls due
        meanwhile waits for the next pass, and the partners may act in between."""
        self.move_clock(minutes)
        self._fire("scheduler down")

    def next_due(self) -> dt.datetime | None:
        """The model's next reminder instant within three days, if any."""
        soon = [row[1] for row in self.rows.values() if row is not None]
        soon = [when for when in soon if when <= self.now + dt.timedelta(days=3)]
        return min(soon) if soon else None

    @precondition(lambda self: self.next_due() is not None)
    @rule(late=st.sampled_from([0, 1, 45, 120, 121]))
    def tick_to_next_reminder(self, late):
        """The clock moves to the next reminder instant (or ``late`` minutes after it: the
        grace period's edge is 120) and a pass runs there."""
        target = max(self.next_due(), self.now) + dt.timedelta(minutes=late)
        self._tick((target - self.now) // dt.timedelta(minutes=1))
        self._fire("tick to the next reminder")

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def matches_the_model(self):
        """Promises 1 to 4 of the module docstring, after every step."""
        if self._clock is None:
            return
        self.check_schedules()
        self.check_reminders()
        self.check_outbox()
        self.check_check_ins()

    def check_schedules(self):
        names = {pk: name for name, pk in self.pk.items()}
        live = {
            (r.ritual_id, names[r.user_id]): (r.next_occurrence, r.next_remind_at)
            for r in ReminderSchedule.objects.filter(next_remind_at__isnull=False)
        }
        expected = {key: row for key, row in self.rows.items() if row is not None}
        assert live == expected
        # Each owed row exists exactly once (the unique constraint, asserted anyway).
        pairs = ReminderSchedule.objects.values("ritual", "user").annotate(n=Count("pk"))
        assert all(p["n"] == 1 for p in pairs)

    def check_reminders(self):
        names = {pk: name for name, pk in self.pk.items()}
        reminders = {
            (r.ritual_id, names[r.recipient_id], r.occurrence): r.status
            for r in Reminder.objects.all()
        }
        assert reminders == self.recorded
        assert not (set(self.skipped) & set(self.recorded))
        emails = dict(
            OutboundEmail.objects.filter(dedupe_key__startswith="ritual-").values_list(
                "dedupe_key", "status"
            )
        )
        assert emails == self.outbox
        for (pk, name, day), status in self.recorded.items():
            key = reminder_key(pk, day, self.pk[name])
            if status == "sent":
                assert key in emails
            else:
                assert key not in emails or emails[key] == "skipped"

    def check_outbox(self):
        doubled = OutboundEmail.objects.values("dedupe_key").annotate(n=Count("pk")).filter(n__gt=1)
        assert not doubled.exists()

    def check_check_ins(self):
        names = {pk: name for name, pk in self.pk.items()}
        rows = {
            (c.ritual_id, c.occurrence, names[c.user_id]): (c.status, c.note, c.feeling)
            for c in CheckIn.objects.all()
        }
        assert rows == self.check_ins


def test_two_partners_in_any_order():
    """The machine, about 20 s on SQLite and 40 s on PostgreSQL on an idle 2-core machine.
    The settings inherit the loaded profile, so CI's derandomized draw stays fixed.
    MODEL_EXAMPLES=200 explores further locally (then the run takes minutes)."""
    TwoPartners.fired = Counter()
    run_state_machine_as_test(
        TwoPartners,
        settings=settings(
            max_examples=int(os.environ.get("MODEL_EXAMPLES", "30")),
            stateful_step_count=45,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    fired = TwoPartners.fired
    print("\nRules fired:", ", ".join(f"{name} {n}" for name, n in sorted(fired.items())))
    expected = {
        "start together",
        "start alone",
        "create",
        "edit time",
        "edit recurrence",
        "paused",
        "active",
        "archived",
        "partner joins",
        "leave",
        "set default",
        "clear default",
        "set ritual choice",
        "clear ritual choice",
        "unsubscribe",
        "subscribe again",
        "personal zone",
        "space zone",
        "anniversary",
        "check-in",
        "check-in by e-mail",
        "check-in refused",
        "tick",
        "tick to the next reminder",
        "pass skipped past the grace period",
        "scheduler down",
        "outcome: sent",
        "outcome: missed",
    }
    # "outcome: skipped" (due, then parked before a pass) is rarer than one run can promise
    # under the fixed CI draw; test_a_due_reminder_parked_before_the_pass_is_skipped walks
    # it on purpose.
    assert expected <= set(fired), f"rules never fired: {sorted(expected - set(fired))}"


# --- The *skipped* outcome, walked on purpose ---------------------------------------------

NOON = dt.datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
TONIGHT = dt.date(2026, 12, 2)


def _walk(actor: int, action) -> TwoPartners:
    """Both partners in Berlin share a daily 21:30 (20:30 UTC, reminded at 20:00 UTC by
    default); the scheduler is down from noon until 20:05, ``action`` happens then, and a
    pass runs at 20:12. The model's checks run after every step, as in the machine."""
    machine = TwoPartners()
    try:
        _steps(machine, actor, action)
    except BaseException:
        machine.teardown()
        raise
    return machine


def _steps(machine: TwoPartners, actor: int, action) -> None:
    machine.setup(
        start=NOON,
        space_zone="Europe/Berlin",
        alice_zone="",
        bob_zone="",
        together=True,
        rule_at=0,
        at=dt.time(21, 30),
        offset=0,
    )
    machine.matches_the_model()
    machine.scheduler_down(minutes=9 * 60 + 5)
    machine.matches_the_model()
    assert all(
        row == (TONIGHT, dt.datetime(2026, 12, 2, 20, 0, tzinfo=UTC))
        for row in machine.rows.values()
    )
    action(machine, actor)
    machine.matches_the_model()
    machine.tick(minutes=7)
    machine.matches_the_model()


def _outcome(machine: TwoPartners, name: str) -> str:
    (pk,) = machine.rituals
    key = (pk, name, TONIGHT)
    reminder = Reminder.objects.filter(
        ritual_id=pk, occurrence=TONIGHT, recipient_id=machine.pk[name]
    ).first()
    email = OutboundEmail.objects.filter(
        dedupe_key=reminder_key(pk, TONIGHT, machine.pk[name])
    ).first()
    if key in machine.skipped:
        assert reminder is None and email is None
        return f"skipped ({machine.skipped[key]})"
    assert reminder is not None
    assert (email is not None) == (reminder.status == "sent")
    return reminder.status


@pytest.mark.parametrize("actor", [0, 1], ids=["alice-acts", "bob-acts"])
def test_a_due_reminder_parked_before_the_pass_is_skipped(actor):
    names = ("alice", "bob")
    me, partner = names[actor], names[1 - actor]

    def pause(machine, _actor):
        machine.pause_resume_archive(pick=0, status="paused")

    def reminders_off_here(machine, who):
        machine.reminder_choice(
            who=who, pick=0, per_ritual=True, kind="off", minutes=30, clear=False
        )

    def leave(machine, who):
        machine.leave(who=who)

    for action, mine, theirs in (
        (pause, "skipped (paused)", "skipped (paused)"),
        (reminders_off_here, "skipped (reminders off)", "sent"),
        (leave, None, "sent"),
    ):
        machine = _walk(actor, action)  # each walk rolls back in its teardown
        try:
            if mine is not None:
                assert _outcome(machine, me) == mine
            else:  # their reminder log left with them
                assert not Reminder.objects.filter(recipient_id=machine.pk[me]).exists()
            assert _outcome(machine, partner) == theirs
        finally:
            machine.teardown()
