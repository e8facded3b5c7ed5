"""Check-ins from both sides: when they open, and an e-mail answer never erases the page's
(issue 10, bugs 4 and 7)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from apps.rituals import services
from apps.rituals.models import CheckIn

from .conftest import make_ritual

UTC = dt.UTC
pytestmark = pytest.mark.django_db

# A Wednesday. The ritual is at 21:00 in Berlin = 20:00 UTC.
DAY = dt.date(2026, 12, 2)
STARTS = dt.datetime(2026, 12, 2, 20, 0, tzinfo=UTC)


@pytest.fixture
def evening(space, alice):
    return make_ritual(space, alice, now=STARTS - dt.timedelta(days=1), at=dt.time(21, 0))


def _email_answer(client, ritual, user, action="kept"):
    token = services.checkin_token(ritual_id=ritual.pk, day=DAY, user_id=user.pk)
    return client.post(reverse("rituals:email_check_in", args=[token, action]))


def test_the_e_mail_answer_adds_to_a_check_in_and_erases_nothing(client, evening, both_ways):
    """Bug 4: "We did it" from the e-mail reset the note and the feeling."""
    actor, partner = both_ways.actor, both_ways.partner
    with time_machine.travel(STARTS + dt.timedelta(hours=1), tick=False):
        services.ritual_check_in(
            ritual=evening, user=actor, day=DAY, status="skipped", note="Long talk", feeling="close"
        )
        services.ritual_check_in(
            ritual=evening, user=partner, day=DAY, status="kept", note="Theirs", feeling="calm"
        )
        assert _email_answer(client, evening, actor).status_code == 200
    mine = CheckIn.objects.get(user=actor)
    assert (mine.status, mine.note, mine.feeling) == ("kept", "Long talk", "close")
    theirs = CheckIn.objects.get(user=partner)
    assert (theirs.status, theirs.note, theirs.feeling) == ("kept", "Theirs", "calm")


def test_the_page_can_still_clear_a_note(evening, both_ways):
    at = STARTS + dt.timedelta(minutes=5)
    services.ritual_check_in(
        ritual=evening, user=both_ways.actor, day=DAY, status="kept", note="x", now=at
    )
    services.ritual_check_in(
        ritual=evening, user=both_ways.actor, day=DAY, status="kept", note="", feeling="", now=at
    )
    assert CheckIn.objects.get(user=both_ways.actor).note == ""


@pytest.mark.parametrize(
    ("offset", "opens"),
    [
        (-dt.timedelta(hours=11, minutes=35), False),  # 09:25 Berlin, the bug's example
        (-dt.timedelta(seconds=1), False),
        (dt.timedelta(0), True),
        (dt.timedelta(hours=3), True),
    ],
)
def test_a_check_in_opens_when_the_occurrence_starts(evening, both_ways, offset, opens):
    """Bug 7: "We did it" was offered from the morning of the day."""
    now = STARTS + offset
    for who in (both_ways.actor, both_ways.partner):
        if opens:
            services.ritual_check_in(ritual=evening, user=who, day=DAY, status="kept", now=now)
        else:
            with pytest.raises(services.RitualError, match="from 21:00"):
                services.ritual_check_in(ritual=evening, user=who, day=DAY, status="kept", now=now)
    assert CheckIn.objects.count() == (2 if opens else 0)


def test_the_opening_time_is_said_in_the_persons_zone(evening, bob):
    bob.time_zone = "America/Los_Angeles"
    bob.save()
    # 12:00 in Los Angeles; the ritual starts at 12:00 PST = 20:00 UTC.
    with pytest.raises(services.RitualError, match="from 12:00"):
        services.ritual_check_in(
            ritual=evening, user=bob, day=DAY, status="kept", now=STARTS - dt.timedelta(hours=1)
        )


def test_before_the_start_the_page_and_the_e_mail_change_nothing(client, evening, both_ways):
    with time_machine.travel(STARTS - dt.timedelta(hours=2), tick=False):
        client.force_login(both_ways.actor)  # a session of the pinned day, not the real one
        response = client.post(
            reverse("rituals:check_in", args=[evening.pk]),
            {"day": DAY.isoformat(), "status": "kept"},
            follow=True,
        )
        assert "has not started yet" in response.content.decode()
        assert _email_answer(client, evening, both_ways.partner).status_code == 400
    assert not CheckIn.objects.exists()
