"""Reads of the vault, always scoped to the viewer's space and the viewer.

This is where "sealed" is enforced for listing: a letter that has not reached
its opening instant is only ever counted or dated here, never loaded with its
ciphertext for anyone but a draft's author.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import ExtractYear
from django.utils import timezone

from apps.core.humanize import countdown, local_and_home
from apps.core.tz import local_to_utc, local_today, viewer_zone

from .models import Letter, NudgeOptIn, OpeningPresence, open_at_q, sealed_at_q

# Only these columns are ever read for a letter that may still be sealed.
METADATA = ("id", "space_id", "author_id", "recipient_id", "status", "sealed_at", "opens_on")


def letters_written_by(user) -> QuerySet[Letter]:
    """Letters the viewer wrote, in their current space: how views find their own letter."""
    if not getattr(user, "is_authenticated", False) or user.space_id is None:
        return Letter.objects.none()
    return Letter.objects.filter(space_id=user.space_id, author=user)


def drafts_of(*, user) -> list[Letter]:
    """The viewer's own drafts (with ciphertexts, to show their titles to them)."""
    return list(
        Letter.objects.filter(space_id=user.space_id, author=user, status=Letter.Status.DRAFT)
        .select_related("space")  # letter_read binds to the space's uuid
        .order_by("-updated_at")
    )


def waiting_for(*, user, now: dt.datetime) -> list[dict]:
    """Letters to the viewer that are still sealed: how many per opening day, nothing else."""
    return list(
        Letter.objects.sealed_at(now)
        .filter(space_id=user.space_id, recipient=user)
        .values("opens_on")
        .annotate(count=Count("id"))
        .order_by("opens_on")
    )


def sealed_by(*, user, now: dt.datetime) -> list[dict]:
    """Letters the viewer sealed that are not open yet: dates only."""
    return list(
        Letter.objects.sealed_at(now)
        .filter(space_id=user.space_id, author=user)
        .values("id", "sealed_at", "opens_on")
        .order_by("opens_on", "sealed_at")
    )


def opened_years(*, space, now: dt.datetime) -> list[dict]:
    """Every year whose letters have opened, newest first, with how many there were."""
    return list(
        Letter.objects.open_at(now)
        .filter(space=space)
        .annotate(year=ExtractYear("opens_on"))
        .values("year")
        .annotate(count=Count("id"), day=Min("opens_on"))
        .order_by("-year")
    )


def archive_of(*, space, now: dt.datetime) -> list[dict]:
    """Every opened year, newest first, with how many letters each partner wrote."""
    rows = (
        Letter.objects.open_at(now)
        .filter(space=space)
        .annotate(year=ExtractYear("opens_on"))
        .values("year", "author_id", "author__display_name", "author__email")
        .annotate(count=Count("id"), day=Min("opens_on"))
        .order_by("-year", "author__display_name", "author_id")
    )
    years: dict[int, dict] = {}
    for row in rows:
        entry = years.setdefault(
            row["year"], {"year": row["year"], "day": row["day"], "count": 0, "authors": []}
        )
        name = row["author__display_name"] or row["author__email"].split("@")[0]
        entry["authors"].append({"name": name, "count": row["count"]})
        entry["count"] += row["count"]
        entry["day"] = min(entry["day"], row["day"])
    return list(years.values())


def letters_of_year(*, space, year: int, now: dt.datetime) -> list[Letter]:
    """The year's letters that have reached their opening instant, oldest sealed first."""
    return list(
        Letter.objects.open_at(now)
        .filter(space=space, opens_on__year=year)
        .select_related("author", "recipient", "space")
        .prefetch_related("reads")
        .order_by("author__display_name", "author_id", "sealed_at")
    )


def year_still_sealed(*, space, year: int, now: dt.datetime) -> list[dict]:
    """For a year not open yet: how many letters wait, per day (no other detail)."""
    return list(
        Letter.objects.sealed_at(now)
        .filter(space=space, opens_on__year=year)
        .values("opens_on")
        .annotate(count=Count("id"))
        .order_by("opens_on")
    )


def open_letter_for(*, user, pk, now: dt.datetime) -> Letter | None:
    """A letter of the viewer's space that has opened (metadata only), else None."""
    return (
        Letter.objects.open_at(now)
        .filter(space_id=user.space_id, pk=pk)
        .filter(Q(author=user) | Q(recipient=user))
        .only(*METADATA, "opens_at")
        .first()
    )


def year_has_opened(*, space, year: int, now: dt.datetime) -> bool:
    """Whether any letter of ``year`` has reached its opening instant."""
    return Letter.objects.open_at(now).filter(space=space, opens_on__year=year).exists()


def presence_in(*, space, year: int) -> list[int]:
    return list(
        OpeningPresence.objects.filter(space=space, year=year).values_list("user_id", flat=True)
    )


def reads_of(letters: list[Letter]) -> dict:
    """{(letter id, user id): first read instant} from prefetched reads."""
    return {(r.letter_id, r.user_id): r.first_read_at for ltr in letters for r in ltr.reads.all()}


def next_opening_day(*, space, now: dt.datetime) -> dt.date:
    """Today if it is the anniversary, else the next one (space's zone)."""
    today = local_today(space.time_zone, now)
    day = space.anniversary_in(today.year)
    return day if day >= today else space.anniversary_in(today.year + 1)


def opening_words(*, at: dt.datetime, now: dt.datetime, zone: str, home: str) -> dict:
    """How a viewer reads an opening instant (docs/time.md): a countdown to it, and when
    it is in their zone with home time beside ("Thu 3 Dec 2026 at 10:00 (home time: 00:00)")."""
    return {
        "opens_at": at,
        "countdown": countdown(at, now, zone),
        "when": local_and_home(at, zone=zone, home=home, date_format="D j M Y", sep=" at "),
    }


def vault_opening(*, space, user, now: dt.datetime) -> dict:
    """The vault page's next opening: the day (home date), whether it has come, the words."""
    day = next_opening_day(space=space, now=now)
    at = local_to_utc(day, dt.time(0, 0), space.time_zone)
    zone = viewer_zone(user.time_zone, space.time_zone)
    return {
        "day": day,
        "is_open": at <= now,
        **opening_words(at=at, now=now, zone=zone, home=space.time_zone),
    }


def dashboard_vault(*, space, user, now: dt.datetime | None = None) -> dict:
    """What the dashboard shows of the vault for this viewer (one query).

    The counter points at the next instant at which a letter to or from the viewer
    actually opens: letters keep the instant fixed at sealing, which is not always the
    current anniversary. Without sealed letters it points at the next anniversary,
    as an invitation to write. "Today is opening day" once letters opened on the
    viewer's today (their zone). The countdown and the date are the viewer's too.
    """
    now = now or timezone.now()
    home = space.time_zone
    zone = viewer_zone(user.time_zone, home)
    today = local_today(home, now)
    viewer_midnight = local_to_utc(local_today(zone, now), dt.time(0, 0), zone)
    still_sealed = sealed_at_q(now)
    opened = open_at_q(now)
    theirs = Q(author=user) | Q(recipient=user)
    counts = Letter.objects.filter(space=space).aggregate(
        drafts=Count("id", filter=Q(author=user, status=Letter.Status.DRAFT)),
        waiting=Count("id", filter=still_sealed & Q(recipient=user)),
        sealed=Count("id", filter=still_sealed & Q(author=user)),
        open_this_year=Count("id", filter=opened & Q(opens_on__year=today.year)),
        opened_today=Max("opens_on", filter=opened & Q(opens_at__gte=viewer_midnight)),
        next_sealed=Min("opens_on", filter=still_sealed & theirs),
        next_sealed_at=Min("opens_at", filter=still_sealed & theirs),
    )
    opened_today = counts.pop("opened_today")
    next_sealed = counts.pop("next_sealed")
    next_sealed_at = counts.pop("next_sealed_at")
    anniversary_today = False
    if opened_today is not None:
        day, at = opened_today, None
    elif next_sealed is not None:
        day, at = next_sealed, next_sealed_at
    else:
        day = next_opening_day(space=space, now=now)
        at = local_to_utc(day, dt.time(0, 0), home)
        anniversary_today = at <= now  # and no letters: one written now opens next year
    words = opening_words(at=at, now=now, zone=zone, home=home) if at else {}
    return {
        "next_opening": day,
        "is_today": opened_today is not None,
        "letters_then": next_sealed is not None and opened_today is None,
        "anniversary_today": anniversary_today,
        "year": day.year,
        **words,
        **counts,
    }


def nudge_of(*, user) -> NudgeOptIn | None:
    return NudgeOptIn.objects.filter(user=user).first()
