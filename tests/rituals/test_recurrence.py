"""Recurrence rules and occurrences (pure: no clock, no database writes)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.models import Space
from apps.rituals import models
from apps.rituals.models import Ritual
from apps.rituals.recurrence import RuleError, rrule_from_answers, rrule_validate, rule_near

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
        # Every second, minute or hour: refused, whatever else the rule says.
        ("FREQ=MINUTELY;INTERVAL=1440", "at most once a day"),
        ("FREQ=HOURLY;INTERVAL=24;COUNT=3", "at most once a day"),
        ("FREQ=FORTNIGHTLY", "DAILY, WEEKLY, MONTHLY or YEARLY"),
        ("INTERVAL=2;BYDAY=FR", "needs a frequency"),
        # dateutil repeats the start day for ever with INTERVAL=0 and fails on -1.
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 3660"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL must be a whole number from 1"),
        ("FREQ=WEEKLY;INTERVAL=1.5", "INTERVAL must be a whole number"),
        ("FREQ=YEARLY;INTERVAL=11", "from 1 to 10 for a yearly rule"),
        # An end date before the start: the rule's own UNTIL counts, not the horizon.
        ("FREQ=DAILY;UNTIL=20000101", "never happens"),
        ("FREQ=WEEKLY;BYDAY=FR;UNTIL=20260131", "never happens"),  # from Sun 1 Feb 2026
        ("FREQ=DAILY;UNTIL=20261231T120000Z", "UNTIL=20271231"),
        ("FREQ=DAILY;UNTIL=20260230", "UNTIL=20271231"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20270101", "not both"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be a whole number from 1"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=2", "never happens"),
        ("FREQ=DAILY;FREQ=SECONDLY", "appears twice"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY takes numbers from 1 to 31 or from -1"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY takes numbers"),
        ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY takes numbers"),
        ("FREQ=YEARLY;BYYEARDAY=0", "BYYEARDAY takes numbers from 1 to 366"),
        ("FREQ=YEARLY;BYYEARDAY=367", "BYYEARDAY takes numbers"),
        ("FREQ=MONTHLY;BYYEARDAY=100", "only works in a yearly rule"),
        ("FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO takes numbers from 1 to 53"),
        ("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=0", "BYSETPOS takes numbers"),
        ("FREQ=MONTHLY;BYSETPOS=1", "add one of them"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH takes month numbers from 1 to 12"),
        ("FREQ=MONTHLY;BYDAY=6FR", "1 to 5 or -1 to -5"),
        ("FREQ=MONTHLY;BYDAY=0FR", "1 to 5 or -1 to -5"),
        ("FREQ=WEEKLY;BYDAY=1FR", "only works in a monthly or yearly rule"),
        ("FREQ=WEEKLY;BYDAY=FR;WKST=XY", "WKST must be a weekday"),
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


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;UNTIL=20260301",
        "FREQ=DAILY;INTERVAL=3660",
        "FREQ=MONTHLY;BYMONTHDAY=-31",
        "FREQ=YEARLY;BYYEARDAY=-1",
        "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=MONTHLY;BYDAY=-5SU",
        "FREQ=YEARLY;BYDAY=20MO",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU",
        "FREQ=DAILY;COUNT=1",
    ],
)
def test_rules_at_the_bounds_are_accepted(rule):
    assert rrule_validate(rule, dt.date(2026, 2, 1)) == rule


def test_the_rules_own_end_date_is_kept():
    r = ritual(rrule=rrule_validate("FREQ=DAILY;UNTIL=20260105", dt.date(2026, 1, 1)))
    assert days(r, dt.datetime(2025, 12, 1, tzinfo=UTC), dt.datetime(2026, 2, 1, tzinfo=UTC)) == [
        dt.date(2026, 1, d) for d in range(1, 6)
    ]


# Rules stored before they were checked (or through the admin): dateutil loops for ever
# on INTERVAL=0, fails on INTERVAL=-1, and walks a never-firing rule to year 9999.
STORED_BAD = [
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=DAILY;INTERVAL=-1",
    "FREQ=MONTHLY;BYMONTHDAY=0",
    "FREQ=MONTHLY;BYMONTHDAY=40",
    "FREQ=DAILY;BYSETPOS=2",
    "FREQ=SECONDLY",
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("rule", STORED_BAD)
def test_a_stored_bad_rule_has_no_occurrences_and_never_hangs(rule, caplog):
    r = ritual(rrule=rule)
    later = dt.datetime(2026, 6, 1, tzinfo=UTC)
    with pytest.raises(RuleError):
        rule_near(rule, r.starts_on, dt.date(2026, 6, 1))
    assert r.occurrences_after(later, count=3) == []
    assert list(r.occurrences_iter(later)) == []
    assert r.occurrences_between(later, later + dt.timedelta(days=30)) == []
    assert r.occurs_on(dt.date(2026, 6, 1)) is False
    assert r.occurrence_on(dt.date(2026, 1, 1)) is None
    assert r.days_between(dt.date(2026, 1, 1), dt.date(2026, 6, 1)) == []
    assert r.first_day() is None
    assert "cannot be evaluated" in caplog.text


def test_no_question_walks_more_than_max_steps(monkeypatch):
    monkeypatch.setattr(models, "MAX_STEPS", 10)
    r = ritual({"freq": "daily"}, starts_on=dt.date(2026, 1, 1))
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert len(list(r.occurrences_iter(start))) <= 10
    # Dates walked before the asked-for day count too.
    assert r.days_between(dt.date(2026, 1, 20), dt.date(2026, 2, 1)) == []


def test_first_day_is_the_first_occurrence_not_the_start_date():
    friday = ritual({"freq": "weekly", "weekdays": ["FR"]}, starts_on=dt.date(2026, 3, 2))
    assert friday.first_day() == dt.date(2026, 3, 6)
