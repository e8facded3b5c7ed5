"""Browser journey: A adds "Date night" from the library, B sees it, both check in,
the streak and the heatmap show it."""

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from playwright.sync_api import expect

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A Friday evening in Berlin (the space's zone). The test moves it on by whole weeks to
# the first one after the real clock (the browser's clock is real, so session cookies
# must stay valid) and computes every date-dependent text from it.
FRIDAY_EVENING = dt.datetime(2026, 11, 27, 20, 45, tzinfo=dt.UTC)


def test_date_night_from_library_both_check_in(new_page, alice, bob):
    now = dt.datetime.now(dt.UTC)
    when = FRIDAY_EVENING
    while when < now:
        when += dt.timedelta(weeks=1)
    # The month and year the check-in lands in, as the space (Berlin) sees that evening.
    local = when.astimezone(zoneinfo.ZoneInfo(alice.space.time_zone))
    month = local.strftime("%B %Y")
    with time_machine.travel(when, tick=True):
        a = new_page()
        sign_in(a, alice.email)
        a.get_by_test_id("dashboard-rituals").get_by_role(
            "link", name="Pick one from the library"
        ).click()
        expect(a.get_by_role("heading", level=1)).to_have_text("Ritual library")
        card = a.get_by_test_id("library-date-night")
        expect(card).to_contain_text("Every week on Friday at 19:30")
        card.get_by_role("button", name="Add “Date night”").click()
        expect(a.get_by_role("heading", level=1)).to_have_text("Date night")
        expect(a.get_by_text("Every week on Friday at 19:30")).to_be_visible()

        b = new_page()
        sign_in(b, bob.email)
        rituals = b.get_by_test_id("dashboard-rituals")
        expect(rituals).to_contain_text("Date night")
        rituals.get_by_role("button", name=re.compile("^We did it")).click()
        expect(b.get_by_role("status").first).to_contain_text("noted")

        a.reload()
        today = a.get_by_test_id(re.compile(r"^occurrence-"))
        today.first.get_by_label("Note (optional)").fill("Pasta and a long walk home")
        today.first.get_by_role("button", name=re.compile("^We did it")).click()
        expect(a.get_by_test_id("streak")).to_have_text("Current streak: 1 time in a row.")
        expect(a.get_by_test_id("totals")).to_contain_text(f"Kept together 1 time in {local.year}")
        a.get_by_text("The year as text").click()
        expect(a.get_by_test_id("heatmap-text")).to_contain_text(f"{month}: kept together 1 time")
        expect(a.locator("[data-testid=heatmap] rect.ks-hm-1")).to_have_count(1)

        b.goto("/rituals/")
        expect(b.get_by_test_id("space-totals")).to_contain_text("Kept together 1 time")


def test_create_with_preview_in_both_zones_then_save(new_page, alice, bob):
    bob.time_zone = "America/Los_Angeles"
    bob.save()
    a = new_page()
    sign_in(a, alice.email)
    a.goto("/rituals/new/")
    a.get_by_label("Title").fill("Last-Friday café")
    a.get_by_label("How often").select_option("monthly_nth")
    expect(a.get_by_label("Monday")).to_be_hidden()
    a.get_by_label("Which one (monthly on a weekday)").select_option("-1")
    a.get_by_label("Weekday (monthly on a weekday)").select_option("FR")
    a.get_by_label("At (your space's time)").fill("18:00")
    a.get_by_role("button", name="Preview the next dates").click()
    preview = a.get_by_test_id("preview")
    expect(preview).to_contain_text("Bob (America/Los_Angeles)")
    expect(preview).to_contain_text("Fri")
    expect(preview.locator("tbody tr")).to_have_count(5)
    a.get_by_role("button", name="Save", exact=True).click()
    expect(a.get_by_role("heading", level=1)).to_have_text("Last-Friday café")
    expect(a.get_by_text("Every month on the last Friday at 18:00")).to_be_visible()
