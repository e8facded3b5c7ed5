"""Two bulk reminder passes at once on PostgreSQL: conversation questions stay right."""

import datetime as dt
from collections import defaultdict

import pytest
from django.core import mail

from apps.notifications.models import OutboundEmail
from apps.rituals import services
from apps.rituals.models import QuestionUse, Reminder, ReminderSchedule
from tests.concurrency import run_at_once
from tests.factories import SpaceFactory, UserFactory

from .conftest import make_ritual

pytestmark = pytest.mark.postgres
UTC = dt.UTC


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_share_one_question_per_occurrence(postgres):
    for i in range(6):
        space = SpaceFactory(name=f"Talkers {i}")
        a = UserFactory(space=space)
        UserFactory(space=space)
        for n in range(3):
            make_ritual(
                space,
                a,
                now=dt.datetime(2026, 3, 2, 12, tzinfo=UTC),
                title=f"Talk {i}-{n}",
                is_conversation=True,
            )
    now = dt.datetime(2026, 3, 2, 18, tzinfo=UTC)
    expected = ReminderSchedule.objects.filter(next_remind_at__lte=now).count()
    assert expected == 36
    mail.outbox.clear()
    # Odd batches split partners of one ritual between the two passes.
    handled = run_at_once(lambda: services.reminders_schedule_due(now=now, batch_size=5))
    assert sum(handled) == expected
    assert OutboundEmail.objects.count() == Reminder.objects.count() == expected
    by_occurrence = defaultdict(set)
    for ritual_id, question in Reminder.objects.values_list("ritual_id", "question"):
        by_occurrence[ritual_id].add(question)
    assert all(len(qs) == 1 and None not in qs for qs in by_occurrence.values())
    uses = list(QuestionUse.objects.values_list("space_id", "cycle", "question"))
    assert len(uses) == len(set(uses)) == 18  # one per occurrence, none repeated in a space
