"""The sweeps' world keeps its promise on any day of the year: the two spaces share no
vault year, so a year page of one space can never be mistaken for the other's."""

import datetime as dt

import pytest
import time_machine

pytestmark = pytest.mark.django_db

DAYS = [
    dt.date(2027, 1, 10),
    dt.date(2027, 2, 14),  # space one's anniversary
    dt.date(2027, 3, 1),
    dt.date(2027, 7, 1),
    dt.date(2027, 9, 20),  # space two's anniversary
    dt.date(2027, 12, 31),
]


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_the_two_spaces_share_no_year_whatever_the_day(request, day):
    with time_machine.travel(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC), tick=False):
        world = request.getfixturevalue("world")
    years_one = {world.one.opened_year, world.one.sealed_year}
    years_two = {world.two.opened_year, world.two.sealed_year}
    assert not years_one & years_two, (day, years_one, years_two)
