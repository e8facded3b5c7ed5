import datetime as dt

import pytest

from apps.rituals import services
from apps.rituals.recurrence import rrule_from_answers

UTC = dt.UTC


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def to(user):
    """The e-mails sent to ``user`` (Django's in-memory outbox)."""
    from django.core import mail

    return [m for m in mail.outbox if user.email in m.to]


def make_ritual(space, user, *, now, answers=None, at=dt.time(19, 30), starts_on=None, **extra):
    answers = answers or {"freq": "daily", "interval": 1}
    starts_on = starts_on or dt.date(2026, 1, 1)
    fields = {
        "title": extra.pop("title", "Evening talk"),
        "description": extra.pop("description", ""),
        "participation": extra.pop("participation", "both"),
        "giver": extra.pop("giver", None),
        "rrule": extra.pop("rrule", None) or rrule_from_answers(answers, starts_on),
        "recurrence": answers,
        "starts_on": starts_on,
        "time_of_day": at,
        "duration_minutes": extra.pop("duration_minutes", 30),
        "is_conversation": extra.pop("is_conversation", False),
    }
    return services.ritual_create(space=space, user=user, now=now, **fields)


@pytest.fixture
def ritual_maker(space, alice, bob):
    def _make(now, **kwargs):
        return make_ritual(kwargs.pop("space", space), kwargs.pop("user", alice), now=now, **kwargs)

    return _make


@pytest.fixture
def tick(django_capture_on_commit_callbacks):
    """Run the reminder pass at a frozen instant; queued e-mails are delivered (locmem)."""
    import time_machine
    from django.utils import timezone

    def _tick(when):
        with (
            time_machine.travel(when, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return services.reminders_schedule_due(now=timezone.now())

    return _tick
