"""Queueing e-mail: templates, idempotency, preferences and unsubscribe headers."""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import pytest
from django.core import mail, signing
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import Category, EmailOptOut, OutboundEmail
from tests.helpers import assert_email


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
    assert_email(
        row,
        subject="Keepsake test e-mail",
        text=["Hello Alice,"],
        # The HTML part extends the shared layout, which links back to the app.
        html=["<p>Hello Alice,</p>", '<html lang="en">', 'href="http://'],
    )


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


# --- Rows in the outbox: old ones, account ones, broken ones ---------------------------------


def test_a_row_queued_before_the_upgrade_is_sent_as_it_was_rendered(alice):
    """Rows written by the code before rendering moved to delivery hold their parts and
    no context: they go out exactly as stored."""
    table = connection.ops.quote_name(OutboundEmail._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:  # the old columns only, as the old code filled them
        cursor.execute(
            f"INSERT INTO {table} (dedupe_key, user_id, to_email, category, template, "  # noqa: S608
            "subject, body_text, body_html, headers, status, attempts, next_attempt_at, "
            f"last_error, created_at) VALUES ({', '.join(['%s'] * 14)})",
            [
                "old:1",
                alice.pk,
                alice.email,
                Category.REMINDERS,
                "ritual_reminder",
                "Tea: Monday 2 March at 19:30 (Europe/Berlin)",
                "Rendered long ago {{ not a template }}",
                "<p>Rendered long ago</p>",
                '{"List-Unsubscribe": "<https://old.example/u/1/>"}',
                "pending",
                0,
                now,
                "",
                now,
            ],
        )
    row = OutboundEmail.objects.get(dedupe_key="old:1")
    assert row.context is None

    assert services.outbox_deliver_due() == 1

    (message,) = mail.outbox
    assert_email(
        message,
        subject="Tea: Monday 2 March at 19:30 (Europe/Berlin)",
        text=["Rendered long ago {{ not a template }}"],
        html=["<p>Rendered long ago</p>"],
    )
    assert message.extra_headers["List-Unsubscribe"] == "<https://old.example/u/1/>"


def test_a_sent_account_email_keeps_no_secret_at_rest(alice):
    """An account e-mail's links (an invitation, a password reset) are live secrets: once
    the server has the message, the row keeps its subject and nothing of its body."""
    secret = "https://keepsake.test/invitation/s3cr3t-token/"
    row = services.email_enqueue(
        to_email="new@example.com",
        template="invitation",
        context={"inviter": "Alice", "space_name": "A & B", "accept_url": secret, "days": 7},
        dedupe_key="invite:1",
        category=Category.ACCOUNT,
    )
    assert secret in row.body_text  # waiting to go out, it still has it

    assert services.outbox_deliver_due() == 1

    assert_email(mail.outbox[0], text=[secret], html=[secret])
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert_email(row, subject="Alice invited you to A & B on Keepsake", absent=[secret])
    assert (row.context, row.stored_text, row.stored_html) == (None, "", "")


def test_a_sent_reminder_keeps_its_context_for_the_admin(both_ways, admin_client):
    """A non-account row keeps what it was rendered from: the admin shows its parts."""
    partner = both_ways.partner
    (added,) = services.email_enqueue_many(
        [
            services.EmailItem(
                to_email=partner.email,
                template="test",
                context={"name": partner.name},
                dedupe_key="admin:1",
                category=Category.REMINDERS,
                user=partner,
            )
        ]
    )
    assert services.outbox_deliver_due() == 1

    page = admin_client.get(
        reverse("admin:notifications_outboundemail_change", args=[added.pk])
    ).content.decode()
    assert f"Hello {partner.name}," in page
    assert "Keepsake test e-mail" in page


def test_a_row_that_cannot_be_rendered_fails_visibly_and_the_rest_still_go(alice):
    services.email_enqueue_many(
        [
            services.EmailItem(
                to_email=alice.email,
                template=template,
                context={"name": "Alice"},
                dedupe_key=f"render:{n}",
                category=Category.REMINDERS,
                user=alice,
            )
            for n, template in enumerate(["test", "test"])
        ]
    )
    OutboundEmail.objects.filter(dedupe_key="render:0").update(template="gone_since")

    assert services.outbox_deliver_due() == 1

    broken = OutboundEmail.objects.get(dedupe_key="render:0")
    assert broken.status == OutboundEmail.Status.FAILED
    assert "could not be rendered" in broken.last_error.lower()
    assert services.failed_emails_for(user=alice) == [broken]
    assert [m.to for m in mail.outbox] == [[alice.email]]


def test_tasks_do_not_import_the_services_when_loaded():
    """One direction only: the services import the tasks; a task imports the services
    when it runs."""
    code = (
        "import sys, apps.notifications.tasks; "
        "assert 'apps.notifications.services' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
