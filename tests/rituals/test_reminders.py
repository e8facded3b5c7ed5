"""The reminder pass, with a frozen clock: right instant, once, missed when late."""

import datetime as dt

import pytest
from django.core import mail

from apps.accounts.models import User
from apps.rituals import services
from apps.rituals.models import QuestionUse, Reminder, ReminderSchedule, Ritual
from apps.rituals.questions import QUESTIONS

from .conftest import make_ritual, to, utc

UTC = dt.UTC
pytestmark = pytest.mark.django_db


def test_daily_reminder_sent_once_per_partner_at_the_right_time(ritual_maker, alice, bob, tick):
    ritual = ritual_maker(utc(2026, 3, 2, 12), at=dt.time(19, 30))  # Berlin, 30 min before
    assert tick(utc(2026, 3, 2, 17, 59)) == 0
    assert mail.outbox == []
    assert tick(utc(2026, 3, 2, 18, 0)) == 2
    assert len(to(alice)) == len(to(bob)) == 1
    message = to(alice)[0]
    assert "Monday 2 March at 19:30 (Europe/Berlin)" in message.subject
    assert "Monday 2 March at 19:30" in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/rituals/answer/" in message.body
    html = message.alternatives[0][0]
    assert "We did it" in html and "Skip this time" in html
    # Running again changes nothing.
    assert tick(utc(2026, 3, 2, 18, 1)) == 0
    assert len(mail.outbox) == 2
    assert Reminder.objects.filter(ritual=ritual, status="sent").count() == 2
    schedule = ReminderSchedule.objects.get(ritual=ritual, user=alice)
    assert schedule.next_remind_at == utc(2026, 3, 3, 18, 0)


@pytest.mark.parametrize(
    ("zone", "day", "fires_at", "next_at"),
    [
        # Spring forward: 02:30 → 03:00 local, once.
        ("Europe/Berlin", dt.date(2026, 3, 29), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)),
        ("America/New_York", dt.date(2026, 3, 8), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)),
        # Fall back: the first 02:30 only (Berlin); New York's 02:30 exists once.
        (
            "Europe/Berlin",
            dt.date(2026, 10, 25),
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 26, 1, 30),
        ),
        (
            "America/New_York",
            dt.date(2026, 11, 1),
            utc(2026, 11, 1, 7, 30),
            utc(2026, 11, 2, 7, 30),
        ),
    ],
)
def test_0230_on_dst_days_fires_once(space, alice, bob, tick, zone, day, fires_at, next_at):
    space.time_zone = zone
    space.save()
    for user in (alice, bob):
        services.reminder_preference_set(user=user, kind="at_time", now=utc(2026, 1, 1))
    ritual = make_ritual(space, alice, now=fires_at - dt.timedelta(hours=20), at=dt.time(2, 30))
    assert tick(fires_at - dt.timedelta(seconds=1)) == 0
    assert tick(fires_at) == 2
    assert len(to(alice)) == 1
    # The rest of the day (including the repeated hour) sends nothing more.
    for minutes in (30, 60, 90, 120, 180):
        assert tick(fires_at + dt.timedelta(minutes=minutes)) == 0
    assert len(to(alice)) == 1
    reminder = Reminder.objects.get(ritual=ritual, recipient=alice)
    assert (reminder.occurrence, reminder.due_at) == (day, fires_at)
    assert ReminderSchedule.objects.get(ritual=ritual, user=alice).next_remind_at == next_at


def test_partners_in_auckland_and_los_angeles(space, alice, bob, tick):
    space.time_zone = "Pacific/Auckland"
    space.save()
    User.objects.filter(pk=alice.pk).update(time_zone="Pacific/Auckland")
    User.objects.filter(pk=bob.pk).update(time_zone="America/Los_Angeles")
    alice.refresh_from_db()
    bob.refresh_from_db()
    services.reminder_preference_set(
        user=alice, kind="before", minutes_before=60, now=utc(2026, 1, 1)
    )
    services.reminder_preference_set(user=bob, kind="at_time", now=utc(2026, 1, 1))
    # Saturday 20:00 in Auckland (NZDT, +13) = 07:00 UTC = Friday 23:00 in Los Angeles (PST).
    make_ritual(
        space,
        alice,
        now=utc(2026, 1, 5),
        answers={"freq": "weekly", "weekdays": ["SA"]},
        at=dt.time(20, 0),
        title="Video date",
    )
    assert tick(utc(2026, 1, 10, 6, 0)) == 1
    assert to(alice) and not to(bob)
    assert "Saturday 10 January at 20:00 (Pacific/Auckland)" in to(alice)[0].body
    assert tick(utc(2026, 1, 10, 7, 0)) == 1
    body = to(bob)[0].body
    assert "Friday 9 January at 23:00 (America/Los Angeles)" in body
    assert "Saturday 10 January at 20:00 (Pacific/Auckland) at home" in body


def test_48_hour_outage_records_missed_and_sends_only_current(ritual_maker, alice, bob, tick):
    ritual = ritual_maker(utc(2026, 3, 1, 12), at=dt.time(19, 30))  # reminders 18:00 UTC daily
    # The worker was down from 1 March to 3 March 19:00 UTC: the 1st's and 2nd's are stale,
    # the 3rd's (due 18:00, one hour ago) is within the 2-hour grace.
    assert tick(utc(2026, 3, 3, 19, 0)) == 6
    statuses = dict(Reminder.objects.filter(recipient=alice).values_list("occurrence", "status"))
    assert statuses == {
        dt.date(2026, 3, 1): "missed",
        dt.date(2026, 3, 2): "missed",
        dt.date(2026, 3, 3): "sent",
    }
    assert len(to(alice)) == len(to(bob)) == 1
    assert "3 March" in to(alice)[0].subject
    assert ReminderSchedule.objects.get(ritual=ritual, user=alice).next_remind_at == utc(
        2026, 3, 4, 18, 0
    )


def test_pausing_stops_and_resuming_restarts(ritual_maker, alice, bob, tick):
    ritual = ritual_maker(utc(2026, 3, 2, 12))
    services.ritual_set_status(ritual=ritual, status="paused", now=utc(2026, 3, 2, 13))
    assert set(ReminderSchedule.objects.values_list("next_remind_at", flat=True)) == {None}
    assert tick(utc(2026, 3, 2, 18, 0)) == 0
    assert mail.outbox == []
    services.ritual_set_status(ritual=ritual, status="active", now=utc(2026, 3, 3, 9))
    assert tick(utc(2026, 3, 3, 18, 0)) == 2
    assert {m.subject.split(":")[1].strip() for m in mail.outbox} == {"Tuesday 3 March at 19"}


def test_editing_time_and_schedule_recomputes(ritual_maker, alice, bob, tick):
    ritual = ritual_maker(utc(2026, 3, 2, 12))
    services.ritual_update(
        ritual=ritual,
        now=utc(2026, 3, 2, 13),
        time_of_day=dt.time(21, 0),
        rrule="FREQ=WEEKLY;BYDAY=FR",
        recurrence={"freq": "weekly", "weekdays": ["FR"]},
    )
    # Friday 6 March 21:00 Berlin = 20:00 UTC, reminded 30 minutes before.
    assert ReminderSchedule.objects.get(ritual=ritual, user=bob).next_remind_at == utc(
        2026, 3, 6, 19, 30
    )
    assert tick(utc(2026, 3, 2, 18, 0)) == 0
    assert tick(utc(2026, 3, 6, 19, 30)) == 2


def test_zone_change_recomputes_via_service_and_in_the_pass(ritual_maker, alice, bob, tick):
    services.reminder_preference_set(user=bob, kind="morning", now=utc(2026, 3, 1))
    ritual = ritual_maker(utc(2026, 3, 2, 12), at=dt.time(19, 30))
    # Morning of, in Berlin: 08:00 CET = 07:00 UTC, past when the ritual is made at noon
    # for tonight: due at once (DESIGN decision: a new ritual still reminds of tonight).
    assert ReminderSchedule.objects.get(ritual=ritual, user=bob).next_remind_at == utc(
        2026, 3, 2, 12, 0
    )
    User.objects.filter(pk=bob.pk).update(time_zone="Asia/Tokyo")
    bob.refresh_from_db()
    services.schedules_sync_user(user=bob, now=utc(2026, 3, 2, 12))
    # Berlin 19:30 = 03:30 Tokyo the next day; Tokyo's morning 08:00 would be after it,
    # so the reminder comes at the ritual's own instant.
    schedule = ReminderSchedule.objects.get(ritual=ritual, user=bob)
    assert schedule.next_remind_at == utc(2026, 3, 2, 18, 30)
    # A change nobody told the schedules about is caught by the pass.
    User.objects.filter(pk=bob.pk).update(time_zone="America/New_York")
    assert tick(utc(2026, 3, 2, 18, 30)) >= 1
    schedule.refresh_from_db()
    assert schedule.zones.endswith("America/New_York")
    assert not to(bob)
    # New York's morning of the 2nd would be past; the next is the 3rd's 08:00 EST = 13:00 UTC.
    assert schedule.next_remind_at == utc(2026, 3, 3, 13, 0)


def test_turned_off_reminders_and_per_ritual_override(ritual_maker, alice, bob, tick):
    services.reminder_preference_set(user=bob, kind="off", now=utc(2026, 3, 1))
    ritual = ritual_maker(utc(2026, 3, 2, 12))
    services.reminder_preference_set(
        user=alice, ritual=ritual, kind="before", minutes_before=120, now=utc(2026, 3, 2, 12)
    )
    assert tick(utc(2026, 3, 2, 16, 30)) == 1
    assert to(alice) and not to(bob)


def test_conversation_questions_are_fresh_and_shared(space, alice, bob, tick):
    make_ritual(
        space, alice, now=utc(2026, 1, 1), is_conversation=True, starts_on=dt.date(2026, 1, 1)
    )
    seen = []
    day = utc(2026, 1, 1, 18, 0)
    for i in range(len(QUESTIONS) + 2):
        mail.outbox.clear()
        tick(day + dt.timedelta(days=i))
        bodies = [m.body for m in mail.outbox]
        assert len(bodies) == 2
        question = next(q for q in QUESTIONS if q in bodies[0])
        assert question in bodies[1]  # both partners talk about the same question
        seen.append(question)
    assert len(set(seen[: len(QUESTIONS)])) == len(QUESTIONS)  # no repeat until all used
    assert QuestionUse.objects.filter(space=space, cycle=1).count() == 2


def test_pass_query_count_does_not_grow_with_rituals(
    space, alice, bob, tick, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from apps.rituals.services import reminders_schedule_due

    def count_for(n_rituals):
        Ritual.objects.all().delete()
        mail.outbox.clear()
        # n idle rituals (weekly, far away) and two due ones.
        for _ in range(n_rituals):
            make_ritual(
                space,
                alice,
                now=utc(2026, 3, 2, 12),
                answers={"freq": "yearly"},
                starts_on=dt.date(2026, 9, 1),
            )
        for _ in range(2):
            make_ritual(space, alice, now=utc(2026, 3, 2, 12))
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as idle:
            reminders_schedule_due(now=utc(2026, 3, 2, 17))
        with CaptureQueriesContext(connection) as busy:
            reminders_schedule_due(now=utc(2026, 3, 2, 18))
        return len(idle.captured_queries), len(busy.captured_queries)

    small = count_for(3)
    large = count_for(40)
    assert small == large
    assert small[0] <= 3  # nothing due: the claim and its transaction


def test_reminder_unique_per_occurrence_even_if_schedule_rewinds(ritual_maker, alice, bob, tick):
    ritual = ritual_maker(utc(2026, 3, 2, 12))
    assert tick(utc(2026, 3, 2, 18, 0)) == 2
    # Someone switches Alice to "at the time" right after: same occurrence again.
    services.reminder_preference_set(
        user=alice, ritual=ritual, kind="at_time", now=utc(2026, 3, 2, 18, 5)
    )
    # The occurrence she was reminded of is not scheduled again: the next is tomorrow's.
    assert ReminderSchedule.objects.get(ritual=ritual, user=alice).next_occurrence == dt.date(
        2026, 3, 3
    )
    tick(utc(2026, 3, 2, 18, 30))
    assert len(to(alice)) == 1
    assert Reminder.objects.filter(ritual=ritual, recipient=alice).count() == 1


def test_partial_edit_keeps_the_giver(ritual_maker, alice, bob):
    ritual = ritual_maker(utc(2026, 3, 2, 12), participation="gives", giver=bob)
    services.ritual_update(ritual=ritual, now=utc(2026, 3, 2, 13), time_of_day=dt.time(22, 0))
    ritual.refresh_from_db()
    assert (ritual.participation, ritual.giver) == ("gives", bob)
    with pytest.raises(services.RitualError):
        services.ritual_update(ritual=ritual, now=utc(2026, 3, 2, 13), giver=None)


def test_gives_ritual_email_names_the_giver(ritual_maker, alice, bob, tick):
    ritual_maker(utc(2026, 3, 2, 12), participation="gives", giver=bob, title="Shoulder rub")
    tick(utc(2026, 3, 2, 18, 0))
    assert "the one giving is Bob." in to(alice)[0].body
    assert "the one giving is you." in to(bob)[0].body
