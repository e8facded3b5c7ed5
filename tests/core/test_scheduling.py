"""The scheduler passes: run_scheduled, PassRun records, one failure stops nothing."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import call_command

from apps.core import scheduling
from apps.core.models import PassRun
from apps.core.tasks import tick

from . import passes

T0 = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _reset_calls():
    passes.calls.clear()


def test_the_project_passes_all_run_and_are_recorded(db):
    out = StringIO()
    with time_machine.travel(T0, tick=False):
        call_command("run_scheduled", stdout=out)

    names = set(PassRun.objects.values_list("name", flat=True))
    assert names == {*django_settings.SCHEDULED_PASSES, scheduling.TICK}
    assert "apps.notifications.services.outbox_deliver_due" in django_settings.SCHEDULED_PASSES
    for run in PassRun.objects.all():
        assert run.last_ok_at == run.last_finished_at == T0
        assert run.last_error == ""
    for path in django_settings.SCHEDULED_PASSES:
        assert f"{path}: 0" in out.getvalue()


def test_a_failing_pass_is_recorded_and_the_others_still_run(db, settings):
    settings.SCHEDULED_PASSES = [
        "tests.core.passes.three",
        "tests.core.passes.broken",
        "tests.core.passes.two",
    ]
    out, err = StringIO(), StringIO()
    with time_machine.travel(T0, tick=False), pytest.raises(SystemExit) as exit_info:
        call_command("run_scheduled", stdout=out, stderr=err)

    assert exit_info.value.code == 1
    assert [name for name, _ in passes.calls] == ["three", "broken", "two"]
    assert all(now == T0 for _, now in passes.calls)
    assert "tests.core.passes.three: 3" in out.getvalue()
    assert "tests.core.passes.two: 2" in out.getvalue()
    assert "tests.core.passes.broken: FAILED RuntimeError" in err.getvalue()

    broken = PassRun.objects.get(name="tests.core.passes.broken")
    assert "the reminder table is on fire" in broken.last_error
    assert broken.last_ok_at is None and broken.last_finished_at == T0
    assert PassRun.objects.get(name="tests.core.passes.two").last_count == 2
    ticked = PassRun.objects.get(name=scheduling.TICK)
    assert ticked.last_count == 5
    assert "broken" in ticked.last_error
    # The tick still counts as a tick: the scheduler runs, one pass is broken.
    assert not scheduling.scheduler_is_late(now=T0)


def test_a_later_good_run_clears_the_error_but_keeps_last_ok(db, settings):
    settings.SCHEDULED_PASSES = ["tests.core.passes.broken"]
    with time_machine.travel(T0, tick=False):
        scheduling.run_passes()
    settings.SCHEDULED_PASSES = ["tests.core.passes.two"]
    later = T0 + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        scheduling.run_passes()

    run = PassRun.objects.get(name=scheduling.TICK)
    assert run.last_error == "" and run.last_ok_at == later


def test_the_beat_tick_task_runs_the_same_passes(db, settings):
    settings.SCHEDULED_PASSES = ["tests.core.passes.three", "tests.core.passes.two"]

    assert tick.delay().get() == 5
    assert [name for name, _ in passes.calls] == ["three", "two"]
    assert PassRun.objects.filter(name=scheduling.TICK).exists()


def test_beat_schedule_ticks_every_minute():
    from config.celery import app

    entry = app.conf.beat_schedule["tick"]
    assert entry["task"] == "apps.core.tasks.tick" == tick.name
    assert entry["schedule"] == 60.0


def test_lateness_follows_the_last_tick(db, settings):
    settings.SCHEDULER_MAX_AGE = 300
    assert scheduling.last_tick_age(now=T0) is None
    assert scheduling.scheduler_is_late(now=T0)

    with time_machine.travel(T0, tick=False):
        scheduling.run_passes()
    assert scheduling.last_tick_age(now=T0 + dt.timedelta(seconds=90)) == dt.timedelta(seconds=90)
    assert not scheduling.scheduler_is_late(now=T0 + dt.timedelta(seconds=300))
    assert scheduling.scheduler_is_late(now=T0 + dt.timedelta(seconds=301))
