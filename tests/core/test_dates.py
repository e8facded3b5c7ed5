import datetime as dt

import pytest

from apps.core.dates import is_leap_day, leap_day_falls_on, same_day_in


@pytest.mark.parametrize(
    ("day", "year", "expected"),
    [
        (dt.date(2024, 2, 29), 2025, dt.date(2025, 2, 28)),
        (dt.date(2024, 2, 29), 2028, dt.date(2028, 2, 29)),
        (dt.date(2024, 2, 29), 2100, dt.date(2100, 2, 28)),  # not a leap year
        (dt.date(2024, 2, 29), 2000, dt.date(2000, 2, 29)),  # a leap year
        (dt.date(2023, 2, 28), 2024, dt.date(2024, 2, 28)),
        (dt.date(2023, 12, 31), 2030, dt.date(2030, 12, 31)),
    ],
)
def test_same_day_in(day, year, expected):
    assert same_day_in(day, year) == expected


def test_leap_day_rules():
    assert is_leap_day(dt.date(2024, 2, 29))
    assert not is_leap_day(dt.date(2024, 2, 28))
    assert leap_day_falls_on(dt.date(2027, 2, 28))
    assert leap_day_falls_on(dt.date(2100, 2, 28))
    assert not leap_day_falls_on(dt.date(2028, 2, 28))  # 29 Feb comes the next day
    assert not leap_day_falls_on(dt.date(2027, 3, 1))
