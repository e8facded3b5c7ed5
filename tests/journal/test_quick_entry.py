"""The dashboard's quick entry brings the writer back to the dashboard."""

import re

import pytest
from django.urls import reverse

from apps.journal.models import Entry

WRITE = "/journal/write/"


def _next_field(page: str) -> str | None:
    match = re.search(r'<input type="hidden" name="next" value="([^"]*)"', page)
    return match.group(1) if match else None


def test_dashboard_form_carries_where_the_writer_is(alice_client):
    page = alice_client.get(reverse("home:dashboard")).content.decode()
    assert _next_field(page) == reverse("home:dashboard")


def test_quick_entry_returns_to_the_dashboard(both_ways, client_of):
    writer, partner = client_of(both_ways.actor), client_of(both_ways.partner)
    dashboard = reverse("home:dashboard")
    response = writer.post(WRITE, {"text": "The kettle was already on.", "next": dashboard})
    assert response.status_code == 302
    assert response["Location"] == dashboard
    assert "Saved and shared." in writer.get(dashboard).content.decode()
    # The partner's dashboard shows it too.
    partner_page = partner.get(dashboard).content.decode()
    assert "The kettle was already on." in partner_page


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "home:dashboard",
        " https://evil.example/",
    ],
)
def test_an_unsafe_next_falls_back_to_the_journal(alice_client, target):
    response = alice_client.post(WRITE, {"text": "Still saved.", "next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("journal:index")
    assert Entry.objects.get().text == "Still saved."


def test_without_next_the_write_page_goes_to_the_journal(alice_client):
    response = alice_client.post(WRITE, {"text": "From the write page."})
    assert response["Location"] == reverse("journal:index")


def test_a_mistake_keeps_the_way_back(alice_client):
    dashboard = reverse("home:dashboard")
    response = alice_client.post(WRITE, {"text": "  ", "next": dashboard})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Write a few words first." in page
    assert _next_field(page) == dashboard
    assert not Entry.objects.exists()
    # An unsafe one is not carried on.
    page = alice_client.post(WRITE, {"text": "", "next": "//evil.example/"}).content.decode()
    assert _next_field(page) is None
    response = alice_client.post(WRITE, {"text": "Now with words.", "next": dashboard})
    assert response["Location"] == dashboard
