"""Queueing and delivering in bulk: the same rows and mails as one by one, in fewer queries."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.safestring import mark_safe

from apps.notifications import services
from apps.notifications.models import Category, EmailOptOut, OutboundEmail
from apps.notifications.services import EmailItem, delivery
from tests.factories import UserFactory
from tests.helpers import assert_email

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


def test_bulk_rows_equal_one_by_one_rows(both_ways, published):
    """One call queues both partners' e-mails: the one who turned journal mail off gets a
    skipped row, the other their e-mail, each exactly what ``email_enqueue`` gives."""
    actor, partner = both_ways.actor, both_ways.partner
    EmailOptOut.objects.create(user=actor, category=Category.JOURNAL)
    items = [
        item(partner, "one:a"),
        item(actor, "one:b", category=Category.JOURNAL),  # opted out: skipped
        item(partner, "one:c", category=Category.JOURNAL),
        item(actor, "one:d", category=Category.ACCOUNT),  # account mail: no unsubscribe
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
    statuses = dict(OutboundEmail.objects.values_list("dedupe_key", "status"))
    assert (statuses["one:b"], statuses["one:c"]) == ("skipped", "pending")


def test_a_bulk_row_keeps_its_context_and_is_rendered_when_sent(both_ways, smtp_server):
    """The pass stores the context; the worker renders it. What the partner receives is
    the rendered template, with the unsubscribe link the headers carry."""
    partner = both_ways.partner
    with time_machine.travel(T0, tick=False):
        (added,) = services.email_enqueue_many([item(partner, "ctx:1")])
        row = OutboundEmail.objects.get(pk=added.pk)
        assert row.context["name"] == partner.name
        assert row.stored_text == row.stored_html == ""
        assert services.outbox_deliver_due() == 1
    (message,) = smtp_server.wait_for(1)
    url = row.context["unsubscribe_url"]
    assert message["List-Unsubscribe"].strip() == f"<{url}>"
    assert_email(
        message,
        subject="Keepsake test e-mail",
        text=[f"Hello {partner.name},"],
        html=[f"<p>Hello {partner.name},</p>", f'href="{url}"'],
    )


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
    ],
)
def test_fill_texts_render_as_the_templates_render_them(alice, fill, published):
    """The ritual reminder queued in bulk with ``fill`` texts is, byte for byte, the
    reminder rendered on its own (escaping, empty texts, dotted names)."""
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
            [
                item(
                    alice,
                    "bulk",
                    template="ritual_reminder",
                    context={
                        **context,
                        "ritual": {
                            "title": texts["ritual.title"],
                            "description": texts["ritual.description"],
                        },
                    },
                )
            ]
        )
    bulk = OutboundEmail.objects.get(dedupe_key="bulk")
    assert values(bulk) == values(single)
    assert bulk.context["ritual"] == {
        "title": texts["ritual.title"],
        "description": texts["ritual.description"],
    }


def test_a_bulk_context_is_data_never_markup(alice, published):
    """A context is stored as JSON, so a "safe" string is text like any other: escaped
    in the HTML part (the old shared rendering let it through unescaped)."""
    services.email_enqueue_many(
        [
            item(
                alice,
                "safe",
                template="ritual_reminder",
                context={
                    "ritual": {"title": "Tea"},
                    "question": mark_safe("<b>not markup</b>"),
                },
            )
        ]
    )
    assert_email(
        OutboundEmail.objects.get(dedupe_key="safe"),
        html=["&lt;b&gt;not markup&lt;/b&gt;"],
        text=["<b>not markup</b>"],
        absent=["<b>not markup</b></em>"],
    )


def test_a_bulk_context_respects_autoescape_off(alice, published):
    """The test template turns autoescape off: a context text stays as it is there."""
    with time_machine.travel(T0, tick=False):
        single = services.email_enqueue(
            to_email=alice.email,
            template="test",
            context={"name": "A & B"},
            dedupe_key="single",
            category=Category.REMINDERS,
            user=alice,
        )
        services.email_enqueue_many([item(alice, "bulk", context={"name": "A & B"})])
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
    monkeypatch.setattr(delivery, "BATCH_SIZE", 50)

    def queries(n, tag):
        services.email_enqueue_many([item(alice, f"{tag}:{i}") for i in range(n)])
        with CaptureQueriesContext(connection) as ctx:
            assert services.outbox_deliver_due() == n
        return len(ctx.captured_queries)

    assert queries(20, "large") - queries(2, "small") == 18
    assert len(smtp_server.wait_for(22)) == 22


def test_a_slow_batch_renews_the_rest_and_skips_a_row_taken_meanwhile(alice, before_send):
    rows = services.email_enqueue_many([item(alice, f"slow:{i}") for i in range(3)])
    first, second, third = sorted(r.pk for r in rows)
    with time_machine.travel(T0, tick=False) as clock:
        OutboundEmail.objects.update(next_attempt_at=timezone.now())

        def hook(row_id):
            if row_id == first:
                # Sending took so long that less than a lease is left for the rest, and
                # another pass claimed the third row in the meantime.
                clock.shift(services.LEASE + dt.timedelta(minutes=1))
                OutboundEmail.objects.filter(pk=third).update(
                    next_attempt_at=timezone.now() + dt.timedelta(minutes=7)
                )

        server = before_send(hook)
        assert services.outbox_deliver_due() == 2

    assert [m["X-Keepsake-Id"] for m in server.wait_for(2)] == [str(first), str(second)]
    statuses = dict(OutboundEmail.objects.values_list("pk", "status"))
    assert statuses == {first: "sent", second: "sent", third: "pending"}
    assert OutboundEmail.objects.get(pk=third).attempts == 0


def test_messages_sent_before_a_crash_are_recorded(alice, before_send, published):
    rows = services.email_enqueue_many([item(alice, f"crash:{i}") for i in range(3)])
    first = min(r.pk for r in rows)

    def hook(row_id):
        if row_id != first:
            raise RuntimeError("worker stopped")

    before_send(hook)
    with pytest.raises(RuntimeError):
        services.outbox_deliver_due()

    assert OutboundEmail.objects.get(pk=first).status == OutboundEmail.Status.SENT
    assert OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).count() == 2


@pytest.mark.postgres
def test_bulk_insert_on_postgres_stores_every_value_and_keeps_a_key_queued_meanwhile(
    postgres, alice, published
):
    """The PostgreSQL bulk INSERT stores what the ORM would (quotes, backslashes, braces,
    non-ASCII in the JSON columns), and a key someone queued in between keeps its row."""
    tricky = '"Quotes" & back\\slash, {braces}, NULL, é'
    with time_machine.travel(T0, tick=False):
        services.email_enqueue_many([item(alice, "k:1", context={"name": "First"})])
        services.email_enqueue_many(
            [
                item(alice, "k:1", context={"name": "Second"}),
                item(alice, "k:2", context={"name": tricky}),
                item(alice, "k:3", category=Category.ACCOUNT),
            ]
        )
    assert "Hello First," in OutboundEmail.objects.get(dedupe_key="k:1").body_text
    row = OutboundEmail.objects.get(dedupe_key="k:2")
    assert row.user_id == alice.pk and row.context["name"] == tricky
    assert row.headers["List-Unsubscribe"] == f"<{row.context['unsubscribe_url']}>"
    assert (row.status, row.attempts, row.last_error, row.sent_at) == ("pending", 0, "", None)
    assert row.created_at == T0 and row.next_attempt_at == T0
    assert OutboundEmail.objects.get(dedupe_key="k:3").headers == {}
