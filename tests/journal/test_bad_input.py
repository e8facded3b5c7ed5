"""Bad input gets a clear message or a 404 and changes nothing."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from apps.journal import services
from apps.journal.models import Entry

WRITE = "/journal/write/"


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_empty_entry_is_refused(alice_client, text):
    response = alice_client.post(WRITE, {"text": text})
    assert response.status_code == 200
    assert "Write a few words first." in response.content.decode()
    assert not Entry.objects.exists()


def test_100_kb_entry_is_refused(alice_client):
    response = alice_client.post(WRITE, {"text": "a" * 100_000})
    assert response.status_code == 200
    assert "at most 5000 characters" in response.content.decode()
    assert not Entry.objects.exists()


def test_service_refuses_too_long_and_database_agrees(alice):
    with pytest.raises(services.JournalError):
        services.entry_create(author=alice, text="b" * 5001)
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(space=alice.space, author=alice, text="c" * 5001, day="2026-01-01")
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(space=alice.space, author=alice, text="", day="2026-01-01")
    assert not Entry.objects.exists()


def test_exactly_the_limit_is_fine(alice_client):
    assert alice_client.post(WRITE, {"text": "d" * 5000}).status_code == 302
    assert len(Entry.objects.get().text) == 5000


def test_html_and_script_are_shown_as_text(both_ways, client_of):
    text = '<script>alert("hi")</script><b>bold</b>'
    client_of(both_ways.actor).post(WRITE, {"text": text})
    entry = Entry.objects.get()
    assert entry.text == text
    partner = client_of(both_ways.partner)
    for page in (
        partner.get("/journal/").content.decode(),
        partner.get(reverse("journal:entry", args=[entry.pk])).content.decode(),
        partner.get(reverse("home:dashboard")).content.decode(),
    ):
        assert "<script>alert" not in page
        assert "<b>bold</b>" not in page
        assert "&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt;" in page


def test_emoji_and_right_to_left_text_round_trip(both_ways, client_of):
    text = "شكراً على القهوة ☕ — תודה 🙏🏽 for the 👩‍❤️‍👨 evening"
    client_of(both_ways.actor).post(WRITE, {"text": text})
    entry = Entry.objects.get()
    assert entry.text == text
    partner = client_of(both_ways.partner)
    page = partner.get(reverse("journal:entry", args=[entry.pk])).content.decode()
    assert text in page
    assert 'dir="auto"' in page
    found = partner.get("/journal/", {"q": "القهوة"}).context["entries"]
    assert [e.pk for e in found] == [entry.pk]


def test_nul_character_is_refused(alice_client):
    response = alice_client.post(WRITE, {"text": "bad\x00byte"})
    assert response.status_code == 200
    assert not Entry.objects.exists()


def test_unknown_prompt_key_is_dropped(alice_client):
    alice_client.post(WRITE, {"text": "fine", "prompt_key": "no-such-prompt"})
    assert Entry.objects.get().prompt_key == ""


def test_written_from_prompt_keeps_the_prompt(alice_client):
    key = alice_client.get(WRITE).context["prompt"].key
    alice_client.post(WRITE, {"text": "answered", "prompt_key": key, "answer_prompt": "on"})
    assert Entry.objects.get().prompt_key == key


def test_bad_edit_changes_nothing(alice, alice_client):
    entry = services.entry_create(author=alice, text="original")
    url = reverse("journal:edit", args=[entry.pk])
    for text in ["", "e" * 100_000]:
        response = alice_client.post(url, {"text": text})
        assert response.status_code == 200
        assert response.context["form"].errors["text"]
    entry.refresh_from_db()
    assert entry.text == "original"


def test_quick_entry_from_the_dashboard(alice_client):
    page = alice_client.get(reverse("home:dashboard"))
    key = page.context["journal"]["prompt"].key
    response = alice_client.post(
        WRITE, {"text": "quick one", "prompt_key": key, "answer_prompt": "on"}
    )
    assert response.status_code == 302
    assert Entry.objects.get().prompt_key == key
