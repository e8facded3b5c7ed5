"""The rituals app's e-mails: the reminder and the "moved" note, their dedupe keys and links.

Each kind's dedupe key is built by one function: the outbox sends a key once, so a
pass run twice (or two workers) never sends one reminder twice.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse

from apps.core.tz import get_zone
from apps.notifications.models import Category
from apps.notifications.services import EmailItem, email_enqueue

from ..models import ReminderSchedule, Ritual
from ..questions import QUESTIONS
from .check_ins import checkin_signer, checkin_token


def reminder_dedupe_key(*, ritual_id: int, day: dt.date, user_id: int) -> str:
    """One reminder per ritual, occurrence and partner."""
    return f"ritual-reminder:{ritual_id}:{day.isoformat()}:{user_id}"


def moved_dedupe_key(
    *, ritual_id: int, day: dt.date, user_id: int, now_at: dt.datetime | None
) -> str:
    """One "moved" note per new time of an occurrence (``now_at`` None: the day is gone)."""
    return (
        f"ritual-moved:{ritual_id}:{day.isoformat()}:{user_id}:"
        f"{now_at.isoformat() if now_at else 'off'}"
    )


def when_text(instant: dt.datetime, zone: str) -> str:
    """An instant as the e-mails say it: "Monday 2 March at 19:30 (Europe/Berlin)"."""
    local = instant.astimezone(get_zone(zone))
    return f"{local:%A %-d %B at %H:%M} ({zone.replace('_', ' ')})"


def ritual_url(ritual_id: int) -> str:
    return settings.SITE_URL + reverse("rituals:detail", args=[ritual_id])


def ritual_moved_enqueue(
    *, ritual: Ritual, user, day: dt.date, was: dt.datetime, now_at: dt.datetime | None
) -> None:
    """Tell someone already reminded of ``day`` at ``was`` that it is now at ``now_at``
    (None: the edit removed the day)."""
    email_enqueue(
        to_email=user.email,
        template="ritual_moved",
        context={
            "ritual": ritual,
            "recipient_name": user.name,
            "was": when_text(was, user.zone),
            "when": when_text(now_at, user.zone) if now_at else "",
            "ritual_url": ritual_url(ritual.pk),
        },
        dedupe_key=moved_dedupe_key(ritual_id=ritual.pk, day=day, user_id=user.pk, now_at=now_at),
        category=Category.REMINDERS,
        user=user,
    )


class Links:
    """The pass's URLs: each pattern reversed once per batch, then filled in per reminder
    (the same URLs ``checkin_url`` and ``ritual_url`` give; tokens need no quoting)."""

    def __init__(self) -> None:
        self.checkin = reverse("rituals:email_check_in", args=["~token~", "~action~"])
        self.detail = reverse("rituals:detail", args=[0]).replace("/0/", "/~pk~/")
        self.signer = checkin_signer()

    def checkin_url(self, *, ritual_id: int, day: dt.date, user_id: int, action: str) -> str:
        token = checkin_token(ritual_id=ritual_id, day=day, user_id=user_id, signer=self.signer)
        path = self.checkin.replace("~token~", token).replace("~action~", action)
        return settings.SITE_URL + path

    def ritual_url(self, ritual_id: int) -> str:
        return settings.SITE_URL + self.detail.replace("~pk~", str(ritual_id))


def reminder_email(row: ReminderSchedule, occ, question: int | None, links: Links) -> EmailItem:
    """The reminder e-mail of one row. Every text differs per recipient (``fill``): the
    templates use them plainly, so the outbox renders the templates once per batch."""
    ritual, user = row.ritual, row.user
    day, occ_at = occ.day, occ.at
    space_zone = ritual.space.time_zone
    fill = {
        "ritual.title": ritual.title,
        "ritual.description": ritual.description,
        "recipient_name": user.name,
        "when": when_text(occ_at, user.zone),
        "when_space": when_text(occ_at, space_zone) if space_zone != user.zone else "",
        "question": QUESTIONS[question] if question is not None else "",
        "giver_name": (
            ("you" if ritual.giver_id == user.pk else ritual.giver.name)
            if ritual.participation == Ritual.Participation.GIVES and ritual.giver_id
            else ""
        ),
        "kept_url": links.checkin_url(ritual_id=ritual.pk, day=day, user_id=user.pk, action="kept"),
        "skip_url": links.checkin_url(
            ritual_id=ritual.pk, day=day, user_id=user.pk, action="skipped"
        ),
        "ritual_url": links.ritual_url(ritual.pk),
    }
    return EmailItem(
        to_email=user.email,
        template="ritual_reminder",
        context={},
        fill=fill,
        dedupe_key=reminder_dedupe_key(ritual_id=ritual.pk, day=day, user_id=user.pk),
        category=Category.REMINDERS,
        user=user,
    )
