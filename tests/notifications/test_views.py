"""The unsubscribe page (GET shows, POST acts; RFC 8058 one-click) and the local mailbox."""

from __future__ import annotations

import pytest
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.management import call_command
from django.test import Client

from apps.notifications import services
from apps.notifications.mailbox import local_messages
from apps.notifications.models import Category, EmailOptOut


def unsubscribe_path(user, category=Category.REMINDERS):
    token = services.unsubscribe_token(user_id=user.pk, category=category)
    return f"/email/unsubscribe/{token}/"


def test_get_shows_a_confirmation_page_and_changes_nothing(client, alice):
    response = client.get(unsubscribe_path(alice))

    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1" in body and 'method="post"' in body
    assert "ritual reminders" in body
    assert not EmailOptOut.objects.exists()


def test_post_from_the_page_opts_out_of_that_category_only(client, alice):
    response = client.post(unsubscribe_path(alice, Category.JOURNAL))

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert list(EmailOptOut.objects.values_list("user", "category")) == [
        (alice.pk, Category.JOURNAL)
    ]
    assert services.is_subscribed(user=alice, category=Category.REMINDERS)


def test_one_click_post_without_csrf_token_or_session_works(alice):
    """RFC 8058: the mail client POSTs List-Unsubscribe=One-Click, no cookie, no token."""
    mail_client = Client(enforce_csrf_checks=True)

    response = mail_client.post(
        unsubscribe_path(alice, Category.VAULT),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert not services.is_subscribed(user=alice, category=Category.VAULT)
    # Repeating it is harmless.
    assert mail_client.post(unsubscribe_path(alice, Category.VAULT)).status_code == 200
    assert EmailOptOut.objects.filter(user=alice).count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_or_forged_tokens_get_a_404_page_and_change_nothing(client, alice, method):
    good = services.unsubscribe_token(user_id=alice.pk, category=Category.REMINDERS)
    forged = signing.dumps(
        {"u": alice.pk, "c": Category.REMINDERS}, key="x" * 50, salt=services.UNSUBSCRIBE_SALT
    )
    account = signing.dumps({"u": alice.pk, "c": "account"}, salt=services.UNSUBSCRIBE_SALT)
    tampered = good.replace(":", ";", 1) if ":" in good else good + "x"
    flipped = good[:-1] + ("A" if good[-1] != "A" else "B")
    for token in (tampered, flipped, forged, account, "not-a-token"):
        response = getattr(client, method)(f"/email/unsubscribe/{token}/")
        assert response.status_code == 404, token
        assert "This link is not valid" in response.content.decode()
    assert not EmailOptOut.objects.exists()


def test_token_of_a_deleted_account_is_a_404(client, alice):
    path = unsubscribe_path(alice)
    alice.delete()

    assert client.post(path).status_code == 404
    assert not EmailOptOut.objects.exists()


def test_other_methods_are_refused(client, alice):
    assert client.put(unsubscribe_path(alice)).status_code == 405
    assert not EmailOptOut.objects.exists()


# --- The local mailbox (the embedded default's e-mail) ------------------------------------------


@pytest.fixture
def maildir(settings, tmp_path):
    settings.EMAIL_BACKEND = "apps.notifications.backends.MaildirBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    return tmp_path / "mail"


def send_local(to, subject):
    message = EmailMultiAlternatives(
        subject=subject, body=f"Plain words for {to}", to=[to], connection=get_connection()
    )
    message.attach_alternative(f"<p>HTML words for {to}</p>", "text/html")
    message.send()


def test_maildir_backend_stores_messages_that_the_mailbox_lists(maildir):
    send_local("one@example.com", "First message")
    send_local("two@example.com", "Second message")

    messages = local_messages()
    assert {m.subject for m in messages} == {"First message", "Second message"}
    first = next(m for m in messages if m.subject == "First message")
    assert first.to == "one@example.com"
    assert first.text.strip() == "Plain words for one@example.com"
    assert "<p>HTML words for one@example.com</p>" in first.html
    assert len(list((maildir / "new").iterdir())) == 2


def test_mailbox_command_lists_and_shows_messages(maildir, capsys):
    call_command("mailbox")
    assert "The local mailbox is empty." in capsys.readouterr().out

    send_local("one@example.com", "Confirm your address")
    call_command("mailbox")
    out = capsys.readouterr().out
    assert "one@example.com" in out and "Confirm your address" in out

    call_command("mailbox", "1")
    out = capsys.readouterr().out
    assert "Subject: Confirm your address" in out
    assert "Plain words for one@example.com" in out

    with pytest.raises(SystemExit):
        call_command("mailbox", "9")


def test_mailbox_page_works_only_in_debug(client, maildir, settings, db):
    send_local("one@example.com", "Your sign-in link")

    settings.DEBUG = False
    assert client.get("/email/mailbox/").status_code == 404

    settings.DEBUG = True
    response = client.get("/email/mailbox/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Your sign-in link" in body
    key = local_messages()[0].key
    detail = client.get("/email/mailbox/", {"m": key})
    assert "Plain words for" in detail.content.decode()


def test_mailbox_page_is_off_with_a_real_mail_server(client, settings, db):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert client.get("/email/mailbox/").status_code == 404


def test_a_link_older_than_a_year_has_expired_and_changes_nothing(client, alice):
    import datetime as dt

    import time_machine

    start = dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        path = unsubscribe_path(alice)
    with time_machine.travel(start + dt.timedelta(days=364), tick=False):
        assert client.get(path).status_code == 200
    with time_machine.travel(start + dt.timedelta(days=366), tick=False):
        response = client.post(path)
    assert response.status_code == 404
    assert "more than a year old" in response.content.decode()
    assert not EmailOptOut.objects.exists()
