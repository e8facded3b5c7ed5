"""The admin's ritual form: the app's rule checks, and reminders that follow an edit."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from apps.rituals.models import ReminderSchedule, Ritual
from tests.factories import UserFactory

from .conftest import make_ritual


@pytest.fixture(autouse=True)
def frozen():
    """A Wednesday noon in Berlin: the reminders' expected instants follow from it."""
    with time_machine.travel(dt.datetime(2026, 12, 2, 11, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _form(ritual, **changes):
    data = {
        "space": ritual.space_id,
        "title": ritual.title,
        "description": ritual.description,
        "participation": ritual.participation,
        "giver": "",
        "rrule": ritual.rrule,
        "recurrence": "{}",
        "starts_on": ritual.starts_on.isoformat(),
        "time_of_day": ritual.time_of_day.strftime("%H:%M:%S"),
        "duration_minutes": ritual.duration_minutes or "",
        "status": ritual.status,
        "created_by": ritual.created_by_id or "",
        "library_key": ritual.library_key or "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "rule", ["FREQ=DAILY;INTERVAL=0", "FREQ=HOURLY", "FREQ=MONTHLY;BYMONTHDAY=0"]
)
def test_a_rule_the_app_refuses_is_refused_in_the_admin_too(staff_client, space, alice, bob, rule):
    ritual = make_ritual(space, alice, now=timezone.now())
    url = f"/admin/rituals/ritual/{ritual.pk}/change/"
    response = staff_client.post(url, _form(ritual, rrule=rule))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["rrule"]
    ritual.refresh_from_db()
    assert ritual.rrule != rule


def test_an_admin_edit_moves_both_partners_reminders(staff_client, space, alice, bob):
    now = timezone.now()
    ritual = make_ritual(space, alice, now=now, at=dt.time(19, 30))
    before = dict(
        ReminderSchedule.objects.filter(ritual=ritual).values_list("user", "next_remind_at")
    )
    response = staff_client.post(
        f"/admin/rituals/ritual/{ritual.pk}/change/", _form(ritual, time_of_day="07:15:00")
    )
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    assert Ritual.objects.get(pk=ritual.pk).time_of_day == dt.time(7, 15)
    after = dict(
        ReminderSchedule.objects.filter(ritual=ritual).values_list("user", "next_remind_at")
    )
    assert set(after) == {alice.pk, bob.pk}
    zone = ZoneInfo(space.time_zone)
    for user, when in after.items():
        assert when != before[user]
        # 07:15 in the space's zone, reminded 30 minutes before (the default).
        assert when.astimezone(zone).time() == dt.time(6, 45)
