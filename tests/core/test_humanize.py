"""How Keepsake says when: the countdown wording and "your time (home time beside)"."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from apps.core.humanize import countdown, local_and_home
from apps.core.tz import viewer_zone

UTC = dt.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
ANCHORAGE = zoneinfo.ZoneInfo("America/Anchorage")
# A Wednesday: 10:02 in Berlin, 00:02 in Anchorage.
NOW = dt.datetime(2026, 12, 2, 9, 2, tzinfo=UTC)


def later(**delta) -> dt.datetime:
    return NOW + dt.timedelta(**delta)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (NOW, "now"),
        (later(seconds=-1), "now"),
        (later(days=-3), "now"),
        (later(seconds=1), "in 1 minute"),
        (later(seconds=60), "in 1 minute"),
        (later(seconds=61), "in 2 minutes"),
        (later(minutes=35), "in 35 minutes"),
        (later(minutes=59), "in 59 minutes"),
        (later(minutes=59, seconds=1), "in 1 hour"),
        (later(hours=1), "in 1 hour"),
        (later(hours=1, minutes=29), "in 1 hour"),
        (later(hours=1, minutes=30), "in 2 hours"),
        (later(hours=5), "in 5 hours"),
        # Still today in Berlin (10:02 now, 23:50 then): hours, however many.
        (later(hours=13, minutes=48), "in 14 hours"),
        # Tomorrow in Berlin and 12 hours or more away.
        (later(hours=13, minutes=59), "tomorrow"),
        (later(hours=23, minutes=58), "tomorrow"),
        (later(hours=24), "tomorrow"),
        (later(hours=37), "tomorrow"),  # 23:02 on Thursday
        # The day after tomorrow is two days away, even 38 hours ahead.
        (later(hours=38), "in 2 days"),
        (later(days=12) - dt.timedelta(minutes=2), "in 12 days"),
        (later(days=12), "in 12 days"),
        (later(days=3650), "in 3650 days"),
    ],
)
def test_countdown_in_berlin(instant, expected):
    assert countdown(instant, NOW, "Europe/Berlin") == expected


def test_countdown_under_12_hours_is_hours_even_past_midnight():
    afternoon = dt.datetime(2026, 12, 2, 15, 0, tzinfo=BERLIN)
    night = dt.datetime(2026, 12, 3, 2, 0, tzinfo=BERLIN)
    assert countdown(night, afternoon, BERLIN) == "in 11 hours"
    assert countdown(night + dt.timedelta(hours=1), afternoon, BERLIN) == "tomorrow"


def test_countdown_days_are_the_viewers_calendar_days():
    # 09:00Z on Thursday: tomorrow morning in Berlin, tomorrow's midnight in Anchorage.
    opening = dt.datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert countdown(opening, NOW, "Europe/Berlin") == "tomorrow"
    assert countdown(opening, NOW, ANCHORAGE) == "tomorrow"
    # 23:30Z: still today in UTC, already tomorrow in Berlin.
    late = dt.datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    assert countdown(late, NOW, "UTC") == "in 14 hours"
    assert countdown(late, NOW, BERLIN) == "tomorrow"


def test_countdown_across_a_dst_change_counts_calendar_days():
    # Berlin springs forward on 28 March 2027: Saturday noon to Monday noon is 47 hours.
    now = dt.datetime(2027, 3, 27, 12, 0, tzinfo=BERLIN)
    assert countdown(dt.datetime(2027, 3, 29, 12, 0, tzinfo=BERLIN), now, BERLIN) == "in 2 days"
    assert countdown(dt.datetime(2027, 3, 28, 12, 0, tzinfo=BERLIN), now, BERLIN) == "tomorrow"


def test_countdown_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="aware"):
        countdown(dt.datetime(2026, 12, 3, 9, 0), NOW, "UTC")


# --- Your time, home time beside it -----------------------------------------------------------

# 21:30 on Wednesday in Anchorage is 07:30 on Thursday in Berlin.
EVENING = dt.datetime(2026, 12, 2, 21, 30, tzinfo=ANCHORAGE)


def test_local_and_home_shows_home_time_beside_when_it_differs():
    text = local_and_home(EVENING, zone="Europe/Berlin", home="America/Anchorage")
    assert text == "Thu 3 Dec, 07:30 (home time: Wed 2 Dec, 21:30)"


def test_local_and_home_at_home_is_only_the_home_time():
    text = local_and_home(EVENING, zone="America/Anchorage", home="America/Anchorage")
    assert text == "Wed 2 Dec, 21:30"


def test_local_and_home_same_wall_clock_in_another_zone_says_it_once():
    instant = dt.datetime(2026, 12, 2, 18, 0, tzinfo=BERLIN)
    assert local_and_home(instant, zone="Europe/Paris", home="Europe/Berlin") == "Wed 2 Dec, 18:00"


def test_local_and_home_same_day_gives_only_the_home_hour():
    midnight = dt.datetime(2026, 12, 3, 0, 0, tzinfo=ANCHORAGE)  # 10:00 in Berlin
    text = local_and_home(
        midnight, zone="Europe/Berlin", home="America/Anchorage", date_format="D j M Y", sep=" at "
    )
    assert text == "Thu 3 Dec 2026 at 10:00 (home time: 00:00)"


def test_local_and_home_time_only_still_dates_a_home_time_on_another_day():
    text = local_and_home(EVENING, zone=BERLIN, home=ANCHORAGE, date_format=None)
    assert text == "07:30 (home time: Wed 2 Dec, 21:30)"
    assert local_and_home(EVENING, zone=ANCHORAGE, home=ANCHORAGE, date_format=None) == "21:30"


def test_the_template_tags_use_the_active_zone_and_the_clock():
    template = Template(
        "{% load keepsake_time %}{% local_time at home %} | {% countdown at %}"
        " | {% local_time at home zone='America/Anchorage' date='l j F' %}"
    )
    with timezone.override(BERLIN):
        text = template.render(Context({"at": EVENING, "home": "America/Anchorage"}))
    assert text.startswith("Thu 3 Dec, 07:30 (home time: Wed 2 Dec, 21:30) | ")
    assert text.endswith(" | Wednesday 2 December, 21:30")


def test_viewer_zone_is_their_own_else_home_else_utc():
    assert viewer_zone("Europe/Berlin", "America/Anchorage") == "Europe/Berlin"
    assert viewer_zone("", "America/Anchorage") == "America/Anchorage"
    assert viewer_zone("Mars/Olympus", "") == "UTC"
