"""Two beats at once (a second scheduler started by mistake, or cron and beat both on):
two threads, each with its own PostgreSQL connection, run every tick of the same
47 simulated minutes side by side, over several spaces with daily rituals and letters
that open in that window. Every reminder and every opening e-mail exists once and
reaches the SMTP server once.

The clock is passed to run_passes(now=...) explicitly: time-machine is process-wide and
cannot give two threads their own "now".
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.models import PassRun
from apps.core.scheduling import run_passes
from apps.core.tz import get_zone
from apps.notifications.models import OutboundEmail
from apps.rituals.models import Reminder
from apps.vault import services as vault
from apps.vault.models import Letter
from tests.factories import SpaceFactory, UserFactory
from tests.rituals.conftest import make_ritual

from .helpers import keepsake_ids

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

SPACES = 5
RITUAL_TIMES = [
    dt.time(0, 40),
    dt.time(0, 50),
    dt.time(1, 0),
    dt.time(1, 10),
]  # reminded 30 min before


def zone_with_midnight_at(instant: dt.datetime) -> str:
    """A fixed-offset zone whose local midnight is ``instant`` (a full UTC hour)."""
    offset = (-instant.hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def test_two_schedulers_side_by_side_send_every_reminder_and_letter_once(
    postgres, smtp_server, publish_to
):
    # Delivery tasks go to a broker nobody consumes: the two beats' outbox passes race
    # for every row (with eager tasks, each row would be sent at commit instead).
    publish_to("memory://")
    now = timezone.now()
    # W: the next full hour; each space's zone puts its midnight (letters open) there.
    start = (now + dt.timedelta(minutes=5)).replace(minute=0, second=0, microsecond=0)
    start += dt.timedelta(hours=1)
    zone = zone_with_midnight_at(start)
    local_day = start.astimezone(get_zone(zone)).date()
    assert start.astimezone(get_zone(zone)).time() == dt.time(0, 0)

    for n in range(SPACES):
        space = SpaceFactory(
            name=f"Beats {n}",
            time_zone=zone,
            anniversary=local_day.replace(year=2016),  # a leap year: any day exists
        )
        a = UserFactory(space=space, time_zone=zone, joined_space_at=now)
        b = UserFactory(space=space, time_zone=zone, joined_space_at=now)
        for at in RITUAL_TIMES:
            make_ritual(
                space,
                a,
                now=now,
                at=at,
                title=f"Ritual {at:%H%M}",
                starts_on=local_day - dt.timedelta(days=3),
            )
        for author in (a, b):
            letter = vault.letter_create(author=author, title="Later", body="Open me then")
            vault.letter_seal(letter=letter, user=author, now=start - dt.timedelta(days=2))
    assert set(Letter.objects.values_list("opens_at", flat=True)) == {start}
    expected_reminders = SPACES * len(RITUAL_TIMES) * 2
    expected_openings = SPACES * 2

    ticks = [start + dt.timedelta(minutes=m) for m in range(-2, 46)]
    barrier = threading.Barrier(2)
    errors, results = [], collections.Counter()

    def beat(name: str) -> None:
        try:
            for tick in ticks:
                barrier.wait(timeout=60)
                for result in run_passes(now=tick):
                    if result.error:
                        errors.append((name, tick, result.name, result.error))
                    results[result.name] += result.count
        except Exception as exc:  # reported below
            errors.append((name, repr(exc)))
            barrier.abort()
        finally:
            connection.close()

    began = time.monotonic()
    threads = [threading.Thread(target=beat, args=(f"beat{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    elapsed = time.monotonic() - began

    assert errors == []
    assert Reminder.objects.count() == expected_reminders
    assert set(Reminder.objects.values_list("status", flat=True)) == {Reminder.Status.SENT}
    assert set(Letter.objects.values_list("status", flat=True)) == {Letter.Status.OPENED}
    keys = list(OutboundEmail.objects.values_list("dedupe_key", flat=True))
    assert len(keys) == len(set(keys)) == expected_reminders + expected_openings
    assert sum(k.startswith("ritual-reminder:") for k in keys) == expected_reminders
    assert sum(k.startswith("vault-open:") for k in keys) == expected_openings
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {
        OutboundEmail.Status.SENT
    }
    delivered = collections.Counter(
        keepsake_ids(smtp_server.wait_for(expected_reminders + expected_openings))
    )
    time.sleep(0.3)  # nothing late either
    delivered = collections.Counter(keepsake_ids(smtp_server.messages))
    assert len(delivered) == expected_reminders + expected_openings
    assert set(delivered.values()) == {1}, "an e-mail reached the server twice"
    assert PassRun.objects.get(name="tick").last_error == ""
    assert results["apps.notifications.services.outbox_deliver_due"] == len(delivered)
    print(
        f"\n2 beats x {len(ticks)} ticks in {elapsed:.1f} s: "
        f"{sum(delivered.values())} e-mails, each once; rows per pass {dict(results)}"
    )
