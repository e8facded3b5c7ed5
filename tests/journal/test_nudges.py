"""The nudge and digest pass: opt-in, on time in each partner's zone, each sent once."""

import datetime as dt
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from apps.journal import services
from apps.journal.models import JournalProfile
from apps.notifications.models import Category, OutboundEmail
from apps.notifications.services import preferences_set

UTC = dt.UTC
# Monday 16 November 2026; Berlin is UTC+1 then.
MONDAY = dt.datetime(2026, 11, 16, 6, 0, tzinfo=UTC)


def _settings(user, *, weekdays=(), at=None, digest=False, now=MONDAY):
    return services.journal_settings_update(
        user=user, weekdays=list(weekdays), nudge_time=at, digest_enabled=digest, now=now
    )


def test_nothing_is_sent_without_opting_in(alice, bob, run_pass):
    JournalProfile.objects.create(user=alice)
    assert run_pass(MONDAY + dt.timedelta(days=30)) == 0
    assert mail.outbox == []


def test_next_nudge_is_in_the_users_zone(alice):
    profile = _settings(alice, weekdays=[0, 3], at=dt.time(20, 30))  # Mon, Thu 20:30 Berlin
    assert profile.next_nudge_at == dt.datetime(2026, 11, 16, 19, 30, tzinfo=UTC)
    alice.time_zone = "America/New_York"
    alice.save()
    profile = _settings(alice, weekdays=[3], at=dt.time(20, 30))
    assert profile.next_nudge_at == dt.datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


def test_nudge_sent_once_at_chosen_time_then_next_chosen_day(alice, bob, run_pass):
    profile = _settings(alice, weekdays=[0, 3], at=dt.time(20, 30))
    due = profile.next_nudge_at
    assert run_pass(due - dt.timedelta(minutes=1)) == 0
    assert run_pass(due) == 1
    assert run_pass(due) == 0
    assert run_pass(due + dt.timedelta(minutes=1)) == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [alice.email]
    assert message.subject == "A moment for your journal?"
    assert "/journal/write/" in message.body
    html = message.alternatives[0][0]
    assert "/journal/write/" in html
    assert "List-Unsubscribe" in message.extra_headers
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    row = OutboundEmail.objects.get()
    assert row.category == Category.JOURNAL
    assert row.dedupe_key == f"journal:nudge:{alice.pk}:2026-11-16"
    profile.refresh_from_db()
    assert profile.next_nudge_at == dt.datetime(2026, 11, 19, 19, 30, tzinfo=UTC)


def test_requeue_under_same_key_sends_once(alice, bob, run_pass):
    """Even if the due time is put back (a crash, a second beat), the key holds."""
    profile = _settings(alice, weekdays=[0], at=dt.time(20, 30))
    due = profile.next_nudge_at
    run_pass(due)
    JournalProfile.objects.filter(pk=profile.pk).update(next_nudge_at=due)
    run_pass(due + dt.timedelta(minutes=2))
    assert len(mail.outbox) == 1


def test_no_nudge_when_already_written_today(alice, bob, run_pass):
    profile = _settings(alice, weekdays=[0], at=dt.time(20, 30))
    with time_machine.travel(MONDAY + dt.timedelta(hours=3), tick=False):
        services.entry_create(author=alice, text="Already wrote")
    assert run_pass(profile.next_nudge_at) == 0
    assert mail.outbox == []
    profile.refresh_from_db()
    assert profile.next_nudge_at == dt.datetime(2026, 11, 23, 19, 30, tzinfo=UTC)


def test_stale_nudge_after_downtime_is_skipped(alice, bob, run_pass):
    profile = _settings(alice, weekdays=[0, 1, 2, 3, 4, 5, 6], at=dt.time(9, 0))
    much_later = profile.next_nudge_at + dt.timedelta(days=3, hours=5)
    assert run_pass(much_later) == 0
    profile.refresh_from_db()
    assert profile.next_nudge_at > much_later  # one step to the future, no flood


def test_opted_out_category_is_recorded_skipped(alice, bob, run_pass):
    preferences_set(user=alice, enabled=[Category.REMINDERS])
    profile = _settings(alice, weekdays=[0], at=dt.time(20, 30))
    run_pass(profile.next_nudge_at)
    assert mail.outbox == []
    assert OutboundEmail.objects.get().status == OutboundEmail.Status.SKIPPED


def test_nudge_at_a_time_skipped_by_dst_moves_to_after_the_gap(alice):
    # 29 March 2026 (Sunday): Berlin jumps from 02:00 to 03:00.
    profile = _settings(
        alice, weekdays=[6], at=dt.time(2, 30), now=dt.datetime(2026, 3, 28, tzinfo=UTC)
    )
    assert profile.next_nudge_at == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_nudge_at_an_ambiguous_time_fires_once_at_the_first(alice, bob, run_pass):
    # 25 October 2026 (Sunday): Berlin goes from 03:00 back to 02:00; 02:30 happens twice.
    profile = _settings(
        alice, weekdays=[6], at=dt.time(2, 30), now=dt.datetime(2026, 10, 24, tzinfo=UTC)
    )
    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert profile.next_nudge_at == first
    assert run_pass(first) == 1
    assert run_pass(first + dt.timedelta(hours=1)) == 0  # the second 02:30
    assert len(mail.outbox) == 1
    profile.refresh_from_db()
    assert profile.next_nudge_at == dt.datetime(2026, 11, 1, 1, 30, tzinfo=UTC)


def test_turning_nudges_off_clears_the_schedule(alice):
    _settings(alice, weekdays=[0], at=dt.time(8, 0), digest=True)
    profile = _settings(alice)
    assert (profile.next_nudge_at, profile.next_digest_at) == (None, None)


# --- The weekly digest ---------------------------------------------------------------------------


def _write_at(when, author, text, **kwargs):
    with time_machine.travel(when, tick=False):
        return services.entry_create(author=author, text=text, **kwargs)


def test_weekly_digest_content_and_dedupe(alice, bob, run_pass):
    profile = _settings(bob, digest=True)
    due = profile.next_digest_at
    # Sunday 22 November, 18:00 in Berlin.
    assert due == dt.datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    _write_at(due - dt.timedelta(days=8), alice, "Too old for this digest")
    _write_at(due - dt.timedelta(days=3), alice, "You made pancakes on a Thursday")
    _write_at(due - dt.timedelta(days=2), alice, "Hidden surprise plan", is_private=True)
    _write_at(due - dt.timedelta(days=1), bob, "Bob's own entry")
    _write_at(due - dt.timedelta(hours=1), alice, "Thanks for <the> walk & talk")
    assert run_pass(due) == 1
    assert run_pass(due) == 0
    assert run_pass(due + dt.timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [bob.email]
    assert message.subject == "Alice's week in your journal"
    html = message.alternatives[0][0]
    for part in (message.body, html):
        assert "pancakes on a Thursday" in part
        assert "Too old" not in part
        assert "Hidden surprise" not in part
        assert "Bob's own entry" not in part
    assert "Thanks for &lt;the&gt; walk &amp; talk" in html
    assert message.body.index("pancakes") < message.body.index("walk & talk")
    row = OutboundEmail.objects.get()
    assert row.dedupe_key == f"journal:digest:{bob.pk}:2026-11-22"
    assert row.category == Category.JOURNAL
    profile.refresh_from_db()
    assert profile.next_digest_at == dt.datetime(2026, 11, 29, 17, 0, tzinfo=UTC)


def test_empty_digest_is_not_sent_but_rescheduled(alice, bob, run_pass):
    profile = _settings(bob, digest=True)
    assert run_pass(profile.next_digest_at) == 0
    assert mail.outbox == []
    profile.refresh_from_db()
    assert profile.next_digest_at == dt.datetime(2026, 11, 29, 17, 0, tzinfo=UTC)


def test_digest_without_partner_sends_nothing(alice, run_pass):
    profile = _settings(alice, digest=True)
    assert run_pass(profile.next_digest_at) == 0


def test_pass_is_wired_into_the_scheduler(alice, bob, django_capture_on_commit_callbacks):
    from apps.core.scheduling import run_passes

    profile = _settings(alice, weekdays=[0], at=dt.time(20, 30))
    with django_capture_on_commit_callbacks(execute=True):
        results = run_passes(now=profile.next_nudge_at)
    journal = next(r for r in results if r.name.startswith("apps.journal"))
    assert (journal.count, journal.error) == (1, "")


def test_settings_page_saves_and_validates(alice_client, alice):
    url = "/journal/settings/"
    response = alice_client.post(url, {"weekdays": ["0", "2"]})
    assert response.status_code == 200
    assert "Pick a time for the nudges." in response.content.decode()
    assert not JournalProfile.objects.filter(user=alice).exists()
    response = alice_client.post(url, {"weekdays": ["9"], "nudge_time": "08:00"})
    assert response.status_code == 200
    assert not JournalProfile.objects.filter(user=alice).exists()
    response = alice_client.post(
        url, {"weekdays": ["0", "2"], "nudge_time": "08:15", "digest_enabled": "on"}
    )
    assert response.status_code == 302
    profile = JournalProfile.objects.get(user=alice)
    assert profile.weekdays == [0, 2]
    assert profile.nudge_time == dt.time(8, 15)
    assert profile.digest_enabled
    assert profile.next_nudge_at is not None
    assert profile.next_digest_at is not None
    page = alice_client.get(url).content.decode()
    assert 'value="08:15"' in page


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_send_once_on_postgres(postgres, alice, bob):
    """Two workers claim with SKIP LOCKED; the dedupe key covers any overlap."""
    import threading

    from django.db import connection

    profile = _settings(alice, weekdays=[0], at=dt.time(20, 30))
    due = profile.next_nudge_at
    results = []

    def worker():
        try:
            results.append(services.nudges_schedule_due(now=due))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    assert OutboundEmail.objects.filter(template="journal_nudge").count() == 1


def test_settings_page_warns_when_journal_mail_is_off(alice, alice_client):
    assert b"journal-mail-off" not in alice_client.get("/journal/settings/").content
    preferences_set(user=alice, enabled=[])
    assert b"journal-mail-off" in alice_client.get("/journal/settings/").content


# --- A day already written: the nudge is skipped, and only that one ---------------------------


def _berlin(day: dt.date, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


@pytest.mark.parametrize(
    ("weekdays", "next_day"),
    [
        ([0, 1, 3], dt.date(2026, 11, 17)),  # Mon, Tue, Thu: Tuesday, not a week on
        ([0, 3], dt.date(2026, 11, 19)),  # Mon, Thu: Thursday
        (list(range(7)), dt.date(2026, 11, 17)),  # every day: tomorrow
        ([0], dt.date(2026, 11, 23)),  # Mondays only: the next Monday is the next planned day
    ],
)
def test_wrote_today_skips_today_and_the_next_nudge_is_the_next_planned_day(
    alice, bob, run_pass, weekdays, next_day
):
    profile = _settings(alice, weekdays=weekdays, at=dt.time(20, 30))
    today = _berlin(MONDAY.date(), dt.time(20, 30))
    assert profile.next_nudge_at == today
    with time_machine.travel(MONDAY + dt.timedelta(hours=3), tick=False):  # 10:00 in Berlin
        services.entry_create(author=alice, text="Wrote before the nudge")
    assert run_pass(today) == 0
    assert mail.outbox == []
    profile.refresh_from_db()
    assert profile.next_nudge_at == _berlin(next_day, dt.time(20, 30))
    # And that one comes: writing on one day skips that day's nudge only.
    assert run_pass(profile.next_nudge_at) == 1
    assert mail.outbox[0].to == [alice.email]
    row = OutboundEmail.objects.get()
    assert row.dedupe_key == f"journal:nudge:{alice.pk}:{next_day.isoformat()}"


def test_writing_just_after_midnight_is_the_new_day(alice, bob, run_pass):
    """An entry written at 00:10 local counts for that day, not the day before."""
    profile = _settings(alice, weekdays=list(range(7)), at=dt.time(20, 30))
    with time_machine.travel(_berlin(dt.date(2026, 11, 17), dt.time(0, 10)), tick=False):
        services.entry_create(author=alice, text="Tuesday, just after midnight")
    assert run_pass(profile.next_nudge_at) == 1  # Monday's nudge is sent
    profile.refresh_from_db()
    assert run_pass(profile.next_nudge_at) == 0  # Tuesday's is skipped
    profile.refresh_from_db()
    assert profile.next_nudge_at == _berlin(dt.date(2026, 11, 18), dt.time(20, 30))


def test_one_partner_writing_never_skips_the_others_nudge(both_ways, run_pass):
    writer, other = both_ways.actor, both_ways.partner
    for person in (writer, other):
        _settings(person, weekdays=[0, 1], at=dt.time(20, 30))
    with time_machine.travel(MONDAY + dt.timedelta(hours=3), tick=False):
        services.entry_create(author=writer, text="Only the writer wrote")
    assert run_pass(_berlin(MONDAY.date(), dt.time(20, 30))) == 1
    assert [m.to for m in mail.outbox] == [[other.email]]
    tuesday = _berlin(dt.date(2026, 11, 17), dt.time(20, 30))
    for person in (writer, other):
        assert JournalProfile.objects.get(user=person).next_nudge_at == tuesday


def test_settings_page_says_a_written_day_is_skipped(alice, alice_client):
    with time_machine.travel(MONDAY, tick=False):
        alice_client.force_login(alice)  # a session of the pinned day, not of the real one
        page = unescape(alice_client.get("/journal/settings/").content.decode())
    assert "We skip the nudge on a day you've already written" in page


def test_settings_page_says_todays_nudge_will_be_skipped(both_ways, client_of):
    writer, other = both_ways.actor, both_ways.partner
    for person in (writer, other):
        _settings(person, weekdays=[0, 3], at=dt.time(20, 30))
    with time_machine.travel(MONDAY + dt.timedelta(hours=3), tick=False):
        services.entry_create(author=writer, text="Wrote this morning")
        writer_page = unescape(client_of(writer).get("/journal/settings/").content.decode())
        other_page = unescape(client_of(other).get("/journal/settings/").content.decode())
    # Shown in each person's zone (Berlin here); computed from the pinned clock.
    monday = "Monday 16 November, 20:30"
    thursday = "Thursday 19 November, 20:30"
    assert f"Next nudge: {monday}" in writer_page
    assert "You've already written that day, so we'll skip it." in writer_page
    assert f"The one after: {thursday}" in writer_page
    # The partner did not write: their nudge stands.
    assert f"Next nudge: {monday}" in other_page
    assert "skip it" not in other_page
