"""A rule moved to a later aligned start gives exactly the occurrences of the original."""

import datetime as dt

import pytest
from dateutil.rrule import rrulestr

from apps.rituals.recurrence import rule_near

RULES = [
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3",
    "FREQ=DAILY;INTERVAL=45",
    "FREQ=WEEKLY;BYDAY=WE",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR",
    "FREQ=WEEKLY;INTERVAL=3",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU",
    "FREQ=MONTHLY;BYDAY=1SA",
    "FREQ=YEARLY",
    "FREQ=DAILY;COUNT=400",
]
STARTS = [dt.date(2019, 3, 7), dt.date(2024, 2, 29), dt.date(2026, 11, 1)]
REFS = [dt.date(2026, 11, 23), dt.date(2027, 3, 28), dt.date(2026, 11, 2)]


@pytest.mark.parametrize("text", RULES)
@pytest.mark.parametrize("starts_on", STARTS)
@pytest.mark.parametrize("ref", REFS)
def test_same_occurrences_from_the_reference_day_on(text, starts_on, ref):
    original = rrulestr(text, dtstart=dt.datetime.combine(starts_on, dt.time(0, 0)))
    near = rule_near(text, starts_on, ref)
    lo = dt.datetime.combine(ref, dt.time(0, 0))
    hi = lo + dt.timedelta(days=400)
    assert near.between(lo, hi, inc=True) == original.between(lo, hi, inc=True)
    assert near.after(lo, inc=True) == original.after(lo, inc=True)


def test_an_old_daily_rule_starts_near_the_question():
    near = rule_near("FREQ=DAILY", dt.date(2019, 1, 1), dt.date(2026, 11, 23))
    assert dt.datetime(2026, 9, 1) < near._dtstart <= dt.datetime(2026, 11, 23)
