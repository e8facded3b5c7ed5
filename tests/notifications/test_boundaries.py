"""The outbox's edges, to the second and to the attempt: when a row is due, when it is
given up, when its lease is renewed.

Each boundary is tested at the limit and one step either side, with the clock pinned, so
that turning a ``<`` into a ``<=`` (or ``>=`` into ``>``) anywhere here turns a test red.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from apps.notifications import services
from apps.notifications.models import Category, OutboundEmail

T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
MAX_ATTEMPTS = 4


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.OUTBOX_MAX_ATTEMPTS = MAX_ATTEMPTS
    settings.OUTBOX_BACKOFF_SECONDS = 60


def queue(user, key="edge:1", *, due=T0, attempts=0):
    with time_machine.travel(T0 - dt.timedelta(hours=1), tick=False):
        row = services.email_enqueue(
            to_email=user.email,
            template="test",
            context={"name": user.name},
            dedupe_key=key,
            category=Category.ACCOUNT,
            user=user,
        )
    OutboundEmail.objects.filter(pk=row.pk).update(next_attempt_at=due, attempts=attempts)
    row.refresh_from_db()
    return row


def deliver_at(instant: dt.datetime) -> int:
    with time_machine.travel(instant, tick=False):
        return services.outbox_deliver_due()


# --- Due: next_attempt_at <= now ------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "sent"),
    [(T0 - SECOND, 1), (T0, 1), (T0 + SECOND, 0)],
    ids=["a second overdue", "due this very second", "due a second from now"],
)
def test_a_row_is_sent_from_the_second_it_is_due(alice, smtp_server, due, sent):
    row = queue(alice, due=due)
    assert deliver_at(T0) == sent
    row.refresh_from_db()
    assert row.status == (OutboundEmail.Status.SENT if sent else OutboundEmail.Status.PENDING)
    if not sent:
        assert row.next_attempt_at == due  # a pass that skips it leaves it alone
        assert deliver_at(due) == 1


def test_a_retry_waits_exactly_its_backoff(alice, smtp_server):
    smtp_server.refusals = ["451 Try again later"]
    row = queue(alice, due=T0)
    assert deliver_at(T0) == 0
    row.refresh_from_db()
    assert (row.attempts, row.next_attempt_at) == (1, T0 + dt.timedelta(seconds=60))

    assert deliver_at(T0 + dt.timedelta(seconds=59)) == 0
    assert deliver_at(T0 + dt.timedelta(seconds=60)) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.SENT, 2)


def test_the_backoff_doubles_up_to_its_ceiling(settings):
    settings.OUTBOX_BACKOFF_SECONDS = 675  # 675 s x 2**5 is exactly the six-hour ceiling
    assert services.backoff(1) == dt.timedelta(seconds=675)
    assert services.backoff(2) == dt.timedelta(seconds=1350)
    assert services.backoff(5) == dt.timedelta(seconds=675 * 16)
    assert services.backoff(6) == services.MAX_BACKOFF == dt.timedelta(hours=6)
    assert services.backoff(7) == services.MAX_BACKOFF


# --- Given up: the attempt that reaches OUTBOX_MAX_ATTEMPTS is the last --------------------


@pytest.mark.parametrize(
    ("attempts_before", "status"),
    [
        (MAX_ATTEMPTS - 2, OutboundEmail.Status.PENDING),  # this failure is attempt MAX - 1
        (MAX_ATTEMPTS - 1, OutboundEmail.Status.FAILED),  # this failure is attempt MAX
        (MAX_ATTEMPTS, OutboundEmail.Status.FAILED),  # past it (the limit was lowered)
    ],
    ids=["one attempt inside", "at the limit", "one attempt past"],
)
def test_a_row_is_given_up_at_its_last_attempt(alice, smtp_server, attempts_before, status):
    smtp_server.refusals = ["451 Greylisted"]
    row = queue(alice, due=T0, attempts=attempts_before)

    assert deliver_at(T0) == 0

    row.refresh_from_db()
    assert row.attempts == attempts_before + 1
    assert row.status == status
    assert "451" in row.last_error
    if status == OutboundEmail.Status.PENDING:
        assert row.next_attempt_at == T0 + services.backoff(row.attempts)
        assert services.failed_emails_for(user=alice) == []
    else:
        # Given up visibly, and never tried again.
        assert services.failed_emails_for(user=alice) == [row]
        assert deliver_at(T0 + dt.timedelta(days=1)) == 0
    assert smtp_server.messages == []


def test_the_last_attempt_may_still_succeed(alice, smtp_server):
    row = queue(alice, due=T0, attempts=MAX_ATTEMPTS - 1)
    assert deliver_at(T0) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.SENT, MAX_ATTEMPTS)


def test_a_permanent_refusal_gives_up_on_the_first_attempt(alice, smtp_server):
    smtp_server.refusals = ["550 No such mailbox"]
    row = queue(alice, due=T0)
    assert deliver_at(T0) == 0
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundEmail.Status.FAILED, 1)


# --- The lease: renewed once less than LEASE is left --------------------------------------


@pytest.mark.parametrize(
    ("left", "renewed"),
    [
        (services.LEASE + SECOND, False),
        (services.LEASE, False),
        (services.LEASE - SECOND, True),
    ],
    ids=["a second more than a lease left", "exactly a lease left", "a second less"],
)
def test_a_slow_batch_renews_the_rest_once_less_than_a_lease_is_left(
    alice, before_send, left, renewed
):
    first, second = queue(alice, "lease:1"), queue(alice, "lease:2")
    with time_machine.travel(T0, tick=False) as clock:
        # Renewed at the start of the batch, the second row is held until T0 + LEASE_RENEWED.
        held_until = T0 + services.LEASE_RENEWED
        # The first message takes so long that only ``left`` remains of that lease.
        after_first = held_until - left
        sent = []

        def slow_server(row_id):
            if not sent:  # the first message is the slow one
                clock.move_to(after_first)
            sent.append(row_id)

        server = before_send(slow_server)
        assert services.outbox_deliver_due() == 2

    assert sent == [first.pk, second.pk]
    assert len(server.wait_for(2)) == 2
    second.refresh_from_db()
    assert second.status == OutboundEmail.Status.SENT
    expected = after_first + services.LEASE_RENEWED if renewed else held_until
    assert second.next_attempt_at == expected
