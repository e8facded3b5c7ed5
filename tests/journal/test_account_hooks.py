"""A time-zone change moves a partner's next nudge and digest at once, not after one fires."""

import datetime as dt
import threading
import time
import zoneinfo
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import connections

from apps.accounts import services as account_services
from apps.journal import services
from apps.journal.models import JournalProfile
from apps.notifications.models import OutboundEmail

UTC = dt.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
# Monday 16 November 2026, 07:00 in Berlin (UTC+1), 01:00 in New York (UTC-5).
MONDAY = dt.datetime(2026, 11, 16, 6, 0, tzinfo=UTC)
NUDGE_BERLIN = dt.datetime(2026, 11, 16, 19, 0, tzinfo=UTC)  # Monday 20:00 in Berlin
NUDGE_NEW_YORK = dt.datetime(2026, 11, 17, 1, 0, tzinfo=UTC)  # Monday 20:00 in New York
DIGEST_BERLIN = dt.datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # Sunday 18:00 in Berlin
DIGEST_NEW_YORK = dt.datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Sunday 18:00 in New York


def _monday_nudge_and_digest(user):
    return services.journal_settings_update(
        user=user, weekdays=[0], nudge_time=dt.time(20, 0), digest_enabled=True, now=MONDAY
    )


def _move(user, zone, *, at=MONDAY + dt.timedelta(hours=1)):
    with time_machine.travel(at, tick=False):
        account_services.profile_update(user=user, display_name=user.name, time_zone=zone)


def test_moving_to_new_york_moves_the_nudge_and_digest_to_new_york_time(
    alice, bob, write, run_pass
):
    alice.time_zone = "Europe/Berlin"
    alice.save()
    profile = _monday_nudge_and_digest(alice)
    assert (profile.next_nudge_at, profile.next_digest_at) == (NUDGE_BERLIN, DIGEST_BERLIN)

    _move(alice, "America/New_York")

    profile.refresh_from_db()
    assert profile.next_nudge_at == NUDGE_NEW_YORK
    assert profile.next_nudge_at.astimezone(NEW_YORK).replace(tzinfo=None) == dt.datetime(
        2026, 11, 16, 20, 0
    )
    assert profile.next_digest_at == DIGEST_NEW_YORK
    assert profile.next_digest_at.astimezone(NEW_YORK).replace(tzinfo=None) == dt.datetime(
        2026, 11, 22, 18, 0
    )
    # The pass follows: nothing at Berlin's 20:00, the nudge at New York's.
    assert run_pass(NUDGE_BERLIN) == 0
    assert run_pass(NUDGE_NEW_YORK) == 1
    assert OutboundEmail.objects.get(template="journal_nudge").dedupe_key == (
        f"journal:nudge:{alice.pk}:2026-11-16"
    )
    with time_machine.travel(dt.datetime(2026, 11, 18, 12, tzinfo=UTC), tick=False):
        write(bob, "The lantern you fixed")
    assert run_pass(DIGEST_BERLIN) == 0
    assert run_pass(DIGEST_NEW_YORK) == 1
    digest = OutboundEmail.objects.get(template="journal_digest")
    assert digest.dedupe_key == f"journal:digest:{alice.pk}:2026-11-22"
    assert "The lantern you fixed" in mail.outbox[-1].body


def test_changing_the_spaces_zone_moves_partners_who_follow_it(alice, bob):
    # Alice has no zone of her own (she follows the space); Bob keeps Berlin.
    assert alice.time_zone == ""
    bob.time_zone = "Europe/Berlin"
    bob.save()
    alice_profile = _monday_nudge_and_digest(alice)
    bob_profile = _monday_nudge_and_digest(bob)
    assert alice_profile.next_nudge_at == bob_profile.next_nudge_at == NUDGE_BERLIN

    space = alice.space
    with time_machine.travel(MONDAY + dt.timedelta(hours=1), tick=False):
        account_services.space_update(
            space=space,
            name=space.name,
            time_zone="America/New_York",
            anniversary=space.anniversary,
        )

    alice_profile.refresh_from_db()
    bob_profile.refresh_from_db()
    assert (alice_profile.next_nudge_at, alice_profile.next_digest_at) == (
        NUDGE_NEW_YORK,
        DIGEST_NEW_YORK,
    )
    assert (bob_profile.next_nudge_at, bob_profile.next_digest_at) == (
        NUDGE_BERLIN,
        DIGEST_BERLIN,
    )


def test_what_is_off_stays_off_and_no_settings_are_made_up(alice, bob):
    services.journal_settings_update(
        user=alice, weekdays=[], nudge_time=None, digest_enabled=True, now=MONDAY
    )
    _move(alice, "America/New_York")
    _move(bob, "Asia/Tokyo")
    profile = JournalProfile.objects.get(user=alice)
    assert profile.next_nudge_at is None
    assert profile.next_digest_at == DIGEST_NEW_YORK
    assert not JournalProfile.objects.filter(user=bob).exists()


def test_a_nudge_already_due_is_still_sent_once(alice, run_pass):
    """A zone change between the slot and the next tick must not drop that nudge."""
    alice.time_zone = "Europe/Berlin"
    alice.save()
    _monday_nudge_and_digest(alice)
    _move(alice, "America/New_York", at=NUDGE_BERLIN + dt.timedelta(seconds=30))
    assert JournalProfile.objects.get(user=alice).next_nudge_at == NUDGE_BERLIN
    assert run_pass(NUDGE_BERLIN + dt.timedelta(minutes=1)) == 1
    # New York's Monday 20:00 comes next, but it is the same local day: not again.
    assert JournalProfile.objects.get(user=alice).next_nudge_at == NUDGE_NEW_YORK
    run_pass(NUDGE_NEW_YORK)
    assert len(mail.outbox) == 1
    assert JournalProfile.objects.get(user=alice).next_nudge_at == dt.datetime(
        2026, 11, 24, 1, 0, tzinfo=UTC
    )


@pytest.mark.django_db(transaction=True)
def test_zone_change_during_a_pass_is_not_lost_on_postgres(postgres, alice):
    """The hook waits for the pass's row lock, then moves what the pass scheduled."""
    alice.time_zone = "Europe/Berlin"
    alice.save()
    _monday_nudge_and_digest(alice)
    claimed = threading.Event()
    errors = []

    real_enqueue = services.email_enqueue

    def slow_enqueue(**kwargs):
        # The pass holds Alice's row while it queues her nudge: pause there.
        claimed.set()
        time.sleep(1)
        return real_enqueue(**kwargs)

    def the_pass():
        try:
            with mock.patch.object(services, "email_enqueue", slow_enqueue):
                services.nudges_schedule_due(now=NUDGE_BERLIN)
        except Exception as exc:  # re-raised below
            errors.append(exc)
        finally:
            claimed.set()
            connections.close_all()

    with time_machine.travel(NUDGE_BERLIN, tick=False):
        worker = threading.Thread(target=the_pass)
        worker.start()
        assert claimed.wait(timeout=10)
        account_services.profile_update(
            user=alice, display_name=alice.name, time_zone="America/New_York"
        )
        worker.join(timeout=30)
    assert not errors
    # The pass sent Berlin's Monday nudge and set Berlin's next Monday; the hook,
    # let through only after that commit, moved it to New York's Monday 20:00.
    assert JournalProfile.objects.get(user=alice).next_nudge_at == NUDGE_NEW_YORK


@pytest.mark.parametrize(
    ("home", "away", "between", "left_out"),
    [
        # West: the next digest comes 6 hours later; an entry written just after the
        # Berlin digest must not fall between the two weeks.
        ("Europe/Berlin", "America/New_York", DIGEST_BERLIN + dt.timedelta(hours=2), None),
        # East: the next digest comes 6 hours earlier; an entry the New York digest
        # already carried must not come again.
        ("America/New_York", "Europe/Berlin", None, DIGEST_BERLIN + dt.timedelta(hours=2)),
    ],
)
def test_after_a_zone_change_the_next_digest_starts_where_the_last_one_ended(
    alice, bob, write, run_pass, home, away, between, left_out
):
    alice.time_zone = home
    alice.save()
    _monday_nudge_and_digest(alice)
    first = DIGEST_BERLIN if home == "Europe/Berlin" else DIGEST_NEW_YORK
    if left_out is not None:
        with time_machine.travel(left_out, tick=False):
            write(bob, "Already in the first digest")
    assert run_pass(first) == (1 if left_out else 0)

    if between is not None:
        with time_machine.travel(between, tick=False):
            write(bob, "Right after it")
    _move(alice, away, at=first + dt.timedelta(hours=3))
    with time_machine.travel(first + dt.timedelta(days=3), tick=False):
        write(bob, "Midweek")
    profile = JournalProfile.objects.get(user=alice)
    # The next Sunday 18:00 in the new zone: a week on, give or take the six hours
    # (moving west, not the same Sunday evening again).
    assert abs(profile.next_digest_at - (first + dt.timedelta(days=7))) == dt.timedelta(hours=6)
    assert run_pass(profile.next_digest_at) == 1

    second = mail.outbox[-1].body
    assert "Midweek" in second
    if between is not None:
        assert "Right after it" in second
    if left_out is not None:
        assert "Already in the first digest" not in second
