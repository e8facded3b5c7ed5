"""Restoring a backup checks each ritual's rule as the form does."""

import datetime as dt
import json

import pytest
import time_machine

from apps.accounts.models import Space, User
from apps.portability.services import SpaceImportError, export_json, space_export, space_import
from apps.rituals.models import ReminderSchedule, Ritual

from .conftest import make_ritual

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 6, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def backup(space, alice, bob):
    """A backup of a space with two rituals; the instance is then emptied."""
    with time_machine.travel(NOW, tick=False):
        make_ritual(space, alice, now=NOW, title="Evening talk")
        make_ritual(
            space,
            alice,
            now=NOW,
            title="Date night",
            answers={"freq": "weekly", "weekdays": ["FR"]},
        )
        data = json.loads(export_json(space_export(space=space, viewer=None)))
    Space.objects.all().delete()
    User.objects.all().delete()
    return data


def counts():
    return (Space.objects.count(), User.objects.count(), Ritual.objects.count())


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL must be a whole number"),
        ("FREQ=DAILY;UNTIL=20000101", "never happens"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY takes numbers"),
        ("FREQ=SECONDLY", "at most once a day"),
    ],
)
def test_a_backup_with_a_bad_rule_is_refused_whole(backup, rule, message):
    backup["rituals"][1]["rrule"] = rule
    with pytest.raises(SpaceImportError) as error, time_machine.travel(NOW, tick=False):
        space_import(data=backup)
    text = str(error.value)
    assert "Nothing was imported" in text
    assert f"ritual 'Date night': its schedule {rule!r} cannot be used" in text
    assert message in text
    assert counts() == (0, 0, 0)


def test_a_good_backup_is_restored_with_its_rules(backup):
    backup["rituals"][1]["rrule"] = "rrule:freq=weekly;byday=fr"  # normalised as the form does
    with time_machine.travel(NOW, tick=False):
        space = space_import(data=backup)
    rules = dict(Ritual.objects.filter(space=space).values_list("title", "rrule"))
    assert rules == {"Evening talk": "FREQ=DAILY", "Date night": "FREQ=WEEKLY;BYDAY=FR"}
    assert ReminderSchedule.objects.filter(next_remind_at__isnull=False).count() == 4
