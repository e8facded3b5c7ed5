"""Reminders from both sides: what one partner does never changes the other's reminders,
and a recompute never drops a reminder it owed (issue 10, bugs 1, 2 and the decided cases)."""

import datetime as dt

import pytest
from django.core import mail

from apps.accounts.models import User
from apps.rituals import services
from apps.rituals.models import Reminder, ReminderSchedule

from .conftest import make_ritual, to, utc

UTC = dt.UTC
pytestmark = pytest.mark.django_db


def schedule(ritual, user):
    return ReminderSchedule.objects.get(ritual=ritual, user=user)


# A daily 21:30 in Berlin (20:30 UTC in winter), reminded 30 minutes before by default.
NOON = utc(2026, 12, 2, 11, 0)


@pytest.fixture
def daily(space, both_ways):
    return make_ritual(space, both_ways.actor, now=NOON, at=dt.time(21, 30))


def test_a_default_saved_by_one_partner_keeps_the_others_reminders(daily, both_ways, tick):
    """Bug 1: the Reminders page's default, saved by one, nulled the other's schedule."""
    services.reminder_preference_set(
        user=both_ways.actor, kind="before", minutes_before=45, now=NOON
    )
    assert schedule(daily, both_ways.actor).next_remind_at == utc(2026, 12, 2, 19, 45)
    assert schedule(daily, both_ways.partner).next_remind_at == utc(2026, 12, 2, 20, 0)
    tick(utc(2026, 12, 2, 19, 45))
    tick(utc(2026, 12, 2, 20, 0))
    assert len(to(both_ways.actor)) == len(to(both_ways.partner)) == 1
    tick(utc(2026, 12, 3, 20, 0))
    assert len(to(both_ways.partner)) == 2


def test_one_partners_zone_change_keeps_the_others_reminders(daily, both_ways, tick):
    """Bug 1 again, through the time-zone setting."""
    User.objects.filter(pk=both_ways.actor.pk).update(time_zone="America/New_York")
    both_ways.actor.refresh_from_db()
    services.schedules_sync_user(user=both_ways.actor, now=NOON)
    assert schedule(daily, both_ways.partner).next_remind_at == utc(2026, 12, 2, 20, 0)
    tick(utc(2026, 12, 2, 20, 0))
    assert len(to(both_ways.partner)) == 1


def test_the_partner_who_joins_later_does_not_switch_off_the_founder(space, alice, tick):
    """Bug 1 through an invitation accepted after rituals exist."""
    from tests.factories import UserFactory

    ritual = make_ritual(space, alice, now=NOON, at=dt.time(21, 30))
    bob = UserFactory(space=space, display_name="Bob")
    services.schedules_sync_user(user=bob, now=NOON)  # what the accept hook does
    assert schedule(ritual, alice).next_remind_at == utc(2026, 12, 2, 20, 0)
    assert schedule(ritual, bob).next_remind_at == utc(2026, 12, 2, 20, 0)
    tick(utc(2026, 12, 2, 20, 0))
    assert len(to(alice)) == len(to(bob)) == 1


def test_only_former_members_rows_are_parked(space, alice, bob, tick):
    ritual = make_ritual(space, alice, now=NOON, at=dt.time(21, 30))
    User.objects.filter(pk=bob.pk).update(space=None)
    services.schedules_sync(ritual=ritual, now=NOON, members=[alice])
    assert schedule(ritual, bob).next_remind_at is None
    assert schedule(ritual, alice).next_remind_at == utc(2026, 12, 2, 20, 0)


# --- Bug 2: a zone change that moves today's reminder into the recent past -----------------

# 23:30 in Berlin = 22:30 UTC; morning of in Los Angeles = 08:00 PST = 16:00 UTC.


@pytest.fixture
def evening(space, alice, bob):
    return make_ritual(space, alice, now=utc(2026, 12, 2, 6), at=dt.time(23, 30))


def _morning_in(user, zone, *, now):
    services.reminder_preference_set(user=user, kind="morning", now=now)
    User.objects.filter(pk=user.pk).update(time_zone=zone)
    user.refresh_from_db()
    services.schedules_sync_user(user=user, now=now)


def test_zone_change_into_the_recent_past_still_sends_todays_reminder(evening, both_ways, tick):
    who = both_ways.partner
    _morning_in(who, "America/Los_Angeles", now=utc(2026, 12, 2, 6))
    assert schedule(evening, who).next_remind_at == utc(2026, 12, 2, 16, 0)
    # At 15:00 UTC they move to New York: today's 08:00 there was 13:00 UTC, two hours
    # ago: still within the grace period, so it goes out now.
    User.objects.filter(pk=who.pk).update(time_zone="America/New_York")
    who.refresh_from_db()
    services.schedules_sync_user(user=who, now=utc(2026, 12, 2, 14, 30))
    assert schedule(evening, who).next_remind_at == utc(2026, 12, 2, 13, 0)
    tick(utc(2026, 12, 2, 14, 31))
    assert len(to(who)) == 1
    sent = Reminder.objects.get(ritual=evening, recipient=who)
    assert (sent.occurrence, sent.status) == (dt.date(2026, 12, 2), "sent")
    assert schedule(evening, who).next_remind_at == utc(2026, 12, 3, 13, 0)


def test_zone_change_far_into_the_past_records_a_miss(evening, both_ways, tick):
    who = both_ways.partner
    _morning_in(who, "America/Los_Angeles", now=utc(2026, 12, 2, 6))
    # At 15:00 UTC they move to London: today's 08:00 there was seven hours ago.
    User.objects.filter(pk=who.pk).update(time_zone="Europe/London")
    who.refresh_from_db()
    services.schedules_sync_user(user=who, now=utc(2026, 12, 2, 15))
    tick(utc(2026, 12, 2, 15, 1))
    assert to(who) == []
    missed = Reminder.objects.get(ritual=evening, recipient=who)
    assert (missed.occurrence, missed.status) == (dt.date(2026, 12, 2), "missed")
    assert schedule(evening, who).next_remind_at == utc(2026, 12, 3, 8, 0)


# --- Decided: a ritual made after today's reminder instant, before the ritual itself ------


def test_a_ritual_made_after_todays_reminder_instant_reminds_both_at_once(space, both_ways, tick):
    # 21:30 Berlin = 20:30 UTC, reminded 30 minutes before (20:00): made at 20:10.
    made = utc(2026, 12, 2, 20, 10)
    ritual = make_ritual(space, both_ways.actor, now=made, at=dt.time(21, 30))
    for who in (both_ways.actor, both_ways.partner):
        assert schedule(ritual, who).next_remind_at == made
    tick(utc(2026, 12, 2, 20, 11))
    assert len(to(both_ways.actor)) == len(to(both_ways.partner)) == 1
    assert set(Reminder.objects.values_list("occurrence", "status", "due_at")) == {
        (dt.date(2026, 12, 2), "sent", made)
    }


def test_a_ritual_made_after_it_started_today_begins_tomorrow(space, both_ways, tick):
    ritual = make_ritual(space, both_ways.actor, now=utc(2026, 12, 2, 20, 31), at=dt.time(21, 30))
    for who in (both_ways.actor, both_ways.partner):
        assert schedule(ritual, who).next_occurrence == dt.date(2026, 12, 3)
    tick(utc(2026, 12, 2, 20, 40))
    assert mail.outbox == []


# --- The grace boundary: exactly at the limit is sent, one second past is missed ----------


@pytest.mark.parametrize(
    ("late", "status"),
    [
        (dt.timedelta(minutes=120) - dt.timedelta(seconds=1), "sent"),
        (dt.timedelta(minutes=120), "sent"),
        (dt.timedelta(minutes=120) + dt.timedelta(seconds=1), "missed"),
    ],
)
def test_the_grace_boundary(space, both_ways, tick, settings, late, status):
    settings.RITUALS_REMINDER_GRACE_MINUTES = 120
    ritual = make_ritual(space, both_ways.actor, now=NOON, at=dt.time(21, 30))
    due = utc(2026, 12, 2, 20, 0)
    tick(due + late)
    got = dict(Reminder.objects.filter(ritual=ritual).values_list("recipient_id", "status"))
    assert got == {both_ways.actor.pk: status, both_ways.partner.pk: status}
    assert len(mail.outbox) == (2 if status == "sent" else 0)


# --- Decided: a ritual whose time is edited after its reminder went out -----------------


def test_an_edit_after_the_reminder_tells_whoever_was_reminded(space, both_ways, tick):
    from apps.notifications.models import OutboundEmail

    actor, partner = both_ways.actor, both_ways.partner
    ritual = make_ritual(space, actor, now=NOON, at=dt.time(21, 30))
    services.reminder_preference_set(user=actor, kind="before", minutes_before=10, now=NOON)
    tick(utc(2026, 12, 2, 20, 0))  # the partner is reminded (30 min before); the actor not yet
    assert len(to(partner)) == 1 and to(actor) == []
    services.ritual_update(ritual=ritual, time_of_day=dt.time(22, 15), now=utc(2026, 12, 2, 20, 5))
    moved = OutboundEmail.objects.filter(template="ritual_moved")
    assert [m.to_email for m in moved] == [partner.email]
    (note,) = moved
    assert "now on Wednesday 2 December at 22:15" in note.body_text
    assert "not Wednesday 2 December at 21:30" in note.body_text
    assert "22:15" in note.subject and "22:15" in note.body_html
    # Nobody is reminded twice of that evening; the actor is reminded at the new time.
    tick(utc(2026, 12, 2, 21, 5))
    assert len([m for m in to(partner) if "moved" not in m.subject]) == 1
    assert Reminder.objects.get(recipient=actor, occurrence=dt.date(2026, 12, 2)).due_at == utc(
        2026, 12, 2, 21, 5
    )
    # Saving again without a change tells nobody again.
    services.ritual_update(ritual=ritual, title="Talk", now=utc(2026, 12, 2, 20, 6))
    assert OutboundEmail.objects.filter(template="ritual_moved").count() == 1


def test_an_edit_that_removes_a_reminded_day_says_so(space, both_ways, tick):
    from apps.notifications.models import OutboundEmail
    from apps.rituals.recurrence import rrule_from_answers

    ritual = make_ritual(space, both_ways.actor, now=NOON, at=dt.time(21, 30))
    tick(utc(2026, 12, 2, 20, 0))
    weekly = {"freq": "weekly", "interval": 1, "weekdays": ["FR"]}
    services.ritual_update(
        ritual=ritual,
        recurrence=weekly,
        rrule=rrule_from_answers(weekly, ritual.starts_on),
        now=utc(2026, 12, 2, 20, 5),
    )
    moved = OutboundEmail.objects.filter(template="ritual_moved")
    assert {m.to_email for m in moved} == {both_ways.actor.email, both_ways.partner.email}
    assert all("no longer happens on Wednesday 2 December" in m.body_text for m in moved)


# --- A reminder due at once stays due at once (found by the two-partner model) ----------


def test_the_others_reminder_choice_never_turns_a_due_reminder_into_a_miss(space, both_ways, tick):
    actor, partner = both_ways.actor, both_ways.partner
    services.reminder_preference_set(user=partner, kind="before", minutes_before=600, now=NOON)
    made = utc(2026, 12, 2, 20, 10)
    ritual = make_ritual(space, actor, now=made, at=dt.time(21, 30))
    assert schedule(ritual, partner).next_remind_at == made
    # Still at 20:10: the actor picks "at the time" for this ritual, then edits its title.
    services.reminder_preference_set(user=actor, ritual=ritual, kind="at_time", now=made)
    services.ritual_update(ritual=ritual, title="Our talk", now=made)
    assert schedule(ritual, partner).next_remind_at == made
    tick(utc(2026, 12, 2, 20, 11))
    assert Reminder.objects.get(recipient=partner).status == "sent"
    assert len(to(partner)) == 1


def test_a_lead_longer_than_a_day_reminds_of_both_at_once_not_missed(space, both_ways, tick):
    who = both_ways.partner
    services.reminder_preference_set(user=who, kind="before", minutes_before=2880, now=NOON)
    ritual = make_ritual(space, both_ways.actor, now=NOON, at=dt.time(21, 30))
    tick(utc(2026, 12, 2, 11, 1))
    got = dict(
        Reminder.objects.filter(ritual=ritual, recipient=who).values_list("occurrence", "status")
    )
    assert got == {dt.date(2026, 12, 2): "sent", dt.date(2026, 12, 3): "sent"}
    # The day after is reminded two days ahead, as asked: 21:30 on the 2nd (20:30 UTC).
    assert schedule(ritual, who).next_remind_at == utc(2026, 12, 2, 20, 30)
