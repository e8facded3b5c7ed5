"""Rituals benchmark: the reminder pass at scale, and outbox delivery to a local SMTP server.

Seeds RITUALS_BENCH_SPACES spaces (default 100,000, the issue's size: about a minute of
seeding on PostgreSQL; ``RITUALS_BENCH_SPACES=2000 python -m bench rituals`` for a quick
look) with two partners and three rituals each, 1% of the reminder rows due. Prints:
(a) one pass with nothing due, (b) one pass recording and queueing the due reminders,
(c) delivering them from the outbox to a local SMTP server, beside a bare smtplib loop
to the same server (the ceiling). Run on PostgreSQL (DATABASE_URL) for real figures.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import socket
import statistics
import time
from email.message import EmailMessage


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(spaces: int, now: dt.datetime) -> int:
    from django.contrib.auth.hashers import make_password

    from apps.accounts.models import Space, User
    from apps.rituals.models import ReminderSchedule, Ritual

    password = make_password(None)
    today = now.date()
    due_every = 100  # 1% of the rows
    chunk = 2000
    n_due = 0
    for start in range(0, spaces, chunk):
        ids = range(start, min(spaces, start + chunk))
        space_rows = Space.objects.bulk_create(
            [
                Space(name=f"Bench {i}", time_zone="UTC", anniversary=dt.date(2020, 6, 1))
                for i in ids
            ]
        )
        users = User.objects.bulk_create(
            [
                User(email=f"bench{i}{who}@example.com", password=password, space=space)
                for i, space in zip(ids, space_rows, strict=True)
                for who in "ab"
            ]
        )
        rituals = Ritual.objects.bulk_create(
            [
                Ritual(
                    space=space,
                    title=f"Ritual {n}",
                    rrule="FREQ=DAILY",
                    recurrence={"freq": "daily"},
                    starts_on=today - dt.timedelta(days=1),
                    time_of_day=dt.time(23, 0),
                )
                for space in space_rows
                for n in range(3)
            ]
        )
        rows = []
        for k, ritual in enumerate(rituals):
            space_index = k // 3
            for user in users[space_index * 2 : space_index * 2 + 2]:
                due = len(rows) % due_every == 0
                n_due += due
                rows.append(
                    ReminderSchedule(
                        ritual=ritual,
                        user=user,
                        next_occurrence=today,
                        # Due rows a minute ago; the others later today.
                        next_remind_at=(now - dt.timedelta(minutes=1))
                        if due
                        else dt.datetime.combine(today, dt.time(22, 30), tzinfo=dt.UTC),
                        zones="UTC|UTC",
                    )
                )
        ReminderSchedule.objects.bulk_create(rows, batch_size=5000)
    return n_due


def _warm_up() -> None:
    from django.template.loader import get_template
    from django.urls import reverse

    reverse("rituals:detail", args=[1])
    for part in ("subject.txt", "message.txt", "message.html"):
        get_template(f"emails/ritual_reminder_{part}")


def main() -> None:
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.notifications import services as outbox
    from apps.notifications.models import OutboundEmail

    from ._db import test_database

    spaces = int(os.environ.get("RITUALS_BENCH_SPACES", "100000"))
    now = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    with test_database():
        t0 = time.perf_counter()
        n_due = _seed(spaces, now)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE")
        print(
            f"seeded {spaces:,} spaces, {spaces * 3:,} rituals, {spaces * 6:,} reminder rows "
            f"({n_due:,} due) on {connection.vendor} in {time.perf_counter() - t0:.1f}s"
        )
        from apps.core.scheduling import due_ids
        from apps.rituals.models import ReminderSchedule
        from apps.rituals.services import BATCH_SIZE, reminders_schedule_due

        # (a) Nothing due (an hour earlier).
        idle = []
        for _ in range(20):
            t = time.perf_counter()
            reminders_schedule_due(now=now - dt.timedelta(hours=1))
            idle.append((time.perf_counter() - t) * 1000)
        print(
            f"(a) pass with nothing due: median {statistics.median(idle):.2f} ms, "
            f"best {min(idle):.2f} ms (target < 20 ms)"
        )
        if connection.vendor == "postgresql":
            with transaction.atomic():
                qs = due_ids(
                    ReminderSchedule.objects.all(), due="next_remind_at", now=now, limit=BATCH_SIZE
                )
                plan = qs.explain()
            print("    due-row plan:", " / ".join(line.strip() for line in plan.splitlines()))
            print("    uses ritual_schedule_due_idx:", "ritual_schedule_due_idx" in plan)

        # (b) Record and queue every due reminder. Publishing the delivery task (one per
        # batch) is left out (no broker here); step (c) delivers through the outbox pass.
        # A running worker has loaded the URLconf and compiled the e-mail templates long
        # before; do that first so the figure is the pass, not the process's first call.
        _warm_up()
        published = []
        queued_publish = outbox.queue_on_commit
        outbox.queue_on_commit = lambda task, *args: published.append(task.name)
        try:
            t, cpu = time.perf_counter(), time.process_time()
            handled = reminders_schedule_due(now=now)
            took, cpu = time.perf_counter() - t, time.process_time() - cpu
        finally:
            outbox.queue_on_commit = queued_publish
        rate = handled / took if took else 0
        print(
            f"(b) pass recording and queueing {handled:,} due reminders: {took:.2f}s, "
            f"{rate:,.0f} reminders/s (target >= 2,000/s); "
            f"{len(published)} delivery task(s) published"
        )
        print(
            f"    this process's CPU: {cpu:.2f}s, {handled / cpu if cpu else 0:,.0f} reminders "
            "per CPU-second (the rest is PostgreSQL and waiting for a core)"
        )

        # (c) Deliver from the outbox to a local SMTP server, one worker.
        received = []

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                received.append(len(envelope.content))
                return "250 OK"

        # aiosmtpd logs every SMTP command at INFO, in this process: that would measure the
        # logging, for both figures below, more than the delivery.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        port = _free_port()
        controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        controller.start()
        try:
            settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
            settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
            settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
            settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
            pending = OutboundEmail.objects.filter(status="pending").count()
            t, cpu = time.perf_counter(), time.process_time()
            # The rows were queued on the real clock, which may be past the pinned noon.
            due = max(now, timezone.now()) + dt.timedelta(minutes=1)
            sent = outbox.outbox_deliver_due(now=due, limit=pending)
            took, cpu = time.perf_counter() - t, time.process_time() - cpu
            print(
                f"(c) outbox delivery, bodies rendered as they go out: {sent:,} e-mails in "
                f"{took:.2f}s, {sent / took if took else 0:,.0f} e-mails/s (target >= 200/s); "
                f"{len(received):,} received"
            )
            print(
                f"    this process's CPU (worker and the SMTP server's thread): {cpu:.2f}s, "
                f"{sent / cpu if cpu else 0:,.0f} e-mails per CPU-second"
            )
            sample = OutboundEmail.objects.first()
            message = EmailMessage()
            message["From"], message["To"] = settings.DEFAULT_FROM_EMAIL, "x@example.com"
            message["Subject"] = sample.subject if sample else "Bench"
            message.set_content(sample.body_text if sample else "Bench")
            count = max(sent, 1)
            t = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                for _ in range(count):
                    smtp.send_message(message)
            took = time.perf_counter() - t
            print(f"    bare smtplib loop, one connection: {count / took:,.0f} e-mails/s (ceiling)")
        finally:
            controller.stop()


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    import django

    django.setup()
    main()
