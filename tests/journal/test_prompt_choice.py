"""A prompt belongs to an entry only when the writer chose to answer it.

The day's prompt travels with the form (so "Another prompt" can be answered too), but
an entry saved without ticking "I'm answering this prompt" has no prompt: the partner
sees no prompt above it.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape

from apps.journal import selectors
from apps.journal.models import Entry

# Monday 16 November 2026, 09:00 UTC (10:00 in Berlin, the space's zone).
NOW = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _article(page: str, text: str) -> str:
    """The HTML of the one entry card (list or detail) that holds ``text``."""
    cards = re.findall(r'<article[^>]*data-testid="entry".*?</article>', page, re.S)
    found = [c for c in cards if escape(text) in c]
    assert len(found) == 1, f"{len(found)} entry cards hold {text!r}"
    return found[0]


def _partner_sees(client, entry: Entry, text: str) -> list[str]:
    """The entry's card on the partner's journal page and on its own page."""
    listing = client.get(reverse("journal:index")).content.decode()
    detail = client.get(reverse("journal:entry", args=[entry.pk])).content.decode()
    return [_article(listing, text), _article(detail, text)]


def _write_form(client, **params):
    response = client.get(reverse("journal:write"), params)
    assert response.status_code == 200
    return response.context["prompt"]


def test_entry_that_ignored_the_prompt_has_no_prompt(both_ways, client_of):
    writer, partner = client_of(both_ways.actor), client_of(both_ways.partner)
    prompt = _write_form(writer)
    text = "The sun came out on the walk home."
    # What the browser sends when the box is left unticked: the hidden prompt key only.
    response = writer.post(reverse("journal:write"), {"text": text, "prompt_key": prompt.key})
    assert response.status_code == 302
    entry = Entry.objects.get(text=text)
    assert entry.prompt_key == ""
    for card in _partner_sees(partner, entry, text):
        assert escape(prompt.text) not in card
        assert "journal-prompt" not in card


def test_entry_that_answered_the_prompt_shows_it(both_ways, client_of):
    writer, partner = client_of(both_ways.actor), client_of(both_ways.partner)
    prompt = _write_form(writer)
    text = "You remembered my sister's exam and asked how it went."
    response = writer.post(
        reverse("journal:write"),
        {"text": text, "prompt_key": prompt.key, "answer_prompt": "on"},
    )
    assert response.status_code == 302
    entry = Entry.objects.get(text=text)
    assert entry.prompt_key == prompt.key
    for card in _partner_sees(partner, entry, text):
        assert escape(prompt.text) in card


def test_another_prompt_can_be_answered(both_ways, client_of):
    writer, partner = client_of(both_ways.actor), client_of(both_ways.partner)
    other = _write_form(writer, another="2")
    assert other != selectors.today_prompt(space=both_ways.actor.space)
    text = "A second prompt, answered."
    writer.post(
        reverse("journal:write"), {"text": text, "prompt_key": other.key, "answer_prompt": "on"}
    )
    entry = Entry.objects.get(text=text)
    assert entry.prompt_key == other.key
    for card in _partner_sees(partner, entry, text):
        assert escape(other.text) in card


def test_quick_entry_from_the_dashboard_answers_only_when_chosen(both_ways, client_of):
    writer, partner = client_of(both_ways.actor), client_of(both_ways.partner)
    prompt = selectors.today_prompt(space=both_ways.actor.space)
    url = reverse("journal:write")
    writer.post(url, {"text": "Quick, no prompt.", "prompt_key": prompt.key, "next": "/"})
    writer.post(
        url,
        {"text": "Quick, answered.", "prompt_key": prompt.key, "answer_prompt": "on", "next": "/"},
    )
    ignored = Entry.objects.get(text="Quick, no prompt.")
    answered = Entry.objects.get(text="Quick, answered.")
    assert (ignored.prompt_key, answered.prompt_key) == ("", prompt.key)
    assert escape(prompt.text) not in _partner_sees(partner, ignored, "Quick, no prompt.")[1]
    assert escape(prompt.text) in _partner_sees(partner, answered, "Quick, answered.")[1]


def test_the_choice_is_a_labelled_checkbox_left_unticked(alice_client):
    page = alice_client.get(reverse("journal:write")).content.decode()
    box = re.search(r'<input[^>]*name="answer_prompt"[^>]*>', page)
    assert box, "no answer_prompt control on the write page"
    assert 'type="checkbox"' in box.group(0)
    assert "checked" not in box.group(0)
    assert re.search(r'<label[^>]*for="id_answer_prompt"[^>]*>\s*I&#x27;m answering', page)
    dashboard = alice_client.get(reverse("home:dashboard")).content.decode()
    quick = re.search(r'<input[^>]*name="answer_prompt"[^>]*>', dashboard)
    assert quick and "checked" not in quick.group(0)
    assert 'for="id_quick_answer"' in dashboard


def test_answer_it_link_comes_with_the_box_ticked(alice_client):
    """ "Answer it" under today's prompt is itself the choice; the box can still be unticked."""
    index = alice_client.get(reverse("journal:index")).content.decode()
    assert 'href="/journal/write/?answer=1"' in index
    page = alice_client.get(reverse("journal:write"), {"answer": "1"}).content.decode()
    box = re.search(r'<input[^>]*name="answer_prompt"[^>]*>', page).group(0)
    assert "checked" in box


@pytest.mark.parametrize("key", ["", "no-such-prompt", "x" * 41])
def test_answering_an_unknown_prompt_saves_without_one(alice, alice_client, key):
    response = alice_client.post(
        reverse("journal:write"), {"text": "Still saved.", "prompt_key": key, "answer_prompt": "on"}
    )
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert Entry.objects.get().prompt_key == ""
    else:
        assert not Entry.objects.exists()


def test_author_can_take_the_prompt_off_an_entry(both_ways, client_of, write):
    """Entries labelled before the choice existed: unticking on edit removes the label."""
    prompt = selectors.today_prompt(space=both_ways.actor.space)
    entry = write(both_ways.actor, "Labelled without asking.", prompt_key=prompt.key)
    writer, partner = client_of(both_ways.actor), client_of(both_ways.partner)
    url = reverse("journal:edit", args=[entry.pk])
    page = writer.get(url).content.decode()
    box = re.search(r'<input[^>]*name="answer_prompt"[^>]*>', page).group(0)
    assert "checked" in box
    assert escape(prompt.text) in page
    assert writer.post(url, {"text": entry.text}).status_code == 302
    entry.refresh_from_db()
    assert entry.prompt_key == ""
    for card in _partner_sees(partner, entry, entry.text):
        assert escape(prompt.text) not in card


def test_editing_keeps_an_answered_prompt(alice, alice_client, write):
    prompt = selectors.today_prompt(space=alice.space)
    entry = write(alice, "Answered.", prompt_key=prompt.key)
    url = reverse("journal:edit", args=[entry.pk])
    alice_client.post(url, {"text": "Answered, better.", "answer_prompt": "on"})
    entry.refresh_from_db()
    assert (entry.text, entry.prompt_key) == ("Answered, better.", prompt.key)
    # An entry without a prompt gets no box, and a forged tick adds none.
    plain = write(alice, "No prompt.")
    url = reverse("journal:edit", args=[plain.pk])
    assert 'name="answer_prompt"' not in alice_client.get(url).content.decode()
    alice_client.post(url, {"text": "No prompt.", "answer_prompt": "on"})
    plain.refresh_from_db()
    assert plain.prompt_key == ""
