"""Unsubscribe tokens: the links already in people's inboxes keep working."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import signing
from django.test import override_settings

from apps.notifications import services
from apps.notifications.models import Category

T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
OLD_KEY = "keepsake-old-format-test-key-" + "k" * 40
# Made by the code before the outbox package, with SECRET_KEY = OLD_KEY at T0: the
# reminder pass's ``BatchSigner(salt=UNSUBSCRIBE_SALT).dumps({"u": 42, "c": "reminders"})``
# and ``signing.dumps({"u": 42, "c": "journal"}, salt=…, compress=True)``.
OLD_REMINDER_TOKEN = (
    "eyJ1Ijo0MiwiYyI6InJlbWluZGVycyJ9:1xVOy0:ZW6leH7pOdFLxiv03KOcmE2DJy0xkIhVObgBYTBfHWc"
)
OLD_JOURNAL_TOKEN = (
    "eyJ1Ijo0MiwiYyI6ImpvdXJuYWwifQ:1xVOy0:Qbb-TaSIQxTMxcG62Rq9MI_-5pVVDOMkkA6zb9ljSNs"
)


@override_settings(SECRET_KEY=OLD_KEY)
def test_tokens_made_by_the_old_code_still_read():
    with time_machine.travel(T0 + dt.timedelta(days=30), tick=False):
        assert services.unsubscribe_token_read(OLD_REMINDER_TOKEN) == (42, Category.REMINDERS)
        assert services.unsubscribe_token_read(OLD_JOURNAL_TOKEN) == (42, Category.JOURNAL)


@override_settings(SECRET_KEY=OLD_KEY)
def test_the_new_code_makes_the_same_tokens():
    with time_machine.travel(T0, tick=False):
        made = services.unsubscribe_token(user_id=42, category=Category.REMINDERS)
    assert made == OLD_REMINDER_TOKEN


def test_old_tokens_read_after_a_key_rotation():
    with (
        override_settings(SECRET_KEY="new-key-" + "y" * 50, SECRET_KEY_FALLBACKS=[OLD_KEY]),
        time_machine.travel(T0 + dt.timedelta(days=30), tick=False),
    ):
        assert services.unsubscribe_token_read(OLD_REMINDER_TOKEN) == (42, Category.REMINDERS)
        new = services.unsubscribe_token(user_id=42, category=Category.REMINDERS)
        assert new != OLD_REMINDER_TOKEN
        assert services.unsubscribe_token_read(new) == (42, Category.REMINDERS)


@override_settings(SECRET_KEY=OLD_KEY)
def test_old_tokens_expire_after_a_year_like_new_ones():
    with (
        time_machine.travel(T0 + dt.timedelta(days=366), tick=False),
        pytest.raises(signing.SignatureExpired),
    ):
        services.unsubscribe_token_read(OLD_REMINDER_TOKEN)
