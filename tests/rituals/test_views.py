"""Pages: forms and their errors, space scoping, check-ins, e-mail links, the feed."""

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from apps.rituals import services
from apps.rituals.models import CheckIn, ReminderSchedule, Ritual

from .conftest import make_ritual

UTC = dt.UTC
pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 6, 10, 0, tzinfo=UTC)  # a Friday


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def form_data(**overrides):
    data = {
        "title": "Date night",
        "description": "",
        "participation": "both",
        "freq": "weekly",
        "interval": "1",
        "weekdays": ["FR"],
        "starts_on": "2026-03-06",
        "time_of_day": "19:30",
        "duration_minutes": "120",
    }
    data.update(overrides)
    return data


def test_create_ritual_from_the_friendly_form(alice_client, alice, bob):
    response = alice_client.post(reverse("rituals:create"), form_data())
    ritual = Ritual.objects.get()
    assert response.status_code == 302
    assert ritual.rrule == "FREQ=WEEKLY;BYDAY=FR"
    assert ritual.schedules.count() == 2


def test_preview_shows_both_partners_zones_and_saves_nothing(alice_client, alice, bob):
    bob.time_zone = "America/New_York"
    bob.save()
    response = alice_client.post(reverse("rituals:create"), {**form_data(), "preview": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Fri 6 Mar, 19:30" in html  # Alice, Berlin
    assert "Fri 6 Mar, 13:30" in html  # Bob, New York
    assert "America/New_York" in html
    assert not Ritual.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"custom_rule": "FREQ=SECONDLY"}, "custom_rule", "at most once a day"),
        ({"custom_rule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "custom_rule", "never happens"),
        ({"time_of_day": "25:99"}, "time_of_day", "Enter a valid time"),
        ({"weekdays": []}, "weekdays", "at least one weekday"),
        (
            {"freq": "monthly_day", "month_day": "31", "interval": "12", "starts_on": "2026-02-01"},
            "freq",
            "never happens",
        ),
        ({"participation": "gives"}, "giver", "which of you gives"),
        ({"title": ""}, "title", "required"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(
    alice_client, alice, overrides, field, message
):
    response = alice_client.post(reverse("rituals:create"), form_data(**overrides))
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors
    assert message in response.content.decode()
    assert not Ritual.objects.exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("preview", [False, True])
@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 3660"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL must be a whole number from 1 to 3660"),
        ("FREQ=DAILY;UNTIL=20000101", "never happens"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY takes numbers from 1 to 31"),
        ("FREQ=MINUTELY", "at most once a day"),
        ("FREQ=HOURLY;INTERVAL=24", "at most once a day"),
    ],
)
def test_bad_custom_rules_get_a_clear_message_and_save_nothing(
    alice_client, alice, bob, rule, message, preview
):
    data = form_data(custom_rule=rule, **({"preview": "1"} if preview else {}))
    response = alice_client.post(reverse("rituals:create"), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["custom_rule"])
    assert message in response.content.decode()
    assert response.context["preview"] is None
    assert not Ritual.objects.exists()
    assert not ReminderSchedule.objects.exists()


def test_a_custom_rule_keeps_its_end_date(alice_client, alice, bob):
    data = form_data(custom_rule="FREQ=WEEKLY;BYDAY=FR;UNTIL=20260320", preview="1")
    response = alice_client.post(reverse("rituals:create"), data)
    assert [row["day"] for row in response.context["preview"]] == [
        dt.date(2026, 3, 6),
        dt.date(2026, 3, 13),
        dt.date(2026, 3, 20),
    ]


@pytest.mark.parametrize("starts_on", ["0001-01-01", "2016-03-05", "2036-03-07", "9999-12-31"])
def test_start_date_far_from_today_is_refused(alice_client, alice, starts_on):
    data = form_data(freq="monthly_day", month_day="6", starts_on=starts_on)
    response = alice_client.post(reverse("rituals:create"), data)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["starts_on"])
    assert "within 10 years of today" in errors
    assert "between 6 March 2016 and 6 March 2036" in errors
    assert not Ritual.objects.exists()


@pytest.mark.parametrize("starts_on", ["2016-03-06", "2036-03-06"])
def test_start_date_ten_years_away_is_fine(alice_client, alice, starts_on):
    response = alice_client.post(reverse("rituals:create"), form_data(starts_on=starts_on))
    assert response.status_code == 302
    assert Ritual.objects.get().starts_on == dt.date.fromisoformat(starts_on)


def test_editing_an_old_ritual_keeps_its_start_date(alice_client, alice):
    ritual = make_ritual(alice.space, alice, now=NOW, starts_on=dt.date(2012, 5, 4))
    url = reverse("rituals:edit", args=[ritual.pk])
    response = alice_client.post(url, form_data(starts_on="2012-05-04", title="Still ours"))
    assert response.status_code == 302
    ritual.refresh_from_db()
    assert (ritual.title, ritual.starts_on) == ("Still ours", dt.date(2012, 5, 4))
    # Moving it is held to the same range as a new ritual.
    response = alice_client.post(url, form_data(starts_on="2012-05-05"))
    assert "within 10 years of today" in " ".join(response.context["form"].errors["starts_on"])


def test_other_spaces_rituals_are_404(client, alice, stranger):
    ritual = make_ritual(alice.space, alice, now=NOW)
    client.force_login(stranger)
    for name in ("detail", "edit"):
        assert client.get(reverse(f"rituals:{name}", args=[ritual.pk])).status_code == 404
    for name in ("status", "check_in", "reminder"):
        assert (
            client.post(
                reverse(f"rituals:{name}", args=[ritual.pk]), {"status": "paused"}
            ).status_code
            == 404
        )
    ritual.refresh_from_db()
    assert ritual.status == "active"


def test_library_adds_with_one_click(alice_client, alice):
    response = alice_client.get(reverse("rituals:library"))
    assert response.content.decode().count("<h2") >= 12
    response = alice_client.post(reverse("rituals:library_add", args=["date-night"]))
    ritual = Ritual.objects.get()
    assert response.url == reverse("rituals:detail", args=[ritual.pk])
    assert (ritual.title, ritual.rrule, ritual.time_of_day) == (
        "Date night",
        "FREQ=WEEKLY;BYDAY=FR",
        dt.time(19, 30),
    )
    assert alice_client.post(reverse("rituals:library_add", args=["nope"])).status_code == 404


def test_library_has_a_dozen_fresh_rituals():
    from apps.rituals.library import LIBRARY
    from apps.rituals.questions import QUESTIONS

    assert len(LIBRARY) >= 12
    assert len({item.key for item in LIBRARY}) == len(LIBRARY)
    assert len(set(QUESTIONS)) == len(QUESTIONS) >= 40


def test_check_in_web_and_rejections(alice_client, alice, bob):
    ritual = make_ritual(alice.space, alice, now=NOW, starts_on=dt.date(2026, 3, 1))
    url = reverse("rituals:check_in", args=[ritual.pk])
    alice_client.post(
        url, {"day": "2026-03-05", "status": "kept", "note": "Lovely", "feeling": "close"}
    )
    check_in = CheckIn.objects.get()
    assert (check_in.status, check_in.note, check_in.feeling) == ("kept", "Lovely", "close")
    # The future and days the ritual does not happen change nothing.
    response = alice_client.post(url, {"day": "2026-03-07", "status": "kept"}, follow=True)
    assert "has not started yet" in response.content.decode()
    alice_client.post(url, {"day": "2026-02-27", "status": "kept"})
    assert CheckIn.objects.count() == 1


def test_streak_and_totals(alice_client, alice, bob):
    ritual = make_ritual(alice.space, alice, now=NOW, starts_on=dt.date(2026, 3, 1))
    for day in (dt.date(2026, 3, 3), dt.date(2026, 3, 4), dt.date(2026, 3, 5)):
        for user in (alice, bob):
            services.ritual_check_in(ritual=ritual, user=user, day=day, status="kept")
    services.ritual_check_in(ritual=ritual, user=alice, day=dt.date(2026, 3, 2), status="kept")
    html = alice_client.get(reverse("rituals:detail", args=[ritual.pk])).content.decode()
    assert "Current streak: 3 times in a row" in html
    assert "Kept together 3 times in 2026" in html
    assert "March 2026: kept together 3 times" in html
    assert "<svg" in html and "Thu 5 Mar 2026: kept together 1 time" in html


def test_email_links_get_shows_button_post_records(client, alice, bob):
    ritual = make_ritual(alice.space, alice, now=NOW, starts_on=dt.date(2026, 3, 1))
    token = services.checkin_token(ritual_id=ritual.pk, day=dt.date(2026, 3, 5), user_id=bob.pk)
    url = reverse("rituals:email_check_in", args=[token, "kept"])
    response = client.get(url)
    assert response.status_code == 200
    assert b"We did it" in response.content
    assert not CheckIn.objects.exists()  # a GET never changes anything
    response = client.post(url)
    assert response.status_code == 200
    assert CheckIn.objects.get().user == bob


def test_email_links_forged_expired_or_future_do_nothing(client, alice, bob):
    ritual = make_ritual(alice.space, alice, now=NOW, starts_on=dt.date(2026, 3, 1))
    token = services.checkin_token(ritual_id=ritual.pk, day=dt.date(2026, 3, 6), user_id=bob.pk)
    assert (
        client.post(reverse("rituals:email_check_in", args=[token + "x", "kept"])).status_code
        == 404
    )
    assert client.post(reverse("rituals:email_check_in", args=[token, "nope"])).status_code == 404
    future = services.checkin_token(ritual_id=ritual.pk, day=dt.date(2026, 3, 9), user_id=bob.pk)
    assert client.post(reverse("rituals:email_check_in", args=[future, "kept"])).status_code == 400
    with time_machine.travel(NOW + dt.timedelta(days=30), tick=False):
        response = client.post(reverse("rituals:email_check_in", args=[token, "kept"]))
    assert response.status_code == 404
    assert not CheckIn.objects.exists()


def test_calendar_feed_and_reset(alice_client, alice, bob, client):
    alice.space.anniversary = dt.date(2020, 2, 29)
    alice.space.save()
    make_ritual(alice.space, alice, now=NOW, answers={"freq": "weekly", "weekdays": ["FR"]})
    page = alice_client.post(reverse("rituals:calendar"), follow=True)
    feed_url = shown_feed_path(page)
    response = client.get(feed_url)
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    events = list(cal.walk("VEVENT"))
    assert {str(e["summary"]) for e in events} == {
        "Evening talk",
        f"Anniversary of {alice.space.name}",
    }
    ritual_event = next(e for e in events if str(e["summary"]) == "Evening talk")
    assert ritual_event["rrule"]["FREQ"] == ["WEEKLY"]
    assert str(ritual_event["dtstart"].dt.tzinfo) == "Europe/Berlin"
    # Started on Thursday 1 January: the first event is Friday 2 January, not the start date.
    assert ritual_event["dtstart"].dt.replace(tzinfo=None) == dt.datetime(2026, 1, 2, 19, 30)
    assert ritual_event["dtstart"].dt.weekday() == 4
    assert ritual_event.walk("VALARM")[0]["trigger"].dt == -dt.timedelta(minutes=30)
    assert list(cal.walk("VTIMEZONE"))
    # Reset: the old address stops working.
    alice_client.post(reverse("rituals:calendar"))
    assert client.get(feed_url).status_code == 404
    assert client.get(reverse("rituals:feed", args=["forged"])).status_code == 404


def shown_feed_path(page) -> str:
    """The feed address a calendar page shows (its path), asserting it shows one."""
    match = re.search(r'value="https?://[^/"]+(/rituals/feed/[^"]+\.ics)"', page.content.decode())
    assert match, "the page shows no calendar address"
    return match.group(1)


def feed_events(client, user) -> dict:
    token = services.calendar_feed_reset(user=user)
    cal = Calendar.from_ical(client.get(reverse("rituals:feed", args=[token])).content)
    return {str(e["summary"]): e for e in cal.walk("VEVENT")}


def test_feed_date_night_added_on_a_monday_starts_on_a_friday(alice_client, alice, client):
    monday = dt.datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    with time_machine.travel(monday, tick=False):
        alice_client.post(reverse("rituals:library_add", args=["date-night"]))
    assert Ritual.objects.get().starts_on == dt.date(2026, 3, 9)
    event = feed_events(client, alice)["Date night"]
    start = event["dtstart"].dt
    assert (start.date(), start.weekday(), start.time()) == (
        dt.date(2026, 3, 13),
        4,
        dt.time(19, 30),
    )
    assert str(start.tzinfo) == "Europe/Berlin"


def test_feed_end_date_is_the_last_occurrence_in_utc(alice, client):
    make_ritual(
        alice.space,
        alice,
        now=NOW,
        title="Until spring",
        rrule="FREQ=WEEKLY;BYDAY=FR;UNTIL=20260320",
        at=dt.time(19, 30),
    )
    event = feed_events(client, alice)["Until spring"]
    # RFC 5545: with a zoned DTSTART, UNTIL is a UTC instant (19:30 in Berlin is 18:30 UTC).
    assert event["rrule"]["UNTIL"] == [dt.datetime(2026, 3, 20, 18, 30, tzinfo=UTC)]


def test_feed_leaves_out_a_ritual_whose_rule_cannot_be_evaluated(alice, client):
    ritual = make_ritual(alice.space, alice, now=NOW, title="Broken")
    make_ritual(alice.space, alice, now=NOW, title="Fine")
    Ritual.objects.filter(pk=ritual.pk).update(rrule="FREQ=DAILY;INTERVAL=0")
    assert set(feed_events(client, alice)) == {"Fine", f"Anniversary of {alice.space.name}"}


def checkin_days(client, ritual) -> list:
    response = client.get(reverse("rituals:detail", args=[ritual.pk]))
    return [occ["day"] for occ in response.context["occurrences"]]


def test_check_ins_offered_for_the_last_six_of_a_monthly_ritual(alice_client, alice):
    ritual = make_ritual(
        alice.space,
        alice,
        now=NOW,
        answers={"freq": "monthly_day", "month_day": 1},
        starts_on=dt.date(2025, 6, 1),
    )
    assert checkin_days(alice_client, ritual) == [
        dt.date(2026, 3, 1),
        dt.date(2026, 2, 1),
        dt.date(2026, 1, 1),
        dt.date(2025, 12, 1),
        dt.date(2025, 11, 1),
        dt.date(2025, 10, 1),
    ]


def test_check_ins_offered_for_last_years_date_of_a_yearly_ritual(alice_client, alice):
    ritual = make_ritual(
        alice.space, alice, now=NOW, answers={"freq": "yearly"}, starts_on=dt.date(2024, 3, 7)
    )
    assert checkin_days(alice_client, ritual) == [dt.date(2025, 3, 7)]
    url = reverse("rituals:check_in", args=[ritual.pk])
    alice_client.post(url, {"day": "2025-03-07", "status": "kept"})
    assert CheckIn.objects.get().occurrence == dt.date(2025, 3, 7)


def test_check_ins_of_a_daily_ritual_are_the_last_six_days(alice_client, alice):
    ritual = make_ritual(alice.space, alice, now=NOW, starts_on=dt.date(2020, 1, 1))
    assert checkin_days(alice_client, ritual) == [
        dt.date(2026, 3, 6) - dt.timedelta(days=n) for n in range(6)
    ]


def test_status_pause_archive_keeps_history(alice_client, alice):
    ritual = make_ritual(alice.space, alice, now=NOW)
    alice_client.post(reverse("rituals:status", args=[ritual.pk]), {"status": "archived"})
    ritual.refresh_from_db()
    assert ritual.status == "archived"
    html = alice_client.get(reverse("rituals:list")).content.decode()
    assert "Archived" in html
    alice_client.post(reverse("rituals:status", args=[ritual.pk]), {"status": "bogus"})
    ritual.refresh_from_db()
    assert ritual.status == "archived"


def test_edit_form_round_trips(alice_client, alice):
    ritual = make_ritual(
        alice.space, alice, now=NOW, answers={"freq": "monthly_nth", "nth": -1, "nth_weekday": "FR"}
    )
    response = alice_client.get(reverse("rituals:edit", args=[ritual.pk]))
    form = response.context["form"]
    assert form.initial["freq"] == "monthly_nth" and form.initial["nth"] == -1
    response = alice_client.post(
        reverse("rituals:edit", args=[ritual.pk]),
        form_data(freq="monthly_nth", nth="-1", nth_weekday="FR", title="Last Friday"),
    )
    ritual.refresh_from_db()
    assert (ritual.title, ritual.rrule) == ("Last Friday", "FREQ=MONTHLY;BYDAY=-1FR")


def test_reminder_preferences_pages(alice_client, alice):
    ritual = make_ritual(alice.space, alice, now=NOW)
    alice_client.post(reverse("rituals:reminders"), {"kind": "morning"})
    assert services.preference_effective(user=alice).kind == "morning"
    alice_client.post(
        reverse("rituals:reminder", args=[ritual.pk]), {"kind": "before", "minutes_before": "99999"}
    )
    assert services.preference_effective(user=alice, ritual=ritual).kind == "morning"
    alice_client.post(reverse("rituals:reminder", args=[ritual.pk]), {"kind": "off"})
    assert services.preference_effective(user=alice, ritual=ritual).kind == "off"
    assert ritual.schedules.get(user=alice).next_remind_at is None


def _seed(space, user, n):
    for i in range(n):
        r = make_ritual(space, user, now=NOW, starts_on=dt.date(2025, 3, 1), title=f"R{i}")
        for d in range(3, 63, 3):  # past days: today's 19:30 has not started at NOW
            services.ritual_check_in(
                ritual=r, user=user, day=dt.date(2026, 3, 6) - dt.timedelta(days=d), status="kept"
            )


@pytest.mark.parametrize("name", ["list", "dashboard", "detail"])
def test_page_queries_do_not_grow_with_data(
    alice_client, alice, bob, django_assert_max_num_queries, name
):
    def url():
        if name == "dashboard":
            return reverse("home:dashboard")
        if name == "detail":
            return reverse("rituals:detail", args=[Ritual.objects.order_by("pk").first().pk])
        return reverse("rituals:list")

    _seed(alice.space, alice, 2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert alice_client.get(url()).status_code == 200
    _seed(alice.space, bob, 12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert alice_client.get(url()).status_code == 200


def test_dashboard_shows_today_and_check_in_buttons(alice_client, alice, bob):
    make_ritual(
        alice.space,
        alice,
        now=NOW,
        answers={"freq": "weekly", "weekdays": ["FR"]},
        title="Date night",
    )
    html = alice_client.get(reverse("home:dashboard")).content.decode()
    # 11:00 in Berlin: tonight's 19:30 is listed, and can be answered once it starts.
    assert "Date night" in html and "We did it" not in html
    assert "You can check in once it starts." in html
    assert reverse("rituals:list") in html  # the menu link
    with time_machine.travel(dt.datetime(2026, 3, 6, 18, 31, tzinfo=UTC), tick=False):
        html = alice_client.get(reverse("home:dashboard")).content.decode()
    assert "Date night" in html and "We did it" in html


def test_no_mail_sent_by_pages(alice_client, alice, bob):
    alice_client.post(reverse("rituals:create"), form_data())
    assert mail.outbox == []


def test_every_page_renders_with_one_h1(alice_client, alice, bob):
    ritual = make_ritual(alice.space, alice, now=NOW, starts_on=dt.date(2026, 4, 1))
    urls = [
        reverse("rituals:list"),
        reverse("rituals:create"),
        reverse("rituals:library"),
        reverse("rituals:reminders"),
        reverse("rituals:calendar"),
        reverse("rituals:detail", args=[ritual.pk]),
        reverse("rituals:edit", args=[ritual.pk]),
    ]
    for url in urls:
        response = alice_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert html.count("<h1") == 1, url
        assert "style=" not in html, url


def test_pages_need_sign_in(client, alice):
    ritual = make_ritual(alice.space, alice, now=NOW)
    for url in (reverse("rituals:list"), reverse("rituals:detail", args=[ritual.pk])):
        assert client.get(url).status_code == 302


@pytest.mark.timeout(60)
@pytest.mark.parametrize("rule", ["FREQ=DAILY;INTERVAL=-1", "FREQ=MONTHLY;BYMONTHDAY=40"])
def test_pages_survive_a_stored_rule_that_cannot_be_evaluated(alice_client, alice, bob, rule):
    ritual = make_ritual(alice.space, alice, now=NOW, title="Broken")
    Ritual.objects.filter(pk=ritual.pk).update(rrule=rule)
    for url in (
        reverse("rituals:detail", args=[ritual.pk]),
        reverse("rituals:list"),
        reverse("home:dashboard"),
        reverse("rituals:edit", args=[ritual.pk]),
    ):
        assert alice_client.get(url).status_code == 200, url
    # Checking in and pausing answer clearly instead of failing.
    response = alice_client.post(
        reverse("rituals:check_in", args=[ritual.pk]),
        {"day": "2026-03-06", "status": "kept"},
        follow=True,
    )
    assert "does not happen on that day" in response.content.decode()
    alice_client.post(reverse("rituals:status", args=[ritual.pk]), {"status": "paused"})
    ritual.refresh_from_db()
    assert ritual.status == "paused"
    assert not CheckIn.objects.exists()


# --- Across zones (issue 10, bug 6) ----------------------------------------------------------

ANCHORAGE = zoneinfo.ZoneInfo("America/Anchorage")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
WEDNESDAY = dt.datetime(2026, 12, 2, 9, 2, tzinfo=UTC)  # 00:02 at home, 10:02 in Berlin


@pytest.fixture
def massage(space, both_ways):
    """Home in Anchorage, the acting partner in Berlin; every evening at 21:30 home time."""
    space.time_zone = "America/Anchorage"
    space.save()
    both_ways.actor.time_zone = "Europe/Berlin"
    both_ways.actor.save()
    both_ways.partner.time_zone = ""
    both_ways.partner.save()
    return make_ritual(
        space,
        both_ways.partner,
        now=WEDNESDAY,
        at=dt.time(21, 30),
        starts_on=dt.date(2026, 11, 1),
        title="Massage before bed",
    )


def _detail(client, user, ritual) -> str:
    with time_machine.travel(WEDNESDAY, tick=False):
        client.force_login(user)
        response = client.get(reverse("rituals:detail", args=[ritual.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _heading(html: str, day: str) -> str:
    block = html[html.index(f'data-testid="occurrence-{day}"') :]
    return block[block.index("<h3") : block.index("</h3>")]


def _next_times(html: str) -> list[str]:
    block = html[html.index('id="next-heading"') :]
    block = block[: block.index("</ul>")]
    return re.findall(r"<li>(.*?)</li>", block)


def test_detail_days_and_next_times_agree_in_the_travellers_zone(client, both_ways, massage):
    html = _detail(client, both_ways.actor, massage)
    # Wednesday 21:30 at home is Thursday 07:30 in Berlin: heading and list say so alike.
    wednesday = dt.datetime(2026, 12, 2, 21, 30, tzinfo=ANCHORAGE)
    local = wednesday.astimezone(BERLIN)
    heading = _heading(html, "2026-12-02")
    assert f"{local:%A %-d %B, %H:%M} (home time: {wednesday:%A %-d %B, %H:%M})" in heading
    block = html[html.index('data-testid="occurrence-2026-12-02"') :]
    block = block[: block.index('data-testid="occurrence-2026-12-01"')]
    assert "You can check in once it starts." in block and "We did it" not in block
    first = _next_times(html)[0]
    assert first == f"{local:%a %-d %b, %H:%M} (home time: {wednesday:%a %-d %b, %H:%M})"
    # The rule itself is stated in home time, and labelled so.
    assert "Every day at 21:30 home time (America/Anchorage)" in html


def test_detail_for_the_partner_at_home_is_home_time_only(client, both_ways, massage):
    html = _detail(client, both_ways.partner, massage)
    heading = _heading(html, "2026-12-02")
    assert "Wednesday 2 December, 21:30" in heading
    assert "home time:" not in heading
    assert _next_times(html)[:2] == ["Wed 2 Dec, 21:30", "Thu 3 Dec, 21:30"]


def test_list_shows_the_next_time_in_the_viewers_zone(client, both_ways, massage):
    wednesday = dt.datetime(2026, 12, 2, 21, 30, tzinfo=ANCHORAGE)
    local = wednesday.astimezone(BERLIN)
    for user, expected in (
        (both_ways.actor, f"{local:%a %-d %b, %H:%M} (home time: {wednesday:%a %-d %b, %H:%M})"),
        (both_ways.partner, f"{wednesday:%a %-d %b, %H:%M}"),
    ):
        with time_machine.travel(WEDNESDAY, tick=False):
            client.force_login(user)
            html = client.get(reverse("rituals:list")).content.decode()
        assert f"next: {expected}" in html
