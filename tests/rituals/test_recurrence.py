"""Recurrence rules and occurrences (pure: no clock, no database writes)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.models import Space
from apps.rituals.models import Ritual
from apps.rituals.recurrence import rrule_from_answers, rrule_validate

UTC = dt.UTC


def ritual(
    answers=None,
    *,
    rrule=None,
    at=dt.time(19, 30),
    starts_on=dt.date(2026, 1, 1),
    zone="Europe/Berlin",
):
    space = Space(name="S", time_zone=zone, anniversary=dt.date(2020, 1, 1))
    rule = rrule or rrule_from_answers(answers, starts_on)
    return Ritual(space=space, title="T", rrule=rule, starts_on=starts_on, time_of_day=at)


def days(r, start, end):
    return [o.day for o in r.occurrences_between(start, end)]


def test_daily_every_day_and_every_third_day():
    start, end = dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 8, tzinfo=UTC)
    assert len(days(ritual({"freq": "daily"}), start, end)) == 7
    assert days(ritual({"freq": "daily", "interval": 3}), start, end) == [
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 4),
        dt.date(2026, 1, 7),
    ]


def test_weekly_on_chosen_weekdays_and_every_other_week():
    r = ritual({"freq": "weekly", "weekdays": ["TU", "FR"]})
    got = days(r, dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 15, tzinfo=UTC))
    assert got == [dt.date(2026, 1, d) for d in (2, 6, 9, 13)]
    r2 = ritual({"freq": "weekly", "interval": 2, "weekdays": ["FR"]})
    got = days(r2, dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 2, 1, tzinfo=UTC))
    assert got == [dt.date(2026, 1, 2), dt.date(2026, 1, 16), dt.date(2026, 1, 30)]


def test_monthly_nth_and_last_weekday():
    first_sat = ritual({"freq": "monthly_nth", "nth": 1, "nth_weekday": "SA"})
    start, end = dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC)
    assert days(first_sat, start, end) == [
        dt.date(2026, 1, 3),
        dt.date(2026, 2, 7),
        dt.date(2026, 3, 7),
    ]
    last_fri = ritual({"freq": "monthly_nth", "nth": -1, "nth_weekday": "FR"})
    assert days(last_fri, start, end) == [
        dt.date(2026, 1, 30),
        dt.date(2026, 2, 27),
        dt.date(2026, 3, 27),
    ]


def test_monthly_on_day_31_skips_short_months_and_yearly():
    r = ritual({"freq": "monthly_day", "month_day": 31})
    got = days(r, dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 6, 1, tzinfo=UTC))
    assert got == [dt.date(2026, 1, 31), dt.date(2026, 3, 31), dt.date(2026, 5, 31)]
    yearly = ritual({"freq": "yearly"}, starts_on=dt.date(2026, 6, 14))
    got = days(yearly, dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2029, 1, 1, tzinfo=UTC))
    assert got == [dt.date(2026, 6, 14), dt.date(2027, 6, 14), dt.date(2028, 6, 14)]


def test_instants_follow_the_space_zone():
    r = ritual({"freq": "daily"}, zone="America/New_York", at=dt.time(19, 30))
    (occ,) = r.occurrences_between(
        dt.datetime(2026, 7, 1, 12, tzinfo=UTC), dt.datetime(2026, 7, 2, 12, tzinfo=UTC)
    )
    assert occ.at == dt.datetime(2026, 7, 1, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected"),
    [
        # Spring forward: 02:30 does not exist, it moves to the first instant after the gap.
        ("Europe/Berlin", dt.date(2026, 3, 29), dt.time(2, 30), dt.datetime(2026, 3, 29, 1, 0)),
        ("America/New_York", dt.date(2026, 3, 8), dt.time(2, 30), dt.datetime(2026, 3, 8, 7, 0)),
        # Fall back: an ambiguous time fires once, at the first of the two.
        ("Europe/Berlin", dt.date(2026, 10, 25), dt.time(2, 30), dt.datetime(2026, 10, 25, 0, 30)),
        ("America/New_York", dt.date(2026, 11, 1), dt.time(1, 30), dt.datetime(2026, 11, 1, 5, 30)),
        # New York's 02:30 on its fall-back day is after the overlap: it exists once.
        ("America/New_York", dt.date(2026, 11, 1), dt.time(2, 30), dt.datetime(2026, 11, 1, 7, 30)),
    ],
)
def test_dst_days_fire_once_at_the_right_instant(zone, day, at, expected):
    r = ritual({"freq": "daily"}, zone=zone, at=at)
    lo = dt.datetime.combine(day, dt.time(0, 0), tzinfo=UTC) - dt.timedelta(hours=12)
    hi = lo + dt.timedelta(hours=36)
    got = [o for o in r.occurrences_between(lo, hi) if o.day == day]
    assert [o.at for o in got] == [expected.replace(tzinfo=UTC)]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=SECONDLY", "at most once a day"),
        ("FREQ=HOURLY;INTERVAL=1", "at most once a day"),
        ("FREQ=DAILY;BYHOUR=8,20", "cannot use BYHOUR"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never happens"),
        ("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30", "never happens"),
        ("hello", "not part of a recurrence rule"),
        ("FREQ=WEEKLY;BYDAY=XX", "not valid"),
    ],
)
def test_bad_rules_get_a_clear_error(rule, message):
    with pytest.raises(ValidationError) as info:
        rrule_validate(rule, dt.date(2026, 2, 1))
    assert message in " ".join(info.value.messages)


def test_good_custom_rule_is_normalised():
    assert rrule_validate("rrule:freq=monthly;byday=-1fr", dt.date(2026, 1, 1)) == (
        "FREQ=MONTHLY;BYDAY=-1FR"
    )
