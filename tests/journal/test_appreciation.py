"""The partner's heart and short reply: one per entry and partner, from either side."""

import pytest
from django.urls import reverse

from apps.journal import services
from apps.journal.models import Appreciation


@pytest.fixture
def entry(both_ways, write):
    """Written by the partner; the actor answers it."""
    return write(both_ways.partner, "You carried the groceries up four floors.", about_partner=True)


def test_partner_hearts_and_replies_author_sees_it(entry, both_ways, client_of):
    url = reverse("journal:appreciate", args=[entry.pk])
    response = client_of(both_ways.actor).post(url, {"heart": "on", "reply": "Any time ❤"})
    assert response.status_code == 302
    author = client_of(both_ways.partner)
    page = author.get(reverse("journal:entry", args=[entry.pk])).content.decode()
    assert "Any time ❤" in page
    assert "A heart" in page
    assert f"<strong>{both_ways.actor.name}</strong>" in page
    listing = author.get(reverse("journal:index")).content.decode()
    assert "Any time ❤" in listing


def test_replayed_reply_form_changes_nothing(entry, both_ways, client_of):
    client = client_of(both_ways.actor)
    url = reverse("journal:appreciate", args=[entry.pk])
    data = {"heart": "on", "reply": "Thank you"}
    client.post(url, data)
    first = Appreciation.objects.get()
    client.post(url, data)
    client.post(url, data)
    assert Appreciation.objects.count() == 1
    again = Appreciation.objects.get()
    assert (again.pk, again.reply, again.updated_at) == (first.pk, "Thank you", first.updated_at)
    assert again.from_user == both_ways.actor


def test_answering_again_updates_the_one_reply(entry, both_ways):
    services.entry_appreciate(entry=entry, user=both_ways.actor, heart=True, reply="First")
    services.entry_appreciate(
        entry=entry, user=both_ways.actor, heart=False, reply="Second thought"
    )
    row = Appreciation.objects.get()
    assert (row.heart, row.reply) == (False, "Second thought")


def test_author_cannot_answer_own_entry(entry, both_ways, client_of):
    author = both_ways.partner
    response = client_of(author).post(
        reverse("journal:appreciate", args=[entry.pk]), {"heart": "on"}
    )
    assert response.status_code == 400
    with pytest.raises(services.JournalError):
        services.entry_appreciate(entry=entry, user=author)
    assert not Appreciation.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reply": "x" * 281}, "at most 280"),
        ({}, "Send a heart or write a short reply."),
        ({"reply": "   "}, "Send a heart or write a short reply."),
    ],
)
def test_bad_reply_is_a_clear_error(entry, both_ways, client_of, data, message):
    response = client_of(both_ways.actor).post(reverse("journal:appreciate", args=[entry.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Appreciation.objects.exists()


def test_reply_is_escaped(entry, both_ways, client_of):
    client_of(both_ways.actor).post(
        reverse("journal:appreciate", args=[entry.pk]),
        {"heart": "on", "reply": "<img src=x onerror=alert(1)>"},
    )
    page = (
        client_of(both_ways.partner).get(reverse("journal:entry", args=[entry.pk])).content.decode()
    )
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_next_redirect_stays_on_site(entry, both_ways, client_of):
    url = reverse("journal:appreciate", args=[entry.pk])
    response = client_of(both_ways.actor).post(
        url, {"heart": "on", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("journal:entry", args=[entry.pk])
