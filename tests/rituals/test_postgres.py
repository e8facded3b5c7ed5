"""Row locks and plans only PostgreSQL can show (run with DATABASE_URL on PostgreSQL)."""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection, transaction

from apps.accounts.models import Space
from apps.core.scheduling import due_ids
from apps.notifications.models import OutboundEmail
from apps.rituals import services
from apps.rituals.models import Reminder, ReminderSchedule, Ritual
from tests.concurrency import run_at_once
from tests.factories import SpaceFactory, UserFactory

from .conftest import make_ritual

UTC = dt.UTC
pytestmark = pytest.mark.postgres


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_send_each_reminder_exactly_once(postgres):
    spaces = []
    for i in range(10):
        space = SpaceFactory(name=f"Couple {i}")
        a = UserFactory(space=space)
        UserFactory(space=space)
        spaces.append((space, a))
    for space, a in spaces:
        for n in range(3):
            make_ritual(space, a, now=utc(2026, 3, 2, 12), title=f"Ritual {space.pk}-{n}")
    expected = ReminderSchedule.objects.filter(next_remind_at__lte=utc(2026, 3, 2, 18)).count()
    assert expected == 60
    mail.outbox.clear()

    handled = run_at_once(
        lambda: services.reminders_schedule_due(now=utc(2026, 3, 2, 18), batch_size=4)
    )
    assert sum(handled) == expected  # no row was handled by both passes
    assert Reminder.objects.count() == expected
    assert OutboundEmail.objects.count() == expected
    keys = [(m.to[0], m.subject) for m in mail.outbox]
    assert len(keys) == len(set(keys)) == expected


@pytest.mark.django_db
def test_due_row_query_uses_the_index(postgres):
    space = Space.objects.create(name="Plan", time_zone="UTC", anniversary=dt.date(2020, 1, 1))
    user = UserFactory(space=space)
    ritual = Ritual.objects.create(
        space=space,
        title="x",
        rrule="FREQ=DAILY",
        starts_on=dt.date(2026, 1, 1),
        time_of_day=dt.time(9, 0),
    )
    users = [user] + [UserFactory() for _ in range(3)]
    rituals = [ritual] + [
        Ritual.objects.create(
            space=space,
            title=f"r{i}",
            rrule="FREQ=DAILY",
            starts_on=dt.date(2026, 1, 1),
            time_of_day=dt.time(9, 0),
        )
        for i in range(2000)
    ]
    rows = [
        ReminderSchedule(ritual=r, user=u, next_remind_at=utc(2027, 1, 1) + dt.timedelta(minutes=i))
        for i, r in enumerate(rituals)
        for u in users[:2]
    ]
    ReminderSchedule.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE rituals_reminderschedule")
    with transaction.atomic():
        qs = due_ids(
            ReminderSchedule.objects.all(), due="next_remind_at", now=utc(2026, 6, 1), limit=200
        )
        plan = qs.explain()
    assert "ritual_schedule_due_idx" in plan, plan
