"""The reminder pass's cheaper signing and PostgreSQL INSERT give what the plain ones give."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import signing
from django.test import override_settings
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import Category, OutboundEmail

T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def test_batch_signer_tokens_are_the_tokens_signing_dumps_makes():
    signer = services.BatchSigner(salt=services.UNSUBSCRIBE_SALT)
    with time_machine.travel(T0, tick=False):
        for user_id in (1, 42, 10**12):
            for category in (Category.REMINDERS, Category.JOURNAL):
                assert signer.dumps({"u": user_id, "c": category}) == services.unsubscribe_token(
                    user_id=user_id, category=category
                )


def test_batch_signer_tokens_read_back_and_reject_tampering():
    token = services.BatchSigner(salt=services.UNSUBSCRIBE_SALT).dumps(
        {"u": 7, "c": Category.REMINDERS}
    )
    assert services.unsubscribe_token_read(token) == (7, Category.REMINDERS)
    with pytest.raises(signing.BadSignature):
        services.unsubscribe_token_read(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    other = services.BatchSigner(salt="another.salt").dumps({"u": 7, "c": Category.REMINDERS})
    with pytest.raises(signing.BadSignature):
        services.unsubscribe_token_read(other)


def test_batch_signer_signs_with_the_current_key_and_old_tokens_still_read():
    with override_settings(SECRET_KEY="old-key-" + "x" * 50):
        old = services.BatchSigner(salt=services.UNSUBSCRIBE_SALT).dumps(
            {"u": 3, "c": Category.VAULT}
        )
    with override_settings(
        SECRET_KEY="new-key-" + "y" * 50, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 50]
    ):
        new = services.BatchSigner(salt=services.UNSUBSCRIBE_SALT).dumps(
            {"u": 3, "c": Category.VAULT}
        )
        assert new != old
        assert services.unsubscribe_token_read(old) == (3, Category.VAULT)
        assert services.unsubscribe_token_read(new) == (3, Category.VAULT)
        assert new == services.unsubscribe_token(user_id=3, category=Category.VAULT)


def outbound(key, user=None, **extra):
    return OutboundEmail(
        dedupe_key=key,
        user=user,
        to_email="a@example.com",
        category=extra.pop("category", Category.ACCOUNT),
        template="test",
        subject=extra.pop("subject", "Hello"),
        body_text=extra.pop("body_text", "Text"),
        body_html=extra.pop("body_html", '<p>"Quotes" & back\\slash, {braces}, NULL</p>'),
        headers=extra.pop("headers", {}),
        **extra,
    )


@pytest.mark.django_db
def test_insert_many_on_postgres_stores_the_rows_and_keeps_a_key_queued_meanwhile(postgres, alice):
    earlier = outbound("k:1", subject="First")
    earlier.save()
    headers = {"List-Unsubscribe": "<https://x.test/u/é>", "List-Unsubscribe-Post": "One-Click"}
    with time_machine.travel(T0, tick=False):
        services._insert_many(
            [
                outbound("k:1", subject="Second"),
                outbound("k:2", user=alice, category=Category.REMINDERS, headers=headers),
                outbound("k:3", status=OutboundEmail.Status.SKIPPED),
            ]
        )

    assert OutboundEmail.objects.get(dedupe_key="k:1").subject == "First"
    row = OutboundEmail.objects.get(dedupe_key="k:2")
    assert row.user_id == alice.pk and row.headers == headers
    assert row.body_html == '<p>"Quotes" & back\\slash, {braces}, NULL</p>'
    assert (row.status, row.attempts, row.last_error, row.sent_at) == ("pending", 0, "", None)
    assert row.created_at == T0 and row.next_attempt_at == T0
    skipped = OutboundEmail.objects.get(dedupe_key="k:3")
    assert skipped.user_id is None and skipped.status == OutboundEmail.Status.SKIPPED
    assert timezone.is_aware(skipped.created_at)


def test_batch_signer_compresses_as_signing_dumps_does():
    payload = {"u": 5, "c": Category.REMINDERS, "note": "again " * 40, "é": "ü"}
    with time_machine.travel(T0, tick=False):
        token = services.BatchSigner(salt="any.salt").dumps(payload)
        assert token == signing.dumps(payload, salt="any.salt", compress=True)
    assert token.startswith(".")
    assert signing.loads(token, salt="any.salt") == payload
