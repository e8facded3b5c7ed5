"""Check-in links: one token format (Django's signing, as documented), and the links
already in inboxes, made by either of the old ways, still record the answer; reminders go
in as ``bulk_create`` would put them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
import zlib

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.urls import reverse

from apps.notifications.models import OutboundEmail
from apps.rituals import services
from apps.rituals.models import CheckIn, Reminder

from .conftest import make_ritual

T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
SALT = "keepsake.rituals.checkin"


def old_single_token(ritual_id: int, day: dt.date, user_id: int) -> str:
    """How ``services.checkin_token`` made a link's token before issue 11."""
    return signing.dumps(
        {"r": ritual_id, "d": day.isoformat(), "u": user_id}, salt=SALT, compress=True
    )


def old_batch_token(ritual_id: int, day: dt.date, user_id: int) -> str:
    """How the reminder pass made them before issue 11 (``notifications.BatchSigner.dumps``,
    copied here step by step so the test outlives that class)."""
    key = signing.force_bytes(signing.TimestampSigner(salt=SALT).key)
    derived = hashlib.sha256((SALT + "signer").encode() + key).digest()
    data = json.dumps({"r": ritual_id, "d": day.isoformat(), "u": user_id}, separators=(",", ":"))
    data = data.encode("latin-1")
    compressed = zlib.compress(data)
    if len(compressed) < len(data) - 1:
        value = "." + signing.b64_encode(compressed).decode()
    else:
        value = signing.b64_encode(data).decode()
    value = f"{value}:{signing.b62_encode(int(time.time()))}"
    mac = hmac.new(derived, value.encode(), digestmod=hashlib.sha256)
    return f"{value}:{signing.b64_encode(mac.digest()).decode()}"


def test_the_token_is_the_one_both_old_ways_made_and_reads_back():
    day = dt.date(2026, 11, 23)
    with time_machine.travel(T0, tick=False):
        token = services.checkin_token(ritual_id=12, day=day, user_id=34)
        assert token == old_single_token(12, day, 34) == old_batch_token(12, day, 34)
        assert services.checkin_token_read(token) == (12, day, 34)


@pytest.mark.django_db
@pytest.mark.parametrize("old_token", [old_single_token, old_batch_token])
def test_a_link_already_in_an_inbox_still_records_the_answer(space, both_ways, old_token):
    ritual = make_ritual(space, both_ways.actor, now=T0, at=dt.time(19, 30))
    day = dt.date(2026, 11, 23)
    with time_machine.travel(T0, tick=False):
        token = old_token(ritual.pk, day, both_ways.partner.pk)  # mailed to the partner
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        url = reverse("rituals:email_check_in", args=[token, "kept"])
        assert Client().post(url).status_code == 200
    (check_in,) = CheckIn.objects.all()
    assert (check_in.user_id, check_in.occurrence, check_in.status) == (
        both_ways.partner.pk,
        day,
        "kept",
    )


@pytest.mark.django_db
def test_an_old_link_expires_as_it_always_did(space, alice, settings):
    ritual = make_ritual(space, alice, now=T0)
    day = dt.date(2026, 11, 23)
    with time_machine.travel(T0, tick=False):
        token = old_batch_token(ritual.pk, day, alice.pk)
    late = T0 + dt.timedelta(days=settings.RITUALS_CHECKIN_LINK_DAYS, seconds=1)
    with time_machine.travel(late, tick=False), pytest.raises(signing.SignatureExpired):
        services.checkin_token_read(token)


@pytest.mark.django_db
def test_the_reminders_links_are_checkin_url_for_each_recipient(space, both_ways, settings):
    settings.SITE_URL = "https://keepsake.test"
    ritual = make_ritual(space, both_ways.actor, now=T0, at=dt.time(19, 30))
    day = dt.date(2026, 11, 23)
    due = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)
    with time_machine.travel(due, tick=False):
        services.reminders_schedule_due(now=due)
        for user in (both_ways.actor, both_ways.partner):
            row = OutboundEmail.objects.get(
                dedupe_key=f"ritual-reminder:{ritual.pk}:{day.isoformat()}:{user.pk}"
            )
            for action in ("kept", "skipped"):
                url = services.checkin_url(
                    ritual_id=ritual.pk, day=day, user_id=user.pk, action=action
                )
                assert url in row.body_text
            token = re.search(r"/rituals/answer/([^/]+)/kept/", row.body_text).group(1)
            assert services.checkin_token_read(token) == (ritual.pk, day, user.pk)


@pytest.mark.django_db
def test_recording_keeps_a_recorded_reminder_and_stores_the_rest(space, alice, bob):
    ritual = make_ritual(space, alice, now=T0)
    day = dt.date(2026, 11, 24)
    due = dt.datetime(2026, 11, 24, 19, 0, tzinfo=dt.UTC)
    Reminder.objects.create(
        ritual=ritual, occurrence=day, recipient=alice, status=Reminder.Status.MISSED, due_at=due
    )
    with time_machine.travel(T0, tick=False):
        services.reminders_record(
            [
                (ritual.pk, day, alice.pk, Reminder.Status.SENT, due, 3),
                (ritual.pk, day, bob.pk, Reminder.Status.SENT, due, 7),
                (ritual.pk, day + dt.timedelta(days=1), bob.pk, Reminder.Status.MISSED, due, None),
            ]
        )

    got = {
        (r.recipient_id, r.occurrence): (r.status, r.question, r.due_at, r.created_at)
        for r in Reminder.objects.filter(ritual=ritual)
    }
    assert got[alice.pk, day][:2] == (Reminder.Status.MISSED, None)
    assert got[bob.pk, day] == (Reminder.Status.SENT, 7, due, T0)
    assert got[bob.pk, day + dt.timedelta(days=1)] == (Reminder.Status.MISSED, None, due, T0)
    assert len(got) == 3
