"""The journal's part of data ownership: export, import, cleaning up after a partner.

A partner's export reads through ``selectors.entries_visible_to`` (their own private
entries included, the partner's never). The operator export (``viewer`` None) holds
every entry. When a partner leaves or deletes their account their private entries
and journal settings go; shared entries and appreciations stay with the space.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch

from .models import Appreciation, Entry, JournalProfile
from .selectors import entries_visible_to


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def export_space(space, viewer) -> dict:
    """Entries with their appreciations (and, for the operator, everyone's settings)."""
    entries = Entry.objects.filter(space=space) if viewer is None else entries_visible_to(viewer)
    entries = (
        entries.select_related("author")
        .prefetch_related(
            Prefetch(
                "appreciations",
                queryset=Appreciation.objects.select_related("from_user").order_by("pk"),
            )
        )
        .order_by("pk")
    )
    profiles = JournalProfile.objects.select_related("user").order_by("user__email")
    profiles = (
        profiles.filter(user=viewer) if viewer is not None else profiles.filter(user__space=space)
    )
    return {
        "journal_entries": [
            {
                "author": entry.author.email,
                "day": _iso(entry.day),
                "text": entry.text,
                "about_partner": entry.about_partner,
                "prompt_key": entry.prompt_key,
                "is_private": entry.is_private,
                "created_at": _iso(entry.created_at),
                "updated_at": _iso(entry.updated_at),
                "appreciations": [
                    {
                        "from_user": a.from_user.email,
                        "heart": a.heart,
                        "reply": a.reply,
                        "created_at": _iso(a.created_at),
                    }
                    for a in entry.appreciations.all()
                ],
            }
            for entry in entries
        ],
        "journal_settings": [
            {
                "user": p.user.email,
                "weekdays": p.weekdays,
                "nudge_time": _iso(p.nudge_time),
                "digest_enabled": p.digest_enabled,
                "last_visit_at": _iso(p.last_visit_at),
            }
            for p in profiles
        ],
    }


def import_space(space, data: dict, user_map: dict) -> None:
    for item in data.get("journal_entries", []):
        entry = Entry.objects.create(
            space=space,
            author=user_map[item["author"]],
            text=item["text"],
            about_partner=item["about_partner"],
            day=dt.date.fromisoformat(item["day"]),
            prompt_key=item["prompt_key"],
            is_private=item["is_private"],
        )
        Entry.objects.filter(pk=entry.pk).update(
            created_at=dt.datetime.fromisoformat(item["created_at"]),
            updated_at=dt.datetime.fromisoformat(item["updated_at"]),
        )
        for a in item["appreciations"]:
            appreciation = Appreciation.objects.create(
                space=space,
                entry=entry,
                from_user=user_map[a["from_user"]],
                heart=a["heart"],
                reply=a["reply"],
            )
            Appreciation.objects.filter(pk=appreciation.pk).update(
                created_at=dt.datetime.fromisoformat(a["created_at"])
            )


def import_finish(space, data: dict, user_map: dict) -> None:
    """After the users joined the space: their settings, with the next nudge scheduled."""
    from .services import journal_settings_update

    for item in data.get("journal_settings", []):
        nudge_time = item["nudge_time"]
        profile = journal_settings_update(
            user=user_map[item["user"]],
            weekdays=item["weekdays"],
            nudge_time=dt.time.fromisoformat(nudge_time) if nudge_time else None,
            digest_enabled=item["digest_enabled"],
        )
        JournalProfile.objects.filter(pk=profile.pk).update(
            last_visit_at=_dt(item.get("last_visit_at"))
        )


# --- Hooks (settings.KEEPSAKE_HOOKS) -------------------------------------------------------


def user_leaving_space(*, user, space) -> None:
    """Private entries go (with the account's journal settings); shared ones stay."""
    Entry.objects.filter(space=space, author=user, is_private=True).delete()
    JournalProfile.objects.filter(user=user).delete()


def user_deleting(*, user) -> None:
    Entry.objects.filter(author=user, is_private=True).delete()
    JournalProfile.objects.filter(user=user).delete()
