"""A letter's whole life in a browser: written, sealed, waiting, opened together, read."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from django.utils.dateformat import format as date_format
from playwright.sync_api import expect

from apps.core.scheduling import run_passes
from apps.core.tz import local_today
from apps.vault import services

from .conftest import last_link_to, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TITLE = "For the morning you fixed the bike"
BODY = "I never said how much that meant. It still makes me smile on the way to work."


def test_a_letter_is_sealed_waits_and_is_opened_together(new_page, site, alice, bob):
    space = alice.space
    space.time_zone = "Europe/Berlin"
    # An anniversary ten days away, so the sessions of today still work on opening day.
    space.anniversary = local_today(space.time_zone) + dt.timedelta(days=10)
    space.save()
    opening_day = services.opening_day(space=space, sealed_on=local_today(space.time_zone))
    opens_at = services.opening_instant(space=space, day=opening_day)
    day_label = date_format(opening_day, "j F Y")

    # Alice writes and seals a letter to Bob.
    a = new_page()
    sign_in(a, alice.email)
    a.get_by_role("link", name="Vault").first.click()
    a.get_by_role("link", name="Write a letter").click()
    a.get_by_label("Title").fill(TITLE)
    a.get_by_label("Your letter").fill(BODY)
    a.get_by_role("button", name="Save and seal").click()
    expect(a.get_by_role("heading", level=1)).to_contain_text("Seal your letter to Bob")
    expect(a.get_by_label(f"{day_label} — your next anniversary")).to_be_checked()
    a.get_by_label("I understand").check()
    a.get_by_role("button", name="Seal it").click()
    expect(a.get_by_text(f"It will open on {day_label}")).to_be_visible()
    expect(a.locator("main")).not_to_contain_text(TITLE)

    # Bob sees that a letter waits, and nothing of it.
    b = new_page()
    sign_in(b, bob.email)
    expect(b.get_by_test_id("vault-dashboard")).to_contain_text("1 letter sealed for you")
    b.goto("/vault/")
    expect(b.get_by_test_id("waiting")).to_have_text(f"1 letter sealed for {day_label}")
    for page in (a, b):
        assert TITLE not in page.content() and BODY not in page.content()
    b.goto(f"/vault/{opening_day.year}/")
    expect(b.locator("main")).to_contain_text("will open on")
    assert BODY not in b.content()

    # Opening day: the scheduler's pass runs and both get an e-mail with a link.
    with time_machine.travel(opens_at + dt.timedelta(minutes=1), tick=True):
        mail.outbox.clear()
        run_passes(now=timezone.now())
        pattern = rf"http://\S+/vault/{opening_day.year}/"
        link_a = last_link_to(alice.email, pattern)
        link_b = last_link_to(bob.email, pattern)
        for message in mail.outbox:
            assert BODY not in message.body and TITLE not in message.body

        # They open the year's page together.
        a.goto(link_a)
        a.get_by_role("link", name="Open them together with Bob").click()
        a.get_by_role("button", name="I'm here").click()
        expect(a.locator("#together-status")).to_contain_text("Waiting for your partner")
        expect(a.locator("main")).not_to_contain_text(TITLE)

        b.goto(link_b)
        b.get_by_role("link", name="Open them together with Alice").click()
        b.get_by_role("button", name="I'm here").click()
        expect(b.get_by_text(TITLE)).to_be_visible()
        # Alice's page notices Bob's arrival by itself, without a reload.
        expect(a.get_by_text(TITLE)).to_be_visible(timeout=15_000)

        # Bob reads it; his first read is recorded and Alice sees it.
        b.get_by_text(TITLE).click()
        expect(b.get_by_test_id("letter-body")).to_contain_text("It still makes me smile")
        expect(b.get_by_text("Read.", exact=True)).to_be_visible()
        a.goto(link_a)
        a.get_by_text(TITLE).click()
        expect(a.get_by_test_id("letter-body")).to_contain_text("It still makes me smile")
        expect(a.get_by_test_id("read-state")).to_contain_text("Bob read it on")
