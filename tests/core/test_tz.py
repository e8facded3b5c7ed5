import datetime as dt

import pytest

from apps.core.tz import is_valid_zone, local_to_utc

UTC = dt.UTC


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected"),
    [
        # An ordinary day: Berlin is UTC+1 in winter.
        (
            "Europe/Berlin",
            dt.date(2027, 1, 10),
            dt.time(9, 0),
            dt.datetime(2027, 1, 10, 8, 0, tzinfo=UTC),
        ),
        # Spring forward: 02:30 does not exist; the first valid instant after is 03:00 CEST.
        (
            "Europe/Berlin",
            dt.date(2027, 3, 28),
            dt.time(2, 30),
            dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC),
        ),
        (
            "America/New_York",
            dt.date(2027, 3, 14),
            dt.time(2, 30),
            dt.datetime(2027, 3, 14, 7, 0, tzinfo=UTC),
        ),
        # Fall back: 02:30 happens twice; it means the first (still summer time).
        (
            "Europe/Berlin",
            dt.date(2027, 10, 31),
            dt.time(2, 30),
            dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC),
        ),
        (
            "America/New_York",
            dt.date(2027, 11, 7),
            dt.time(1, 30),
            dt.datetime(2027, 11, 7, 5, 30, tzinfo=UTC),
        ),
        # Across the date line.
        (
            "Pacific/Kiritimati",
            dt.date(2027, 2, 14),
            dt.time(0, 0),
            dt.datetime(2027, 2, 13, 10, 0, tzinfo=UTC),
        ),
        (
            "Pacific/Pago_Pago",
            dt.date(2027, 2, 14),
            dt.time(0, 0),
            dt.datetime(2027, 2, 14, 11, 0, tzinfo=UTC),
        ),
    ],
)
def test_local_to_utc(zone, day, at, expected):
    assert local_to_utc(day, at, zone) == expected


def test_zone_validation():
    assert is_valid_zone("Europe/Berlin")
    assert not is_valid_zone("Mars/Olympus_Mons")
    assert not is_valid_zone("")
