import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.journal import selectors, services
from apps.journal.models import Appreciation, Entry, JournalProfile

URL = "/journal/"


def seed(space, authors, n, *, start=dt.date(2026, 11, 20), private_every=0):
    """Bulk-create n entries going back one day each, alternating authors."""
    rows = []
    for i in range(n):
        author = authors[i % len(authors)]
        rows.append(
            Entry(
                space=space,
                author=author,
                text=f"entry number {i} about a kind gesture",
                day=start - dt.timedelta(days=i // len(authors)),
                is_private=bool(private_every) and i % private_every == 0,
            )
        )
    Entry.objects.bulk_create(rows, batch_size=2000)


def test_newest_first_and_paginated(alice, bob, alice_client):
    seed(alice.space, [alice, bob], 25)
    page1 = alice_client.get(URL)
    entries = list(page1.context["entries"])
    assert len(entries) == selectors.PAGE_SIZE
    days = [e.day for e in entries]
    assert days == sorted(days, reverse=True)
    page2 = alice_client.get(URL, {"page": 2})
    assert len(page2.context["entries"]) == 5
    assert set(entries).isdisjoint(page2.context["entries"])
    # An out-of-range or junk page number shows the nearest page, not an error.
    assert alice_client.get(URL, {"page": "999"}).status_code == 200
    assert alice_client.get(URL, {"page": "abc"}).status_code == 200


def test_filter_by_author_and_month(alice, bob, alice_client, write):
    with time_machine.travel(dt.datetime(2026, 9, 10, 12, tzinfo=dt.UTC), tick=False):
        write(alice, "September Alice")
        write(bob, "September Bob")
    with time_machine.travel(dt.datetime(2026, 10, 10, 12, tzinfo=dt.UTC), tick=False):
        write(alice, "October Alice")
    texts = lambda r: [e.text for e in r.context["entries"]]  # noqa: E731
    assert texts(alice_client.get(URL, {"author": bob.pk})) == ["September Bob"]
    assert texts(alice_client.get(URL, {"month": "2026-09", "author": alice.pk})) == [
        "September Alice"
    ]
    assert set(texts(alice_client.get(URL, {"month": "2026-10"}))) == {"October Alice"}


@pytest.mark.parametrize(
    "params",
    [
        {"month": "2026-13"},
        {"month": "2026-00"},
        {"month": "9999-12"},  # the last month a date can hold: once a 500
        {"month": "0001-01"},
        {"month": "1899-12"},
        {"month": "3000-01"},
        {"month": "10000-01"},
        {"month": "0000-01"},
        {"month": "2026-1"},
        {"month": "-2026-01"},
        {"month": "2026-11-01"},
        {"month": "banana"},
        {"author": "999999"},
        {"author": "x"},
    ],
)
def test_bad_filters_show_an_error_not_a_500(alice_client, alice, write, params):
    write(alice, "still listed")
    response = alice_client.get(URL, params)
    assert response.status_code == 200
    assert response.context["filters"].errors
    assert [e.text for e in response.context["entries"]] == ["still listed"]


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1899-12", "3000-01"])
def test_month_out_of_range_says_which_years(alice_client, month):
    response = alice_client.get(URL, {"month": month})
    assert response.context["filters"].errors["month"] == ["Pick a month from 1900 to 2999."]
    assert "Pick a month from 1900 to 2999." in response.content.decode()


@pytest.mark.parametrize(
    ("month", "expected"),
    [("1900-01", "first month"), ("2999-12", "last month"), ("2028-02", "leap day")],
)
def test_month_filter_edges_of_the_range(alice, alice_client, month, expected):
    for day, text in [
        (dt.date(1900, 1, 1), "first month"),
        (dt.date(2999, 12, 31), "last month"),
        (dt.date(2028, 2, 29), "leap day"),
        (dt.date(2028, 3, 1), "day after"),
    ]:
        Entry.objects.create(space=alice.space, author=alice, text=text, day=day)
    response = alice_client.get(URL, {"month": month})
    assert not response.context["filters"].errors
    assert [e.text for e in response.context["entries"]] == [expected]


def test_month_bounds_never_overflow():
    """The selector holds on its own, even for the months the form turns away."""
    assert selectors.month_bounds(dt.date(9999, 12, 1)) == (
        dt.date(9999, 12, 1),
        dt.date(9999, 12, 31),
    )
    assert selectors.month_bounds(dt.date(1, 1, 15)) == (dt.date(1, 1, 1), dt.date(1, 1, 31))
    assert selectors.month_bounds(dt.date(2028, 2, 10))[1] == dt.date(2028, 2, 29)


def test_chart_months_step_back_across_years():
    first = dt.date(2026, 2, 1)
    assert selectors.months_before(first, 1) == dt.date(2026, 1, 1)
    assert selectors.months_before(first, 2) == dt.date(2025, 12, 1)
    assert selectors.months_before(first, 14) == dt.date(2024, 12, 1)


def test_journal_page_for_the_last_month_a_date_can_hold(alice):
    Entry.objects.create(space=alice.space, author=alice, text="far future", day=dt.date.max)
    result = selectors.journal_page(user=alice, month=dt.date(9999, 12, 1))
    assert [e.text for e in result.page.object_list] == ["far future"]


def test_search(alice, bob, alice_client, write):
    write(alice, "The lighthouse walk at dusk was lovely")
    write(bob, "Thanks for the warm soup")
    found = [e.text for e in alice_client.get(URL, {"q": "lighthouse"}).context["entries"]]
    assert found == ["The lighthouse walk at dusk was lovely"]
    assert list(alice_client.get(URL, {"q": "volcano"}).context["entries"]) == []
    # Search combines with the author filter.
    assert list(alice_client.get(URL, {"q": "soup", "author": alice.pk}).context["entries"]) == []


def test_search_too_long_is_a_form_error(alice_client):
    response = alice_client.get(URL, {"q": "x" * 500})
    assert response.status_code == 200
    assert "q" in response.context["filters"].errors


def test_on_this_day_shows_earlier_years_only(both_ways, write):
    """The actor's entries of earlier years come back to the partner on the day."""
    for year in (2024, 2025, 2026):
        with time_machine.travel(dt.datetime(year, 6, 1, 12, tzinfo=dt.UTC), tick=False):
            write(both_ways.actor, f"June first {year}")
    got = selectors.on_this_day(user=both_ways.partner, today=dt.date(2026, 6, 1))
    assert [e.text for e in got] == ["June first 2025", "June first 2024"]


def test_on_this_day_29_february_shows_on_28th_in_common_years(alice, write):
    with time_machine.travel(dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC), tick=False):
        write(alice, "Leap day")
    assert [e.text for e in selectors.on_this_day(user=alice, today=dt.date(2025, 2, 28))] == [
        "Leap day"
    ]
    assert selectors.on_this_day(user=alice, today=dt.date(2028, 2, 28)) == []


def test_monthly_chart_counts_by_partner(alice, bob, alice_client, write):
    with time_machine.travel(dt.datetime(2026, 10, 5, 12, tzinfo=dt.UTC), tick=False):
        write(alice, "a")
        write(alice, "b")
        write(bob, "c")
    with time_machine.travel(dt.datetime(2026, 11, 5, 12, tzinfo=dt.UTC), tick=False):
        write(bob, "d")
        chart = selectors.monthly_counts(
            user=alice, members=[alice, bob], today=dt.date(2026, 11, 5)
        )
        # A session of the pinned day: the fixture's, made on the real day, may be expired.
        alice_client.force_login(alice)
        page = alice_client.get(URL).content.decode()
    assert chart.months[-2].counts == [2, 1]
    assert chart.months[-1].counts == [0, 1]
    assert len(chart.months) == 12
    assert "<svg" in page
    assert 'data-testid="chart-table"' in page


def test_entry_dated_in_authors_zone(alice, bob):
    alice.time_zone = "Pacific/Auckland"
    alice.save()
    now = dt.datetime(2026, 5, 1, 20, tzinfo=dt.UTC)  # 2 May 08:00 in Auckland
    entry = services.entry_create(author=alice, text="Early coffee", now=now)
    assert entry.day == dt.date(2026, 5, 2)


def test_new_since_last_visit(both_ways, client_of, write):
    """What the actor writes and replies is new to the partner, once."""
    reader = client_of(both_ways.partner)
    mine = write(both_ways.partner, "my old one")
    reader.get(URL)  # first visit sets the marker
    theirs = write(both_ways.actor, "a new one from my partner")
    services.entry_appreciate(entry=mine, user=both_ways.actor, heart=True, reply="Loved it")
    result = reader.get(URL).context["result"]
    assert result.new_ids == {theirs.pk}
    assert result.new_appreciation_ids == {Appreciation.objects.get().pk}
    # Seen now: the next visit marks nothing.
    result = reader.get(URL).context["result"]
    assert result.new_ids == set()
    assert result.new_appreciation_ids == set()
    # The actor's own marker is the actor's: the partner's visit moved nothing for them.
    assert not JournalProfile.objects.filter(
        user=both_ways.actor, last_visit_at__isnull=False
    ).exists()


def _count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"q": "kind"}, {"month": "2026-11", "author": "me"}])
def test_journal_page_query_count_constant_10_vs_10000(
    alice, bob, alice_client, django_assert_max_num_queries, params
):
    if params.get("author") == "me":
        params = {**params, "author": alice.pk}
    JournalProfile.objects.create(user=alice)
    seed(alice.space, [alice, bob], 10, private_every=3)
    for entry in Entry.objects.filter(author=alice)[:5]:
        Appreciation.objects.create(space=alice.space, entry=entry, from_user=bob, reply="yes")
    small = _count_queries(alice_client, URL, params)
    Entry.objects.all().delete()
    seed(alice.space, [alice, bob], 10_000, private_every=3)
    appreciated = Entry.objects.filter(author=alice).order_by("-day")[:500]
    Appreciation.objects.bulk_create(
        Appreciation(space=alice.space, entry=e, from_user=bob, reply="yes") for e in appreciated
    )
    with django_assert_max_num_queries(small):
        large = _count_queries(alice_client, URL, params)
    assert large == small


def test_dashboard_query_count_constant(alice, bob, alice_client):
    JournalProfile.objects.create(user=alice)
    seed(alice.space, [alice, bob], 10)
    small = _count_queries(alice_client, reverse("home:dashboard"))
    seed(alice.space, [alice, bob], 5_000, start=dt.date(2026, 1, 1))
    assert _count_queries(alice_client, reverse("home:dashboard")) == small


def test_dashboard_selector(both_ways, write):
    viewer, writer = both_ways.partner, both_ways.actor
    write(writer, "shared by my partner")
    write(writer, "first")
    write(viewer, "mine, private", is_private=True)
    write(writer, "theirs, private", is_private=True)
    data = selectors.dashboard_journal(space=viewer.space, user=viewer)
    assert data["prompt"] == selectors.today_prompt(space=viewer.space)
    assert [e.text for e in data["latest"]] == ["first", "shared by my partner"]
    assert data["new_count"] == 2


def test_dashboard_quick_entry_answers_todays_prompt_by_choice(both_ways, client_of):
    """The form belongs to the dashboard view; it carries the prompt, unticked."""
    viewer = both_ways.partner
    response = client_of(viewer).get("/home/")
    form = response.context["journal_form"]
    assert form.initial["prompt_key"] == selectors.today_prompt(space=viewer.space).key
    assert not form["answer_prompt"].value()  # answering is a choice, unticked


def test_lone_partner_sees_the_journal(client, space):
    from tests.factories import UserFactory

    lone = UserFactory(space=space, display_name="Solo")
    client.force_login(lone)
    services.entry_create(author=lone, text="Waiting for you to join")
    response = client.get(URL)
    assert response.status_code == 200
    assert "Waiting for you to join" in response.content.decode()


def test_without_a_space_you_are_sent_to_create_one(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(URL)["Location"] == reverse("accounts:space_create")


@pytest.mark.parametrize("q", ['"', "'", "():*&|!", "-", "a & b | !c", "🙂", "x" * 200])
def test_odd_search_text_never_fails(alice, alice_client, write, q):
    write(alice, "plain text")
    assert alice_client.get(URL, {"q": q}).status_code == 200


def test_nav_has_the_journal_link(alice_client):
    page = alice_client.get(URL).content.decode()
    assert 'href="/journal/" aria-current="page">Journal</a>' in page
