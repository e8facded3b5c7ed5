"""Rituals' part of data ownership: export, import, and cleaning up after a partner.

Called by ``apps.portability`` (export/import) and through ``settings.KEEPSAKE_HOOKS``
(``user_leaving_space``, ``user_deleting``). Check-ins are shared history: they stay
with the space when their author leaves. What goes is personal: reminder schedules,
reminder preferences, the reminder log and the calendar feed address.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Prefetch

from .models import (
    CalendarFeed,
    CheckIn,
    QuestionUse,
    Reminder,
    ReminderPreference,
    ReminderSchedule,
    Ritual,
)
from .recurrence import rrule_validate


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _email(user) -> str | None:
    return user.email if user is not None else None


def export_space(space, viewer) -> dict:
    """Rituals, their check-ins and (for an operator export) everyone's reminder choices.

    ``viewer`` None is the operator's full export; otherwise only the viewer's own
    reminder choices are included. Five queries whatever the number of rows.
    """
    questions: dict[int, list] = {}
    for use in QuestionUse.objects.filter(space=space).order_by("pk"):
        questions.setdefault(use.ritual_id, []).append(
            {"occurrence": _iso(use.occurrence), "question": use.question, "cycle": use.cycle}
        )
    rituals = (
        Ritual.objects.filter(space=space)
        .select_related("giver", "created_by")
        .prefetch_related(
            Prefetch("check_ins", queryset=CheckIn.objects.select_related("user").order_by("pk")),
            Prefetch(
                "preferences",
                queryset=ReminderPreference.objects.select_related("user").order_by("pk"),
            ),
        )
        .order_by("pk")
    )
    out = []
    for ritual in rituals:
        prefs = [p for p in ritual.preferences.all() if viewer is None or p.user_id == viewer.pk]
        out.append(
            {
                "title": ritual.title,
                "description": ritual.description,
                "participation": ritual.participation,
                "giver": _email(ritual.giver),
                "rrule": ritual.rrule,
                "recurrence": ritual.recurrence,
                "starts_on": _iso(ritual.starts_on),
                "time_of_day": _iso(ritual.time_of_day),
                "duration_minutes": ritual.duration_minutes,
                "status": ritual.status,
                "is_conversation": ritual.is_conversation,
                "library_key": ritual.library_key,
                "created_by": _email(ritual.created_by),
                "created_at": _iso(ritual.created_at),
                "updated_at": _iso(ritual.updated_at),
                "questions_asked": questions.get(ritual.pk, []),
                "check_ins": [
                    {
                        "occurrence": _iso(c.occurrence),
                        "user": c.user.email,
                        "status": c.status,
                        "note": c.note,
                        "feeling": c.feeling,
                        "created_at": _iso(c.created_at),
                        "updated_at": _iso(c.updated_at),
                    }
                    for c in ritual.check_ins.all()
                ],
                "reminder_preferences": [
                    {"user": p.user.email, "kind": p.kind, "minutes_before": p.minutes_before}
                    for p in prefs
                ],
            }
        )
    defaults = ReminderPreference.objects.filter(ritual=None).select_related("user")
    defaults = (
        defaults.filter(user=viewer) if viewer is not None else defaults.filter(user__space=space)
    )
    return {
        "rituals": out,
        "reminder_defaults": [
            {"user": p.user.email, "kind": p.kind, "minutes_before": p.minutes_before}
            for p in defaults.order_by("user__email")
        ],
    }


def check_import(data: dict) -> list[str]:
    """Why the rituals of ``data`` cannot be imported (empty if they can); reads nothing.

    A restored rule is checked as the form checks it: a bad one would never fire, or
    would hang the pages and the reminder pass.
    """
    problems = []
    for item in data.get("rituals", []):
        try:
            rrule_validate(item["rrule"], dt.date.fromisoformat(item["starts_on"]))
        except ValidationError as exc:
            problems.append(
                f"ritual {item['title']!r}: its schedule {item['rrule']!r} cannot be used "
                f"({' '.join(exc.messages)})"
            )
    return problems


def import_space(space, data: dict, user_map: dict) -> None:
    """Recreate ``export_space(space, None)``'s rows in ``space``; users by e-mail."""

    def user(email):
        return user_map[email] if email else None

    for item in data.get("rituals", []):
        ritual = Ritual.objects.create(
            space=space,
            title=item["title"],
            description=item["description"],
            participation=item["participation"],
            giver=user(item["giver"]),
            # Checked by ``check_import``; stored as the form stores it.
            rrule=rrule_validate(item["rrule"], dt.date.fromisoformat(item["starts_on"])),
            recurrence=item["recurrence"],
            starts_on=dt.date.fromisoformat(item["starts_on"]),
            time_of_day=dt.time.fromisoformat(item["time_of_day"]),
            duration_minutes=item["duration_minutes"],
            status=item["status"],
            is_conversation=item["is_conversation"],
            library_key=item["library_key"],
            created_by=user(item["created_by"]),
        )
        Ritual.objects.filter(pk=ritual.pk).update(
            created_at=dt.datetime.fromisoformat(item["created_at"]),
            updated_at=dt.datetime.fromisoformat(item["updated_at"]),
        )
        QuestionUse.objects.bulk_create(
            QuestionUse(
                space=space,
                ritual=ritual,
                occurrence=dt.date.fromisoformat(q["occurrence"]),
                question=q["question"],
                cycle=q["cycle"],
            )
            for q in item.get("questions_asked", [])
        )
        for c in item["check_ins"]:
            check_in = CheckIn.objects.create(
                space=space,
                ritual=ritual,
                occurrence=dt.date.fromisoformat(c["occurrence"]),
                user=user(c["user"]),
                status=c["status"],
                note=c["note"],
                feeling=c["feeling"],
            )
            CheckIn.objects.filter(pk=check_in.pk).update(
                created_at=dt.datetime.fromisoformat(c["created_at"]),
                updated_at=dt.datetime.fromisoformat(c["updated_at"]),
            )
        ReminderPreference.objects.bulk_create(
            ReminderPreference(
                user=user(p["user"]),
                ritual=ritual,
                kind=p["kind"],
                minutes_before=p["minutes_before"],
            )
            for p in item["reminder_preferences"]
        )
    ReminderPreference.objects.bulk_create(
        ReminderPreference(
            user=user(p["user"]), ritual=None, kind=p["kind"], minutes_before=p["minutes_before"]
        )
        for p in data.get("reminder_defaults", [])
    )


def import_finish(space) -> None:
    """After the import's users joined the space: compute their reminder schedules."""
    from .services import schedules_sync_space

    schedules_sync_space(space=space)


# --- Hooks (settings.KEEPSAKE_HOOKS) -------------------------------------------------------


def user_leaving_space(*, user, space) -> None:
    """The partner leaves: their reminders stop; check-ins stay with the space."""
    ReminderSchedule.objects.filter(user=user, ritual__space=space).delete()
    Reminder.objects.filter(recipient=user, ritual__space=space).delete()
    ReminderPreference.objects.filter(user=user).delete()
    CalendarFeed.objects.filter(user=user).delete()


def user_deleting(*, user) -> None:
    """The account goes: every personal ritual row of theirs, in any space."""
    ReminderSchedule.objects.filter(user=user).delete()
    Reminder.objects.filter(recipient=user).delete()
    ReminderPreference.objects.filter(user=user).delete()
    CalendarFeed.objects.filter(user=user).delete()
