"""The dashboard across zones: "today" is the viewer's today, times are in their zone.

Issue 10, bug 6: the space is in America/Anchorage, one partner in Europe/Berlin. At
09:02Z on Wednesday 2 December 2026 her dashboard said "Today: Massage before bed at
07:30": the home day's occurrence, which is Thursday morning for her.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from apps.rituals import services
from apps.rituals.recurrence import rrule_from_answers
from tests.conftest import live_apart

pytestmark = pytest.mark.django_db

UTC = dt.UTC
HOME = zoneinfo.ZoneInfo("America/Anchorage")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 12, 2, 9, 2, tzinfo=UTC)  # Wednesday: 00:02 at home, 10:02 in Berlin


def at_home(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=HOME).astimezone(UTC)


def both(local: dt.datetime, home: dt.datetime) -> str:
    """The expected text: the viewer's time, the home time beside it on another day."""
    return f"{local:%a %-d %b, %H:%M} (home time: {home:%a %-d %b, %H:%M})"


def card(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def zones(space, both_ways):
    """The space at home in Anchorage; the acting partner in Berlin, the other at home."""
    space.time_zone = "America/Anchorage"
    space.save()
    traveller, homebody = live_apart(both_ways)
    answers = {"freq": "daily", "interval": 1}
    starts_on = dt.date(2026, 11, 1)
    services.ritual_create(
        space=space,
        user=homebody,
        now=NOW,
        title="Massage before bed",
        description="",
        participation="both",
        giver=None,
        rrule=rrule_from_answers(answers, starts_on),
        recurrence=answers,
        starts_on=starts_on,
        time_of_day=dt.time(21, 30),
        duration_minutes=30,
        is_conversation=False,
    )
    return traveller, homebody


def dashboard(client, user):
    with time_machine.travel(NOW, tick=False):
        client.force_login(user)  # a session of the pinned day, not of the real one
        response = client.get(reverse("home:dashboard"))
    assert response.status_code == 200
    return response


def test_today_is_the_travellers_today_in_her_zone(client, zones):
    traveller, _ = zones
    response = dashboard(client, traveller)
    data = response.context["rituals"]
    assert data["today"] == NOW.astimezone(BERLIN).date()  # Wednesday in Berlin
    # Her Wednesday holds Tuesday evening at home: 07:30 on Wednesday morning for her.
    tuesday_evening = at_home(dt.date(2026, 12, 1), 21, 30)
    [today] = data["todays"]
    assert (today["day"], today["at"]) == (dt.date(2026, 12, 1), tuesday_evening)
    html = card(response.content.decode(), "dashboard-rituals")
    local, home = tuesday_evening.astimezone(BERLIN), tuesday_evening.astimezone(HOME)
    assert f"at {local:%H:%M} (home time: {home:%a %-d %b, %H:%M})" in html
    # Checking in from that line records the occurrence she saw.
    assert re.search(r'name="day" value="2026-12-01"', html)
    # Wednesday evening at home is Thursday morning for her: coming up, not today.
    wednesday_evening = at_home(dt.date(2026, 12, 2), 21, 30)
    coming = html[html.index("Coming up") :]
    assert both(wednesday_evening.astimezone(BERLIN), wednesday_evening.astimezone(HOME)) in coming


def test_the_partner_at_home_sees_home_time_only(client, zones):
    _, homebody = zones
    response = dashboard(client, homebody)
    data = response.context["rituals"]
    assert data["today"] == NOW.astimezone(HOME).date()
    wednesday_evening = at_home(dt.date(2026, 12, 2), 21, 30)
    [today] = data["todays"]
    assert (today["day"], today["at"]) == (dt.date(2026, 12, 2), wednesday_evening)
    html = card(response.content.decode(), "dashboard-rituals")
    assert "at 21:30" in html
    assert "home time" not in html
    # Tonight's has not started at 00:02: no buttons yet.
    assert "You can check in once it starts." in html and "We did it" not in html
    thursday_evening = at_home(dt.date(2026, 12, 3), 21, 30).astimezone(HOME)
    assert f"{thursday_evening:%a %-d %b, %H:%M}" in html[html.index("Coming up") :]


def test_a_home_day_still_to_come_waits_until_it_starts(client, space, zones):
    """East of home, "today" can hold an occurrence of a home day that has not begun:
    listed, and answered once it starts."""
    traveller, homebody = zones
    answers = {"freq": "daily", "interval": 1}
    services.ritual_create(
        space=space,
        user=homebody,
        now=NOW,
        title="Early tea",
        description="",
        participation="both",
        giver=None,
        rrule=rrule_from_answers(answers, dt.date(2026, 11, 1)),
        recurrence=answers,
        starts_on=dt.date(2026, 11, 1),
        time_of_day=dt.time(1, 0),
        duration_minutes=None,
        is_conversation=False,
    )
    evening = dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 23:00 Tuesday at home, 09:00 Wed
    with time_machine.travel(evening, tick=False):
        client.force_login(traveller)  # a session of the pinned day, not of the real one
        response = client.get(reverse("home:dashboard"))
    [tea] = [t for t in response.context["rituals"]["todays"] if t["ritual"].title == "Early tea"]
    # Wednesday 01:00 at home is 11:00 on her Wednesday, but home is still on Tuesday.
    assert tea["day"] == dt.date(2026, 12, 2) and not tea["can_check_in"]
    html = card(response.content.decode(), "dashboard-rituals")
    assert 'name="day" value="2026-12-02"' not in html
    assert "You can check in once it starts." in html
