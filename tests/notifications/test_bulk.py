"""Queueing and delivering in bulk: the same rows and mails as one by one, in fewer queries."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.mail.message import sanitize_address
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.safestring import mark_safe

from apps.notifications import services
from apps.notifications.models import Category, EmailOptOut, OutboundEmail
from apps.notifications.services import EmailItem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
FIELDS = ("to_email", "category", "template", "subject", "body_text", "body_html", "headers")


def item(user, key, **extra):
    return EmailItem(
        to_email=user.email,
        template=extra.pop("template", "test"),
        context=extra.pop("context", {"name": user.name}),
        dedupe_key=key,
        category=extra.pop("category", Category.REMINDERS),
        user=user,
        **extra,
    )


def values(row):
    return {f: getattr(row, f) for f in FIELDS} | {"status": row.status, "user": row.user_id}


@pytest.fixture
def published(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "queue_on_commit", lambda task, *args: calls.append(args))
    return calls


def test_bulk_rows_equal_one_by_one_rows(alice, bob, published):
    EmailOptOut.objects.create(user=bob, category=Category.JOURNAL)
    items = [
        item(alice, "one:a"),
        item(bob, "one:b", category=Category.JOURNAL),  # opted out: skipped
        item(bob, "one:c", category=Category.ACCOUNT),  # account mail: no unsubscribe
    ]
    with time_machine.travel(T0, tick=False):
        singles = [
            services.email_enqueue(
                to_email=i.to_email,
                template=i.template,
                context=i.context,
                dedupe_key=f"single-{i.dedupe_key}",
                category=i.category,
                user=i.user,
            )
            for i in items
        ]
        services.email_enqueue_many(items)
    for single, bulk in zip(singles, items, strict=True):
        assert values(OutboundEmail.objects.get(dedupe_key=bulk.dedupe_key)) == values(single)


@pytest.mark.parametrize(
    "fill",
    [
        {"when_space": "", "giver_name": "", "question": "", "ritual.description": ""},
        {
            "when_space": "Friday 1 May at 19:30 (Europe/Berlin)",
            "giver_name": 'Bob <the kind> & "gentle"',
            "question": "What made you laugh this week? Isn't it 'odd'?",
            "ritual.description": "Phones off & a pot of tea <3",
        },
        {"question": mark_safe("<b>already safe</b>"), "giver_name": "you"},
    ],
)
def test_shared_rendering_fills_in_texts_as_the_templates_would(alice, fill, published):
    """The ritual reminder rendered once per batch and filled in per recipient is, byte for
    byte, the reminder rendered on its own (escaping, empty texts, safe strings)."""
    texts = {
        "ritual.title": "Tea & talk",
        "ritual.description": "",
        "recipient_name": "Alice O'Hara",
        "when": "Friday 1 May at 18:30 (Europe/London)",
        "when_space": "",
        "question": "",
        "giver_name": "",
        "kept_url": "https://keepsake.test/rituals/answer/a:b/kept/?x=1&y=2",
        "skip_url": "https://keepsake.test/rituals/answer/a:b/skipped/",
        "ritual_url": "https://keepsake.test/rituals/7/",
    } | fill

    class Ritual:
        title = texts["ritual.title"]
        description = texts["ritual.description"]

    context = {k: v for k, v in texts.items() if not k.startswith("ritual.")}
    with time_machine.travel(T0, tick=False):
        single = services.email_enqueue(
            to_email=alice.email,
            template="ritual_reminder",
            context={**context, "ritual": Ritual()},
            dedupe_key="single",
            category=Category.REMINDERS,
            user=alice,
        )
        services.email_enqueue_many(
            [item(alice, "bulk", template="ritual_reminder", context={}, fill=texts)]
        )
    bulk = OutboundEmail.objects.get(dedupe_key="bulk")
    assert values(bulk) == values(single)
    assert "\ue000" not in bulk.body_html + bulk.body_text + bulk.subject


def test_fill_respects_autoescape_off(alice, published):
    """The test template turns autoescape off: a filled-in text stays as it is there."""
    with time_machine.travel(T0, tick=False):
        single = services.email_enqueue(
            to_email=alice.email,
            template="test",
            context={"name": "A & B"},
            dedupe_key="single",
            category=Category.REMINDERS,
            user=alice,
        )
        services.email_enqueue_many([item(alice, "bulk", context={}, fill={"name": "A & B"})])
    assert values(OutboundEmail.objects.get(dedupe_key="bulk")) == values(single)
    assert "Hello A & B," in single.body_text


def test_existing_keys_are_kept_and_only_new_rows_returned(alice, bob, published):
    first = services.email_enqueue_many([item(alice, "k:1")])
    assert [r.dedupe_key for r in first] == ["k:1"]
    before = OutboundEmail.objects.get(dedupe_key="k:1")

    added = services.email_enqueue_many(
        [item(alice, "k:1", context={"name": "Changed"}), item(bob, "k:2"), item(bob, "k:2")]
    )

    assert [r.dedupe_key for r in added] == ["k:2"]
    assert OutboundEmail.objects.count() == 2
    assert OutboundEmail.objects.get(dedupe_key="k:1").body_text == before.body_text
    assert services.email_enqueue_many([item(alice, "k:1")]) == []


def test_one_delivery_task_per_call_for_the_pending_rows(alice, bob, published):
    EmailOptOut.objects.create(user=bob, category=Category.REMINDERS)

    added = services.email_enqueue_many(
        [item(alice, f"t:{i}") for i in range(5)] + [item(bob, "t:bob")]
    )

    assert len(published) == 1
    pending = [r.pk for r in added if r.status == OutboundEmail.Status.PENDING]
    assert sorted(published[0][0]) == sorted(pending) and len(pending) == 5
    assert OutboundEmail.objects.get(dedupe_key="t:bob").status == OutboundEmail.Status.SKIPPED


def test_queue_query_count_does_not_grow_with_items(space, published):
    def queries(n, tag):
        users = [UserFactory(space=None) for _ in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            services.email_enqueue_many([item(u, f"{tag}:{u.pk}") for u in users])
        return len(ctx.captured_queries)

    assert queries(2, "small") == queries(25, "large")


def test_bulk_queue_is_delivered_on_commit_over_one_connection(
    alice, bob, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.email_enqueue_many([item(alice if i % 2 else bob, f"c:{i}") for i in range(6)])

    messages = smtp_server.wait_for(6)
    assert len(messages) == 6
    assert smtp_server.connections == 1
    assert all(m["List-Unsubscribe"] for m in messages)
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count() == 6
    assert set(OutboundEmail.objects.values_list("attempts", flat=True)) == {1}


def test_delivery_writes_one_row_per_message_and_nothing_else_per_row(
    alice, smtp_server, monkeypatch
):
    """Claiming, lease renewal and the opt-out check are per batch; the only per-message
    query is the record of that message sent, committed as soon as the server took it
    (so a killed worker can double at most the message in flight)."""
    monkeypatch.setattr(services, "BATCH_SIZE", 50)

    def queries(n, tag):
        services.email_enqueue_many([item(alice, f"{tag}:{i}") for i in range(n)])
        with CaptureQueriesContext(connection) as ctx:
            assert services.outbox_deliver_due() == n
        return [q["sql"] for q in ctx.captured_queries]

    small, large = queries(2, "small"), queries(20, "large")
    assert len(large) - len(small) == 18
    per_message = [sql for sql in large if sql.startswith("UPDATE") and "sent_at = " in sql]
    assert len(per_message) == 20
    assert len(smtp_server.wait_for(22)) == 22


class _RecordingSession(services._SmtpSession):
    def __init__(self, on_send=None):
        super().__init__()
        self.sent, self.on_send = [], on_send

    def send(self, row):
        if self.on_send:
            self.on_send(row, self)
        self.sent.append(row.pk)


def test_a_slow_batch_renews_the_rest_and_skips_a_row_taken_meanwhile(alice, published):
    rows = services.email_enqueue_many([item(alice, f"slow:{i}") for i in range(3)])
    first, second, third = sorted(r.pk for r in rows)
    with time_machine.travel(T0, tick=False) as clock:
        OutboundEmail.objects.update(next_attempt_at=timezone.now())
        claimed = services._claim(now=timezone.now())

        def on_send(row, session):
            if row.pk == first:
                # Sending took so long that less than a lease is left for the rest, and
                # another pass claimed the third row in the meantime.
                clock.shift(services.LEASE + dt.timedelta(minutes=1))
                OutboundEmail.objects.filter(pk=third).update(
                    next_attempt_at=timezone.now() + dt.timedelta(minutes=7)
                )

        smtp = _RecordingSession(on_send)
        assert services._send_rows(claimed, smtp) == 2

    assert smtp.sent == [first, second]
    statuses = dict(OutboundEmail.objects.values_list("pk", "status"))
    assert statuses == {first: "sent", second: "sent", third: "pending"}
    assert OutboundEmail.objects.get(pk=third).attempts == 0


def test_messages_sent_before_a_crash_are_recorded(alice, published):
    rows = services.email_enqueue_many([item(alice, f"crash:{i}") for i in range(3)])
    first = min(r.pk for r in rows)

    def on_send(row, session):
        if row.pk != first:
            raise RuntimeError("worker stopped")

    claimed = services._claim(now=timezone.now())
    with pytest.raises(RuntimeError):
        services._send_rows(claimed, _RecordingSession(on_send))

    assert OutboundEmail.objects.get(pk=first).status == OutboundEmail.Status.SENT
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).count() == 2


@pytest.mark.parametrize(
    "address",
    [
        "alice@example.com",
        "a.b+c@mail.example.org",
        "o'hara@example.ie",
        "a..b@example.com",
        "Alice <alice@example.com>",
        "jörg@example.de",
        "user@bücher.example",
    ],
)
def test_plain_address_shortcut_agrees_with_django(address):
    if services._PLAIN_ADDRESS.fullmatch(address):
        assert sanitize_address(address, "utf-8") == address
