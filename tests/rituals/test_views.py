"""Pages: forms and their errors, space scoping, check-ins, e-mail links, the feed."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from apps.rituals import services
from apps.rituals.models import CalendarFeed, CheckIn, Ritual

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
    assert "has not come yet" in response.content.decode()
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
    token = services.checkin_token(ritual_id=ritual.pk, day=dt.date(2026, 3, 6), user_id=bob.pk)
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
    page = alice_client.get(reverse("rituals:calendar"))
    token = CalendarFeed.objects.get(user=alice).token
    assert token in page.content.decode()
    feed_url = reverse("rituals:feed", args=[token])
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
    assert ritual_event.walk("VALARM")[0]["trigger"].dt == -dt.timedelta(minutes=30)
    assert list(cal.walk("VTIMEZONE"))
    # Reset: the old address stops working.
    alice_client.post(reverse("rituals:calendar"))
    assert client.get(feed_url).status_code == 404
    assert client.get(reverse("rituals:feed", args=["forged"])).status_code == 404


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
        for d in range(0, 60, 3):
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
    assert "Date night" in html and "We did it" in html
    assert reverse("rituals:list") in html  # the menu link


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
