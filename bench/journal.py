"""Journal: seed 10,000 entries, time the journal page and search (median / p95).

Run on PostgreSQL for figures that mean something:
``DATABASE_URL=postgres://… python -m bench journal``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

ENTRIES = 10_000
RUNS = 30
WORDS = [
    "tea",
    "walk",
    "soup",
    "garden",
    "laugh",
    "music",
    "rain",
    "letter",
    "bread",
    "candle",
    "bicycle",
    "window",
    "morning",
    "evening",
    "sunset",
    "picnic",
    "coffee",
    "flowers",
    "blanket",
    "puzzle",
]


def _seed(space, alice, bob) -> None:
    from apps.journal.models import Appreciation, Entry

    start = dt.date(2026, 11, 20)
    rows = []
    for i in range(ENTRIES):
        author = (alice, bob)[i % 2]
        words = " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7, 11))
        rows.append(
            Entry(
                space=space,
                author=author,
                text=f"Grateful today for the {words}, entry {i}.",
                day=start - dt.timedelta(days=i // 3),
                is_private=i % 10 == 0,
            )
        )
    Entry.objects.bulk_create(rows, batch_size=2000)
    liked = Entry.objects.filter(author=alice, is_private=False).order_by("-day")[:1000]
    Appreciation.objects.bulk_create(
        Appreciation(space=space, entry=e, from_user=bob, reply="Thank you") for e in liked
    )


def _time(client, url: str, params: dict) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, params)  # warm up
    samples = []
    queries = 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url, params)
            samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
        queries = len(ctx.captured_queries)
    return samples, queries


def _report(label: str, samples: list[float], queries: int) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(
        f"{label:<34} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms"
        f"   ({queries} queries, {len(ordered)} runs)"
    )


def main() -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from bench._db import test_database

    settings.ALLOWED_HOSTS = ["*"]
    with test_database():
        from apps.accounts.models import Space, User

        space = Space.objects.create(
            name="Bench", time_zone="Europe/Berlin", anniversary=dt.date(2019, 6, 14)
        )
        alice = User.objects.create_user("alice@bench.test", "x", space=space, display_name="A")
        bob = User.objects.create_user("bob@bench.test", "x", space=space, display_name="B")
        t0 = time.perf_counter()
        _seed(space, alice, bob)
        if connection.vendor == "postgresql":
            # What autovacuum does on a live database soon after a bulk load.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE journal_entry")
                cursor.execute("ANALYZE journal_appreciation")
        print(
            f"database: {connection.vendor}; seeded {ENTRIES:,} entries "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        client = Client()
        client.force_login(bob)
        for label, params in [
            ("journal page 1", {}),
            ("journal page 50", {"page": 50}),
            ("journal filtered (author+month)", {"author": alice.pk, "month": "2026-06"}),
            ("search one word", {"q": "picnic"}),
            ("search two words", {"q": "garden sunset"}),
            ("search, no match", {"q": "volcano"}),
        ]:
            _report(label, *_time(client, "/journal/", params))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "EXPLAIN SELECT id FROM journal_entry WHERE "
                    "to_tsvector('simple'::regconfig, COALESCE(text, '')) "
                    "@@ websearch_to_tsquery('simple'::regconfig, 'picnic')"
                )
                plan = " ".join(row[0] for row in cursor.fetchall())
            print("full-text index used:", "journal_entry_fts" in plan)


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    django.setup()
    main()
