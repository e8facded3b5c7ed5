import pytest
from django.urls import reverse

from apps.journal import services
from apps.journal.models import Appreciation


@pytest.fixture
def entry(alice, write):
    return write(alice, "Bob carried the groceries up four floors.", about_partner=True)


def test_partner_hearts_and_replies_author_sees_it(entry, bob_client, alice_client):
    url = reverse("journal:appreciate", args=[entry.pk])
    response = bob_client.post(url, {"heart": "on", "reply": "Any time ❤"})
    assert response.status_code == 302
    page = alice_client.get(reverse("journal:entry", args=[entry.pk])).content.decode()
    assert "Any time ❤" in page
    assert "A heart" in page
    listing = alice_client.get(reverse("journal:index")).content.decode()
    assert "Any time ❤" in listing


def test_replayed_reply_form_changes_nothing(entry, bob, bob_client):
    url = reverse("journal:appreciate", args=[entry.pk])
    data = {"heart": "on", "reply": "Thank you"}
    bob_client.post(url, data)
    first = Appreciation.objects.get()
    bob_client.post(url, data)
    bob_client.post(url, data)
    assert Appreciation.objects.count() == 1
    again = Appreciation.objects.get()
    assert (again.pk, again.reply, again.updated_at) == (first.pk, "Thank you", first.updated_at)


def test_answering_again_updates_the_one_reply(entry, bob):
    services.entry_appreciate(entry=entry, user=bob, heart=True, reply="First")
    services.entry_appreciate(entry=entry, user=bob, heart=False, reply="Second thought")
    row = Appreciation.objects.get()
    assert (row.heart, row.reply) == (False, "Second thought")


def test_author_cannot_answer_own_entry(entry, alice, alice_client):
    response = alice_client.post(reverse("journal:appreciate", args=[entry.pk]), {"heart": "on"})
    assert response.status_code == 400
    with pytest.raises(services.JournalError):
        services.entry_appreciate(entry=entry, user=alice)
    assert not Appreciation.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reply": "x" * 281}, "at most 280"),
        ({}, "Send a heart or write a short reply."),
        ({"reply": "   "}, "Send a heart or write a short reply."),
    ],
)
def test_bad_reply_is_a_clear_error(entry, bob_client, data, message):
    response = bob_client.post(reverse("journal:appreciate", args=[entry.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Appreciation.objects.exists()


def test_reply_is_escaped(entry, bob_client, alice_client):
    bob_client.post(
        reverse("journal:appreciate", args=[entry.pk]),
        {"heart": "on", "reply": "<img src=x onerror=alert(1)>"},
    )
    page = alice_client.get(reverse("journal:entry", args=[entry.pk])).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_next_redirect_stays_on_site(entry, bob_client):
    url = reverse("journal:appreciate", args=[entry.pk])
    response = bob_client.post(url, {"heart": "on", "next": "https://evil.example/"})
    assert response["Location"] == reverse("journal:entry", args=[entry.pk])
