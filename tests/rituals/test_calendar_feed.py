"""The calendar address: stored hashed, shown once when made or reset, and the addresses
phones subscribed to before hashing keep working (issue 11, item 9)."""

import datetime as dt
import re
import secrets

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from apps.rituals import services
from apps.rituals.models import CalendarFeed

from .conftest import make_ritual

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
FEED_URL = re.compile(r'value="https?://[^/"]+(/rituals/feed/[^"]+\.ics)"')


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def calendar_page(client) -> str:
    return client.get(reverse("rituals:calendar")).content.decode()


def make_address(client) -> str:
    """Press the button; return the feed path the page then shows."""
    page = client.post(reverse("rituals:calendar"), follow=True).content.decode()
    match = FEED_URL.search(page)
    assert match, "the page shows no calendar address after making one"
    return match.group(1)


def summaries(response) -> set[str]:
    return {str(e["summary"]) for e in Calendar.from_ical(response.content).walk("VEVENT")}


@pytest.mark.django_db
def test_without_an_address_the_page_offers_to_make_one(alice):
    page = calendar_page(logged_in(alice))
    assert "Make my calendar address" in page
    assert not FEED_URL.search(page)
    assert not CalendarFeed.objects.exists()  # looking at the page makes nothing


@pytest.mark.django_db
def test_a_new_address_is_shown_once_and_stored_only_hashed(space, both_ways):
    make_ritual(space, both_ways.partner, now=NOW, title="Evening talk")
    owner = logged_in(both_ways.actor)
    path = make_address(owner)
    token = path.removeprefix("/rituals/feed/").removesuffix(".ics")

    assert Client().get(path).status_code == 200
    feed = CalendarFeed.objects.get(user=both_ways.actor)
    assert (
        token not in feed.token_hash
        and feed.token_hash == services.calendar_feed_find(token).token_hash
    )
    # Afterwards the page says an address exists, offers a new one, and shows none.
    again = calendar_page(owner)
    assert not FEED_URL.search(again) and token not in again
    assert "You have a private calendar address, made on 6 March 2026" in again
    assert "Make a new address (the old one stops working)" in again
    # The partner has none of their own yet, and sees nothing of this one.
    partner_page = calendar_page(logged_in(both_ways.partner))
    assert token not in partner_page and "Make my calendar address" in partner_page


@pytest.mark.django_db
def test_a_reset_kills_the_old_address_and_keeps_the_partners(space, both_ways):
    make_ritual(space, both_ways.actor, now=NOW, title="Evening talk")
    partner_path = make_address(logged_in(both_ways.partner))
    owner = logged_in(both_ways.actor)
    old = make_address(owner)

    new = make_address(owner)

    assert new != old
    assert Client().get(old).status_code == 404
    assert "Evening talk" in summaries(Client().get(new))
    assert "Evening talk" in summaries(Client().get(partner_path))  # untouched
    assert CalendarFeed.objects.filter(user=both_ways.actor).count() == 1


@pytest.mark.django_db
def test_a_strangers_or_a_made_up_token_shows_nothing_of_ours(space, alice, stranger):
    make_ritual(space, alice, now=NOW, title="Ours")
    ours = make_address(logged_in(alice))
    theirs = make_address(logged_in(stranger))

    assert "Ours" not in summaries(Client().get(theirs))
    assert "Ours" in summaries(Client().get(ours))
    for token in ("forged", secrets.token_urlsafe(32), "a" * 101, "x\x00" * 20):
        assert Client().get(reverse("rituals:feed", args=[token])).status_code == 404
    # The stored hash is no address either.
    digest = CalendarFeed.objects.get(user=alice).token_hash
    assert Client().get(reverse("rituals:feed", args=[digest])).status_code == 404


@pytest.mark.django_db
def test_the_address_of_someone_who_left_the_space_is_gone(space, alice):
    path = make_address(logged_in(alice))
    alice.space = None
    alice.save(update_fields=["space"])
    assert Client().get(path).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_an_address_subscribed_before_hashing_still_works_after_the_migration(space, alice):
    """The migration hashes stored tokens: a phone keeps the URL it subscribed to."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    make_ritual(space, alice, now=NOW, title="Evening talk")
    before = [("rituals", "0002_schedule_counting_since")]
    after = [("rituals", "0003_calendarfeed_token_hash")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("rituals", "CalendarFeed")
        token = secrets.token_urlsafe(32)  # exactly as the old code issued and stored it
        old.objects.create(user_id=alice.pk, token=token)
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())

    response = Client().get(reverse("rituals:feed", args=[token]))
    assert response.status_code == 200
    assert "Evening talk" in summaries(response)
    assert token not in CalendarFeed.objects.get(user=alice).token_hash
