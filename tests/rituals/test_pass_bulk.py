"""The reminder pass in bulk: one delivery task per batch, constant queries, same e-mails."""

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from apps.notifications import services as outbox
from apps.notifications.models import OutboundEmail
from apps.rituals import services
from apps.rituals.models import QuestionUse, Reminder, ReminderSchedule
from apps.rituals.questions import QUESTIONS

from .conftest import make_ritual

UTC = dt.UTC
pytestmark = pytest.mark.django_db


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def published(monkeypatch):
    calls = []
    monkeypatch.setattr(outbox, "queue_on_commit", lambda task, *args: calls.append(args))
    return calls


def test_one_delivery_task_for_a_batch_of_reminders(space, alice, bob, published):
    for n in range(4):
        make_ritual(space, alice, now=utc(2026, 3, 2, 12), title=f"Ritual {n}")

    assert services.reminders_schedule_due(now=utc(2026, 3, 2, 18)) == 8

    assert len(published) == 1
    assert sorted(published[0][0]) == sorted(OutboundEmail.objects.values_list("pk", flat=True))
    assert OutboundEmail.objects.count() == Reminder.objects.filter(status="sent").count() == 8
    assert not ReminderSchedule.objects.filter(next_remind_at__lte=utc(2026, 3, 2, 18)).exists()


def test_queries_do_not_grow_with_due_reminders(space, alice, bob, published):
    def queries(n):
        Reminder.objects.all().delete()
        OutboundEmail.objects.all().delete()
        for r in list(alice.space.rituals.all()):
            r.delete()
        for i in range(n):
            make_ritual(space, alice, now=utc(2026, 3, 2, 12), title=f"Ritual {i}")
        with CaptureQueriesContext(connection) as ctx:
            assert services.reminders_schedule_due(now=utc(2026, 3, 2, 18)) == 2 * n
        return len(ctx.captured_queries)

    assert queries(1) == queries(12)


def test_advanced_rows_are_written_back(ritual_maker, alice, bob, published):
    ritual = ritual_maker(utc(2026, 3, 2, 12), at=dt.time(19, 30))
    services.reminders_schedule_due(now=utc(2026, 3, 2, 18))

    rows = ReminderSchedule.objects.filter(ritual=ritual)
    assert {(r.next_occurrence, r.next_remind_at) for r in rows} == {
        (dt.date(2026, 3, 3), utc(2026, 3, 3, 18))
    }
    assert {r.zones for r in rows} == {"Europe/Berlin|Europe/Berlin"}


def test_reminder_links_are_the_signed_links_for_that_recipient(
    ritual_maker, alice, bob, published
):
    ritual = ritual_maker(utc(2026, 3, 2, 12), title="Tea & talk", description="Cups <ready>")
    with time_machine.travel(utc(2026, 3, 2, 18), tick=False):
        services.reminders_schedule_due(now=utc(2026, 3, 2, 18))
        key = f"ritual-reminder:{ritual.pk}:2026-03-02:{alice.pk}"
        row = OutboundEmail.objects.get(dedupe_key=key)
        expected = services.checkin_url(
            ritual_id=ritual.pk, day=dt.date(2026, 3, 2), user_id=alice.pk, action="kept"
        )
    assert row.subject.endswith(": Monday 2 March at 19:30 (Europe/Berlin)")
    assert "<strong>Tea &amp; talk</strong>" in row.body_html
    assert "Cups &lt;ready&gt;" in row.body_html
    assert expected in row.body_text and f'href="{expected}"' in row.body_html
    detail = settings.SITE_URL + reverse("rituals:detail", args=[ritual.pk])
    assert detail in row.body_text
    token = re.search(r"/rituals/answer/([^/]+)/skipped/", row.body_text).group(1)
    with time_machine.travel(utc(2026, 3, 2, 18), tick=False):
        assert services.checkin_token_read(token) == (ritual.pk, dt.date(2026, 3, 2), alice.pk)
    assert row.headers["List-Unsubscribe"].startswith("<" + settings.SITE_URL)


def _conversation_rituals(space, alice, n):
    return [
        make_ritual(space, alice, now=utc(2026, 3, 2, 12), title=f"Talk {i}", is_conversation=True)
        for i in range(n)
    ]


def test_conversation_questions_in_constant_queries_shared_and_distinct(
    space, alice, bob, published
):
    def queries(n):
        Reminder.objects.all().delete()
        OutboundEmail.objects.all().delete()
        QuestionUse.objects.all().delete()
        for r in list(space.rituals.all()):
            r.delete()
        _conversation_rituals(space, alice, n)
        with CaptureQueriesContext(connection) as ctx:
            assert services.reminders_schedule_due(now=utc(2026, 3, 2, 18)) == 2 * n
        return len(ctx.captured_queries)

    assert queries(1) == queries(6)

    uses = list(QuestionUse.objects.filter(space=space))
    assert len(uses) == 6 and len({u.question for u in uses}) == 6  # none repeated
    for use in uses:
        reminders = Reminder.objects.filter(ritual_id=use.ritual_id, status="sent")
        assert {r.question for r in reminders} == {use.question}  # both partners, one question
        prefix = f"ritual-reminder:{use.ritual_id}:"
        bodies = [m.body_html for m in OutboundEmail.objects.filter(dedupe_key__startswith=prefix)]
        assert len(bodies) == 2
        assert all(escape(QUESTIONS[use.question]) in body for body in bodies)


def test_a_batch_starts_a_new_cycle_when_the_questions_run_out(space, alice, bob, published):
    first, _second = _conversation_rituals(space, alice, 2)
    # Every question but one already came up in this space's cycle 0.
    QuestionUse.objects.bulk_create(
        QuestionUse(
            space=space,
            ritual=first,
            occurrence=dt.date(2025, 1, 1) + dt.timedelta(days=i),
            question=i,
            cycle=0,
        )
        for i in range(len(QUESTIONS) - 1)
    )

    services.reminders_schedule_due(now=utc(2026, 3, 2, 18))

    today = QuestionUse.objects.filter(occurrence=dt.date(2026, 3, 2))
    assert sorted((u.cycle, u.question == len(QUESTIONS) - 1) for u in today) == [
        (0, True),
        (1, False),
    ]


def test_an_occurrence_keeps_the_question_it_already_has(space, alice, bob, published):
    (ritual,) = _conversation_rituals(space, alice, 1)
    QuestionUse.objects.create(
        space=space, ritual=ritual, occurrence=dt.date(2026, 3, 2), question=7, cycle=0
    )

    services.reminders_schedule_due(now=utc(2026, 3, 2, 18))

    assert set(Reminder.objects.values_list("question", flat=True)) == {7}
    assert QuestionUse.objects.count() == 1


def _break(ritual, rule):
    """Store a rule the form would refuse, as older code (or the admin) could."""
    type(ritual).objects.filter(pk=ritual.pk).update(rrule=rule)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;INTERVAL=-1",  # dateutil fails with a ValueError
        "FREQ=DAILY;INTERVAL=0",  # dateutil repeats the start day for ever
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=DAILY;UNTIL=20000101",  # ends before it starts
    ],
)
def test_a_ritual_whose_rule_cannot_be_evaluated_is_parked(
    space, alice, bob, published, caplog, rule
):
    good = make_ritual(space, alice, now=utc(2026, 3, 2, 12), title="Good")
    bad = make_ritual(space, alice, now=utc(2026, 3, 2, 12), title="Bad")
    _break(bad, rule)

    assert services.reminders_schedule_due(now=utc(2026, 3, 2, 18)) == 4

    sent = Reminder.objects.filter(status="sent")
    assert {(r.ritual_id, r.recipient_id) for r in sent} == {(good.pk, alice.pk), (good.pk, bob.pk)}
    assert OutboundEmail.objects.count() == 2
    parked = ReminderSchedule.objects.filter(ritual=bad)
    assert {(r.next_remind_at, r.next_occurrence) for r in parked} == {(None, None)}
    assert not ReminderSchedule.objects.filter(ritual=good, next_remind_at=None).exists()
    assert f"Ritual {bad.pk}: its rule" in caplog.text
    # Parked rows are not due any more: the next pass has nothing to do.
    assert services.reminders_schedule_due(now=utc(2026, 3, 2, 18, 1)) == 0


def test_a_row_that_fails_to_compute_is_parked_and_the_batch_goes_on(
    space, alice, bob, published, caplog, monkeypatch
):
    """Whatever a row's schedule raises (here a zone the system lost), the batch goes on."""
    from apps.rituals.models import Ritual

    good = make_ritual(space, alice, now=utc(2026, 3, 2, 12), title="Good")
    bad = make_ritual(space, alice, now=utc(2026, 3, 2, 12), title="Bad")
    occurrence_on = Ritual.occurrence_on

    def failing(self, day, **kwargs):
        if self.pk == bad.pk:
            raise LookupError("No time zone found with key Mars/Olympus")
        return occurrence_on(self, day, **kwargs)

    monkeypatch.setattr(Ritual, "occurrence_on", failing)

    assert services.reminders_schedule_due(now=utc(2026, 3, 2, 18)) == 4

    assert set(Reminder.objects.values_list("ritual_id", flat=True)) == {good.pk}
    assert OutboundEmail.objects.count() == 2
    parked = ReminderSchedule.objects.filter(ritual=bad)
    assert {(r.next_remind_at, r.next_occurrence) for r in parked} == {(None, None)}
    assert f"parked ritual {bad.pk}" in caplog.text and "Mars/Olympus" in caplog.text


def test_a_parked_row_adds_no_queries_to_the_pass(space, alice, bob, published):
    def queries(broken: bool):
        Reminder.objects.all().delete()
        OutboundEmail.objects.all().delete()
        for r in list(space.rituals.all()):
            r.delete()
        for i in range(3):
            make_ritual(space, alice, now=utc(2026, 3, 2, 12), title=f"Ritual {i}")
        if broken:
            _break(
                make_ritual(space, alice, now=utc(2026, 3, 2, 12), title="Bad"),
                "FREQ=DAILY;INTERVAL=0",
            )
        with CaptureQueriesContext(connection) as ctx:
            services.reminders_schedule_due(now=utc(2026, 3, 2, 18))
        assert Reminder.objects.count() == 6
        return len(ctx.captured_queries)

    assert queries(broken=False) == queries(broken=True)
