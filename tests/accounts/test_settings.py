"""The settings page: display name, own time zone, which e-mails, a test e-mail."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail

from apps.notifications.models import Category, EmailOptOut, OutboundEmail
from apps.notifications.services import is_subscribed

NOW = dt.datetime(2026, 5, 4, 9, 30, 15, tzinfo=dt.UTC)


def test_settings_page_renders_with_labelled_fields(alice_client):
    response = alice_client.get("/settings/")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<h1") == 1
    for field in ("id_display_name", "id_time_zone"):
        assert f'for="{field}"' in body


def test_profile_is_saved(alice_client, alice):
    response = alice_client.post(
        "/settings/",
        {"form": "profile", "display_name": "  Ally  ", "time_zone": "Asia/Tokyo"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.display_name, alice.time_zone, alice.zone) == ("Ally", "Asia/Tokyo", "Asia/Tokyo")


def test_blank_zone_means_the_spaces_zone(alice_client, alice, space):
    alice_client.post("/settings/", {"form": "profile", "display_name": "A", "time_zone": ""})
    alice.refresh_from_db()
    assert alice.time_zone == ""
    assert alice.zone == space.time_zone


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"display_name": "Al", "time_zone": "Atlantis/Capital"}, "time_zone"),
        ({"display_name": "Al", "time_zone": "x" * 300}, "time_zone"),
        ({"display_name": "A" * 61, "time_zone": "UTC"}, "display_name"),
    ],
)
def test_bad_profile_input_is_refused_and_nothing_changes(alice_client, alice, data, field):
    response = alice_client.post("/settings/", {"form": "profile", **data})
    assert response.status_code == 200
    assert response.context["profile_form"].errors[field]
    body = response.content.decode()
    assert "invalid-feedback" in body
    alice.refresh_from_db()
    assert (alice.display_name, alice.time_zone) == ("Alice", "")


def test_unknown_zone_gets_a_clear_message(alice_client):
    response = alice_client.post(
        "/settings/", {"form": "profile", "display_name": "Al", "time_zone": "Atlantis/Capital"}
    )
    assert "Pick a time zone from the list" in response.content.decode()


def test_email_categories_can_be_turned_off_and_on(alice_client, alice):
    alice_client.post("/settings/", {"form": "emails", "categories": ["journal"]})
    assert not is_subscribed(user=alice, category=Category.REMINDERS)
    assert is_subscribed(user=alice, category=Category.JOURNAL)
    assert not is_subscribed(user=alice, category=Category.VAULT)
    assert is_subscribed(user=alice, category=Category.ACCOUNT)

    page = alice_client.get("/settings/").content.decode()
    assert re.search(r'<input[^>]*value="journal"[^>]*checked', page)
    assert not re.search(r'<input[^>]*value="reminders"[^>]*checked', page)

    alice_client.post(
        "/settings/", {"form": "emails", "categories": ["reminders", "journal", "vault"]}
    )
    assert not EmailOptOut.objects.filter(user=alice).exists()


def test_unknown_email_category_is_refused(alice_client, alice):
    response = alice_client.post("/settings/", {"form": "emails", "categories": ["account"]})
    assert response.status_code == 200
    assert response.context["prefs_form"].errors["categories"]
    assert not EmailOptOut.objects.filter(user=alice).exists()


def test_test_email_is_sent_at_most_once_a_minute(
    alice_client, alice, django_capture_on_commit_callbacks
):
    def click():
        with django_capture_on_commit_callbacks(execute=True):
            return alice_client.post("/settings/test-email/", follow=True)

    with time_machine.travel(NOW, tick=False):
        first = click()
        second = click()
    assert "on its way" in first.content.decode()
    assert "less than a minute ago" in second.content.decode()
    with time_machine.travel(NOW + dt.timedelta(seconds=59), tick=False):
        click()  # across the calendar minute, still within the minute: refused
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [alice.email]
    assert mail.outbox[0].subject == "Keepsake test e-mail"

    with time_machine.travel(NOW + dt.timedelta(seconds=61), tick=False):
        click()
    assert len(mail.outbox) == 2
    assert OutboundEmail.objects.filter(user=alice, template="test").count() == 2


def test_test_email_needs_a_post(alice_client):
    assert alice_client.get("/settings/test-email/").status_code == 405
    assert not OutboundEmail.objects.exists()


def test_failed_emails_are_shown(alice_client, alice):
    OutboundEmail.objects.create(
        dedupe_key="x",
        user=alice,
        to_email=alice.email,
        category=Category.REMINDERS,
        template="test",
        subject="Morning walk",
        body_text="-",
        status=OutboundEmail.Status.FAILED,
        last_error="SMTPRecipientsRefused: 550 mailbox unavailable",
    )
    body = alice_client.get("/settings/").content.decode()
    assert f"We could not reach you at {alice.email}" in body
    assert "550 mailbox unavailable" in body
    assert "Morning walk" in body


def test_no_warning_without_failed_emails(alice_client):
    assert "could not reach you" not in alice_client.get("/settings/").content.decode()


def test_settings_need_sign_in(client, db):
    assert client.get("/settings/")["Location"].startswith("/accounts/login/")


def test_test_email_text_is_not_html_escaped(
    alice_client, alice, django_capture_on_commit_callbacks
):
    alice.display_name = "Zoë O'Brien & co"
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post("/settings/test-email/")
    [message] = mail.outbox
    assert "Hello Zoë O'Brien & co," in message.body
    assert "O&#x27;Brien &amp; co" in message.alternatives[0][0]


def test_failed_email_names_the_address_that_failed(alice_client, alice):
    OutboundEmail.objects.create(
        dedupe_key="old",
        user=alice,
        to_email="old-address@example.com",
        category=Category.ACCOUNT,
        template="test",
        subject="s",
        body_text="-",
        status=OutboundEmail.Status.FAILED,
        last_error="550 no such user",
    )
    body = alice_client.get("/settings/").content.decode()
    assert "We could not reach you at old-address@example.com" in body
