"""Queueing e-mail: templates, idempotency, preferences and unsubscribe headers."""

from __future__ import annotations

import re
import threading

import pytest
from django.core import mail, signing
from django.db import connection

from apps.notifications import services
from apps.notifications.models import Category, EmailOptOut, OutboundEmail


def enqueue_test_mail(user, *, key="test:1", category=Category.REMINDERS):
    return services.email_enqueue(
        to_email=user.email,
        template="test",
        context={"name": user.name},
        dedupe_key=key,
        category=category,
        user=user,
    )


def test_enqueue_renders_subject_text_and_html_from_templates(alice):
    row = enqueue_test_mail(alice)

    assert row.status == OutboundEmail.Status.PENDING
    assert row.subject == "Keepsake test e-mail"
    assert "Hello Alice," in row.body_text
    assert "<p>Hello Alice,</p>" in row.body_html
    # The HTML part extends the shared layout, which links back to the app.
    assert '<html lang="en">' in row.body_html
    assert 'href="http://' in row.body_html


def test_enqueue_is_idempotent_per_dedupe_key(alice):
    first = enqueue_test_mail(alice, key="ritual:7:2026-11-23")
    again = enqueue_test_mail(alice, key="ritual:7:2026-11-23")
    other = enqueue_test_mail(alice, key="ritual:7:2026-11-24")

    assert again.pk == first.pk
    assert other.pk != first.pk
    assert OutboundEmail.objects.count() == 2


def test_opted_out_category_is_recorded_as_skipped_and_never_sent(
    alice, django_capture_on_commit_callbacks
):
    EmailOptOut.objects.create(user=alice, category=Category.REMINDERS)

    with django_capture_on_commit_callbacks(execute=True):
        row = enqueue_test_mail(alice)
    assert row.status == OutboundEmail.Status.SKIPPED
    assert services.outbox_deliver_due() == 0
    assert mail.outbox == []


def test_account_mail_ignores_opt_outs_and_carries_no_unsubscribe_header(alice):
    for category in [
        Category.REMINDERS,
        Category.JOURNAL,
        Category.VAULT,
    ]:
        EmailOptOut.objects.get_or_create(user=alice, category=category)

    row = enqueue_test_mail(alice, category=Category.ACCOUNT)

    assert row.status == OutboundEmail.Status.PENDING
    assert row.headers == {}


def test_non_account_mail_carries_one_click_unsubscribe_headers(
    alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        row = enqueue_test_mail(alice, category=Category.JOURNAL)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(.+)>", message.extra_headers["List-Unsubscribe"]).group(1)
    assert url.startswith("http://") or url.startswith("https://")
    token = re.search(r"/email/unsubscribe/([^/]+)/$", url).group(1)
    assert services.unsubscribe_token_read(token) == (alice.pk, Category.JOURNAL)
    # Both parts went out, and the HTML part offers the same link.
    assert message.body == row.body_text
    assert message.alternatives[0][1] == "text/html"
    assert url in message.alternatives[0][0]
    OutboundEmail.objects.get(pk=row.pk, status=OutboundEmail.Status.SENT)


def test_unsubscribe_token_rejects_tampering_and_account_category(alice):
    good = services.unsubscribe_token(user_id=alice.pk, category=Category.VAULT)
    assert services.unsubscribe_token_read(good) == (alice.pk, Category.VAULT)

    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    forged = signing.dumps(
        {"u": alice.pk, "c": Category.VAULT}, key="not-the-secret", salt=services.UNSUBSCRIBE_SALT
    )
    account = signing.dumps({"u": alice.pk, "c": "account"}, salt=services.UNSUBSCRIBE_SALT)
    other_salt = signing.dumps({"u": alice.pk, "c": Category.VAULT})
    for bad in (tampered, forged, account, other_salt, "", "garbage"):
        with pytest.raises(signing.BadSignature):
            services.unsubscribe_token_read(bad)


def test_preferences_set_keeps_exactly_the_enabled_categories(alice):
    services.preferences_set(user=alice, enabled=[Category.REMINDERS])

    assert services.is_subscribed(user=alice, category=Category.REMINDERS)
    assert not services.is_subscribed(user=alice, category=Category.JOURNAL)
    assert not services.is_subscribed(user=alice, category=Category.VAULT)
    assert services.is_subscribed(user=alice, category=Category.ACCOUNT)


def test_opting_out_after_queueing_skips_the_pending_row(alice):
    row = enqueue_test_mail(alice)
    services.unsubscribe(user_id=alice.pk, category=Category.REMINDERS)

    assert services.outbox_deliver_due() == 0
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SKIPPED
    assert mail.outbox == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_enqueue_with_one_key_makes_one_row_on_postgres(postgres, alice):
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(enqueue_test_mail(alice, key="race:1").pk)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    assert len(set(results)) == 1
    assert OutboundEmail.objects.filter(dedupe_key="race:1").count() == 1
    # Only the thread that inserted the row queued its delivery.
    assert len(mail.outbox) == 1
