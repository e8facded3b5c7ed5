"""Browser journey: an entry about the partner, a heart back, and a private entry kept private."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_journal_journey(new_page, alice, bob):
    a = new_page()
    sign_in(a, alice.email)
    a.get_by_test_id("journal-dashboard").get_by_role("link", name="Journal").click()
    expect(a.get_by_role("heading", name="Our journal")).to_be_visible()
    prompt = a.get_by_test_id("prompt").inner_text()
    a.get_by_role("link", name="Answer it").click()
    expect(a.get_by_test_id("prompt")).to_have_text(prompt)
    a.get_by_label("What are you grateful for?").fill(
        "Bob warmed up the car before my early shift. 🚗"
    )
    a.get_by_label("About my partner").check()
    a.get_by_role("button", name="Save entry").click()
    expect(a.get_by_text("Saved and shared.")).to_be_visible()

    b = new_page()
    sign_in(b, bob.email)
    b.goto("/journal/")
    entry = b.get_by_test_id("entry").filter(has_text="warmed up the car")
    expect(entry).to_contain_text(prompt)
    expect(entry).to_contain_text("About you")
    expect(entry.get_by_text("New")).to_be_visible()
    entry.get_by_role("link", name=re.compile("Reply with a heart")).click()
    b.get_by_label("A short reply").fill("It was freezing, glad to help ❤")
    b.get_by_role("button", name="Send").click()
    expect(b.get_by_text("Sent to Alice.")).to_be_visible()
    b.goto("/journal/")
    expect(
        b.get_by_test_id("entry")
        .filter(has_text="warmed up the car")
        .get_by_role("link", name=re.compile("Change your reply"))
    ).to_be_visible()

    a.goto("/journal/")
    mine = a.get_by_test_id("entry").filter(has_text="warmed up the car")
    expect(mine.get_by_test_id("appreciation")).to_contain_text(
        "Bob: It was freezing, glad to help ❤"
    )
    expect(mine.get_by_test_id("appreciation")).to_contain_text("New")

    a.goto("/journal/write/")
    a.get_by_label("What are you grateful for?").fill("Planning a quiet birthday surprise")
    a.get_by_label("Keep private").check()
    a.get_by_role("button", name="Save entry").click()
    expect(a.get_by_text("Saved, just for you.")).to_be_visible()
    expect(a.get_by_test_id("entry").filter(has_text="birthday surprise")).to_contain_text(
        "Private"
    )

    b.goto("/journal/")
    expect(b.get_by_test_id("entry").filter(has_text="warmed up the car")).to_be_visible()
    expect(b.get_by_text("birthday surprise")).to_have_count(0)
    b.get_by_label("Search").fill("birthday")
    b.get_by_role("button", name="Find").click()
    expect(b.get_by_test_id("no-entries")).to_be_visible()
    expect(b.get_by_test_id("entry")).to_have_count(0)
    b.goto("/")
    expect(b.get_by_test_id("journal-dashboard")).to_contain_text("warmed up the car")
    expect(b.get_by_test_id("journal-dashboard")).not_to_contain_text("birthday")
