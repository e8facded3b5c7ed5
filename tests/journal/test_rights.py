"""Only the author edits or deletes; anyone else gets a 404 and nothing changes."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.journal import services
from apps.journal.models import Entry


@pytest.fixture
def alices(alice, write):
    return write(alice, "Alice's own words")


@pytest.mark.parametrize("name", ["journal:edit", "journal:delete"])
def test_partner_cannot_edit_or_delete(bob_client, alices, name):
    url = reverse(name, args=[alices.pk])
    assert bob_client.get(url).status_code == 404
    assert bob_client.post(url, {"text": "Changed by Bob"}).status_code == 404
    alices.refresh_from_db()
    assert alices.text == "Alice's own words"


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


def test_author_edits(alice_client, alices):
    url = reverse("journal:edit", args=[alices.pk])
    assert alice_client.get(url).status_code == 200
    response = alice_client.post(url, {"text": "Better words", "is_private": "on"})
    assert response.status_code == 302
    alices.refresh_from_db()
    assert (alices.text, alices.is_private) == ("Better words", True)


def test_delete_asks_for_confirmation_first(alice_client, alices):
    url = reverse("journal:delete", args=[alices.pk])
    page = alice_client.get(url)
    assert page.status_code == 200
    assert b"Delete this entry?" in page.content
    assert Entry.objects.filter(pk=alices.pk).exists()
    assert alice_client.post(url).status_code == 302
    assert not Entry.objects.filter(pk=alices.pk).exists()


def test_services_refuse_someone_else(alice, bob, alices):
    with pytest.raises(services.JournalError):
        services.entry_update(
            entry=alices, user=bob, text="x", about_partner=False, is_private=False
        )
    with pytest.raises(services.JournalError):
        services.entry_delete(entry=alices, user=bob)
    assert Entry.objects.filter(pk=alices.pk, text="Alice's own words").exists()


def test_signed_out_is_sent_to_sign_in(client, alices):
    response = client.get(reverse("journal:index"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
