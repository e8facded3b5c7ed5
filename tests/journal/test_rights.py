"""Only the author edits or deletes; anyone else gets a 404 and nothing changes."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.journal import services
from apps.journal.models import Entry


@pytest.fixture
def alices(alice, write):
    return write(alice, "Alice's own words")


@pytest.fixture
def actors(both_ways, write):
    """An entry of the actor's; the partner is the one who tries to change it."""
    return write(both_ways.actor, "The author's own words")


@pytest.mark.parametrize("name", ["journal:edit", "journal:delete"])
def test_partner_cannot_edit_or_delete(both_ways, client_of, actors, name):
    partner = client_of(both_ways.partner)
    url = reverse(name, args=[actors.pk])
    assert partner.get(url).status_code == 404
    assert partner.post(url, {"text": "Changed by the partner"}).status_code == 404
    actors.refresh_from_db()
    assert actors.text == "The author's own words"


@pytest.mark.parametrize(
    "name", ["journal:entry", "journal:edit", "journal:delete", "journal:appreciate"]
)
def test_foreign_entry_id_is_404(stranger, alices, name):
    client = Client()
    client.force_login(stranger)
    url = reverse(name, args=[alices.pk])
    if name != "journal:appreciate":
        assert client.get(url).status_code == 404
    if name != "journal:entry":
        assert client.post(url, {"heart": "on", "text": "x"}).status_code == 404
    assert Entry.objects.filter(pk=alices.pk, text="Alice's own words").exists()
    assert not alices.appreciations.exists()


def test_unknown_entry_id_is_404(alice_client):
    assert alice_client.get(reverse("journal:entry", args=[999999])).status_code == 404


def test_author_edits(both_ways, client_of, actors):
    author = client_of(both_ways.actor)
    url = reverse("journal:edit", args=[actors.pk])
    assert author.get(url).status_code == 200
    response = author.post(url, {"text": "Better words", "is_private": "on"})
    assert response.status_code == 302
    actors.refresh_from_db()
    assert (actors.text, actors.is_private) == ("Better words", True)


def test_delete_asks_for_confirmation_first(alice_client, alices):
    url = reverse("journal:delete", args=[alices.pk])
    page = alice_client.get(url)
    assert page.status_code == 200
    assert b"Delete this entry?" in page.content
    assert Entry.objects.filter(pk=alices.pk).exists()
    assert alice_client.post(url).status_code == 302
    assert not Entry.objects.filter(pk=alices.pk).exists()


def test_services_refuse_someone_else(both_ways, actors):
    with pytest.raises(services.JournalError):
        services.entry_update(
            entry=actors, user=both_ways.partner, text="x", about_partner=False, is_private=False
        )
    with pytest.raises(services.JournalError):
        services.entry_delete(entry=actors, user=both_ways.partner)
    assert Entry.objects.filter(pk=actors.pk, text="The author's own words").exists()


def test_signed_out_is_sent_to_sign_in(client, alices):
    response = client.get(reverse("journal:index"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
