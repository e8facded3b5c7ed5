"""Reads of the rituals app, always scoped to a space (and the viewer).

Every function here runs a fixed number of queries, whatever the amount of data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, QuerySet
from django.utils import timezone

from apps.accounts.models import MAX_MEMBERS
from apps.accounts.selectors import members_of, partner_of
from apps.core.charts import HEATMAP_WEEKS, DayCounts
from apps.core.humanize import local_and_home
from apps.core.tz import local_to_utc, local_today, viewer_zone

from .models import CheckIn, ReminderPreference, Ritual


def rituals_visible_to(user) -> QuerySet[Ritual]:
    """The rituals of the viewer's space (none without a space): how views find one."""
    if not getattr(user, "is_authenticated", False) or user.space_id is None:
        return Ritual.objects.none()
    return Ritual.objects.filter(space_id=user.space_id).select_related("space", "giver")


def rituals_for_space(*, space, include_archived: bool = False):
    qs = Ritual.objects.filter(space=space).select_related("space", "giver")
    if not include_archived:
        qs = qs.exclude(status=Ritual.Status.ARCHIVED)
    return qs


def _together_needed(members: list) -> int:
    """Kept "together" means by every member: both of them, or the one while alone."""
    return max(1, min(MAX_MEMBERS, len(members)))


def _kept_map(*, space, first: dt.date, last: dt.date, ritual=None) -> dict:
    """{(ritual id, day): set of user ids who kept it} in the range (one query)."""
    qs = CheckIn.objects.filter(
        space=space, status=CheckIn.Status.KEPT, occurrence__gte=first, occurrence__lte=last
    )
    if ritual is not None:
        qs = qs.filter(ritual=ritual)
    kept = defaultdict(set)
    for ritual_id, day, user_id in qs.values_list("ritual_id", "occurrence", "user_id"):
        kept[(ritual_id, day)].add(user_id)
    return kept


def totals_together(*, space, members, today: dt.date, ritual=None) -> dict:
    """Occurrences kept together: all time and this calendar year (never reset)."""
    qs = CheckIn.objects.filter(space=space, status=CheckIn.Status.KEPT)
    if ritual is not None:
        qs = qs.filter(ritual=ritual)
    together = (
        qs.values("ritual_id", "occurrence")
        .annotate(n=Count("user_id", distinct=True))
        .filter(n__gte=_together_needed(members))
    )
    days = [row["occurrence"] for row in together]
    return {
        "all_time": len(days),
        "this_year": sum(1 for d in days if d.year == today.year),
        "year": today.year,
    }


def streak(*, ritual: Ritual, kept: dict, needed: int, today: dt.date, first: dt.date) -> int:
    """Consecutive occurrences kept together, counting back from today.

    Today's occurrence counts when it is complete and never breaks the streak while
    it is still open.
    """
    days = ritual.days_between(max(first, ritual.starts_on), today)
    count = 0
    for day in reversed(days):
        together = len(kept.get((ritual.pk, day), ())) >= needed
        if together:
            count += 1
        elif day == today:
            continue
        else:
            break
    return count


def kept_per_day(*, kept: dict, needed: int, last: dt.date) -> DayCounts:
    """How many occurrences were kept together on each day (the heatmap's data)."""
    per_day = defaultdict(int)
    for (_ritual_id, day), users in kept.items():
        if len(users) >= needed:
            per_day[day] += 1
    return DayCounts(counts=dict(per_day), last=last)


def ritual_progress(*, ritual: Ritual, members: list, now: dt.datetime | None = None) -> dict:
    """Streak, totals and days kept together of one ritual (three queries)."""
    now = now or timezone.now()
    today = local_today(ritual.space.time_zone, now)
    needed = _together_needed(members)
    first = today - dt.timedelta(days=366 * 2)
    kept = _kept_map(space=ritual.space, first=first, last=today, ritual=ritual)
    return {
        "streak": streak(ritual=ritual, kept=kept, needed=needed, today=today, first=first),
        "totals": totals_together(space=ritual.space, members=members, today=today, ritual=ritual),
        "days": kept_per_day(kept=kept, needed=needed, last=today),
    }


def space_progress(*, space, members: list, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    today = local_today(space.time_zone, now)
    needed = _together_needed(members)
    first = today - dt.timedelta(weeks=HEATMAP_WEEKS)
    kept = _kept_map(space=space, first=first, last=today)
    return {
        "totals": totals_together(space=space, members=members, today=today),
        "days": kept_per_day(kept=kept, needed=needed, last=today),
    }


def check_ins_for(*, ritual: Ritual, days: list[dt.date]) -> dict:
    """{day: {user id: CheckIn}} for the given days of one ritual (one query)."""
    out = defaultdict(dict)
    for check_in in CheckIn.objects.filter(ritual=ritual, occurrence__in=days):
        out[check_in.occurrence][check_in.user_id] = check_in
    return out


def dashboard_rituals(*, space, user, now: dt.datetime | None = None) -> dict:
    """Today's rituals with each partner's answer, and what comes up next (three queries).

    "Today" is the viewer's today, in their zone (docs/time.md): the occurrences whose
    instant falls on it, which may belong to another home day than the space's today.
    Each keeps its home day, the one a check-in is recorded under; its buttons show
    once it has started (what the check-in service accepts).
    """
    now = now or timezone.now()
    home = space.time_zone
    zone = viewer_zone(user.time_zone, home)
    today = local_today(zone, now)
    home_today = local_today(home, now)
    start = local_to_utc(today, dt.time(0, 0), zone)
    end = local_to_utc(today + dt.timedelta(days=1), dt.time(0, 0), zone)
    rituals = list(
        Ritual.objects.filter(space=space, status=Ritual.Status.ACTIVE).select_related("space")
    )
    for ritual in rituals:
        ritual.space = space
    members = members_of(space)
    todays_occ = [
        (ritual, occ) for ritual in rituals for occ in ritual.occurrences_between(start, end)
    ]
    check_ins = defaultdict(dict)
    days = sorted({occ.day for _, occ in todays_occ}) or [home_today]
    for c in CheckIn.objects.filter(space=space, occurrence__in=days):
        check_ins[(c.ritual_id, c.occurrence)][c.user_id] = c
    partner = partner_of(user, members=members)
    todays = []
    for ritual, occ in todays_occ:
        answers = check_ins[(ritual.pk, occ.day)]
        todays.append(
            {
                "ritual": ritual,
                "at": occ.at,
                "day": occ.day,
                "when": local_and_home(occ.at, zone=zone, home=home, date_format=None),
                "can_check_in": occ.at <= now,  # a check-in opens when it starts
                "mine": answers.get(user.pk),
                "theirs": answers.get(partner.pk) if partner else None,
            }
        )
    upcoming = []
    horizon = now + dt.timedelta(days=7)
    for ritual in rituals:
        for nxt in ritual.occurrences_iter(now):
            if nxt.at < end:
                continue  # in today's list
            if nxt.at > horizon:
                break
            upcoming.append(
                {
                    "ritual": ritual,
                    "at": nxt.at,
                    "day": nxt.day,
                    "when": local_and_home(nxt.at, zone=zone, home=home),
                }
            )
            break
    todays.sort(key=lambda t: t["at"])
    upcoming.sort(key=lambda t: t["at"])
    return {
        "today": today,
        "todays": todays,
        "upcoming": upcoming[:5],
        "partner": partner,
        "count": len(rituals),
    }


def reminder_override_of(*, user, ritual: Ritual) -> ReminderPreference | None:
    """The viewer's own reminder choice for this ritual, if they made one."""
    return ReminderPreference.objects.filter(user=user, ritual=ritual).first()


def reminder_default_of(*, user) -> ReminderPreference | None:
    """The viewer's reminder default for all rituals, if they set one."""
    return ReminderPreference.objects.filter(user=user, ritual=None).first()


def check_in_link_target(*, ritual_id: int, user_id: int):
    """The ritual and partner a check-in link names, or None if either is gone
    (the partner left the space, the ritual was deleted)."""
    ritual = Ritual.objects.select_related("space").filter(pk=ritual_id).first()
    if ritual is None:
        return None
    user = ritual.space.members.filter(pk=user_id).first()
    return None if user is None else (ritual, user)
