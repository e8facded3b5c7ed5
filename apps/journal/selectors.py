"""Reads of the journal, always scoped to the space and the viewer.

``entries_visible_to`` is the ONE place where "private" is enforced for reading:
every list, search, "on this day" panel, count, chart, digest and e-mail starts
from it. A private entry is visible to its author only.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import TruncMonth

from apps.core.dates import leap_day_falls_on
from apps.core.tz import local_today

from .models import Appreciation, Entry, JournalProfile
from .prompts import Prompt, prompt_for_day

PAGE_SIZE = 20
ON_THIS_DAY_LIMIT = 10
CHART_MONTHS = 12
DASHBOARD_LATEST = 3
SEARCH_CONFIG = "simple"  # no stemming: partners write in any language


def entries_visible_to(user) -> QuerySet[Entry]:
    """Entries of the user's space that the user may read: shared ones and their own."""
    if not getattr(user, "is_authenticated", False) or user.space_id is None:
        return Entry.objects.none()
    return Entry.objects.filter(space_id=user.space_id).filter(
        Q(is_private=False) | Q(author_id=user.pk)
    )


def entries_editable_by(user) -> QuerySet[Entry]:
    """Entries the user may edit or delete: their own, in their current space."""
    return entries_visible_to(user).filter(author_id=user.pk)


def _with_appreciations(qs: QuerySet[Entry]) -> QuerySet[Entry]:
    return qs.select_related("author").prefetch_related(
        Prefetch(
            "appreciations",
            queryset=Appreciation.objects.select_related("from_user").order_by("created_at"),
        )
    )


def entries_search(qs: QuerySet[Entry], query: str) -> QuerySet[Entry]:
    """Full-text search on PostgreSQL; a case-insensitive substring match elsewhere."""
    query = query.strip()
    if not query:
        return qs
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        return qs.annotate(search_vector=SearchVector("text", config=SEARCH_CONFIG)).filter(
            search_vector=SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
        )
    return qs.filter(text__icontains=query)


def space_today(space) -> dt.date:
    return local_today(space.time_zone or "UTC")


def today_prompt(*, space, offset: int = 0) -> Prompt:
    """The prompt of the day in the space's zone; the same for both partners."""
    return prompt_for_day(space_id=space.pk, day=space_today(space), offset=offset)


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of ``month``, both inclusive.

    Inclusive, because the day after December 9999 is not a date: any "next
    month" bound would overflow on the last month Python can hold.
    """
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def months_before(month: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months before ``month``, by month numbers, not days."""
    year, index = divmod(month.year * 12 + month.month - 1 - n, 12)
    return dt.date(year, index + 1, 1)


@dataclass
class JournalPage:
    page: Page
    new_since: dt.datetime | None
    new_ids: set[int] = field(default_factory=set)
    new_appreciation_ids: set[int] = field(default_factory=set)
    # Entries of the partner that the viewer already answered.
    answered_ids: set[int] = field(default_factory=set)


def journal_page(
    *,
    user,
    author_id: int | None = None,
    month: dt.date | None = None,
    query: str = "",
    page_number=1,
    new_since: dt.datetime | None = None,
) -> JournalPage:
    """One page of the journal, newest first, with its appreciations (constant queries)."""
    qs = entries_visible_to(user)
    if author_id is not None:
        qs = qs.filter(author_id=author_id)
    if month is not None:
        first, last = month_bounds(month)
        qs = qs.filter(day__gte=first, day__lte=last)
    qs = entries_search(qs, query)
    qs = _with_appreciations(qs.order_by("-day", "-created_at", "-id"))
    page = Paginator(qs, PAGE_SIZE).get_page(page_number)
    result = JournalPage(page=page, new_since=new_since)
    for entry in page.object_list:
        mine = entry.author_id == user.pk
        if new_since is not None and not mine and entry.created_at > new_since:
            result.new_ids.add(entry.pk)
        for appreciation in entry.appreciations.all():
            if appreciation.from_user_id == user.pk:
                result.answered_ids.add(entry.pk)
            if new_since is not None and mine and appreciation.updated_at > new_since:
                result.new_appreciation_ids.add(appreciation.pk)
    return result


def on_this_day(*, user, today: dt.date) -> list[Entry]:
    """Visible entries from this calendar date in earlier years (29 Feb shows on 28 Feb)."""
    same_date = Q(day__month=today.month, day__day=today.day)
    if leap_day_falls_on(today):
        same_date |= Q(day__month=2, day__day=29)
    return list(
        entries_visible_to(user)
        .filter(same_date, day__lt=dt.date(today.year, 1, 1))
        .select_related("author")
        .order_by("-day", "-created_at")[:ON_THIS_DAY_LIMIT]
    )


@dataclass
class ChartMonth:
    month: dt.date
    counts: list[int]  # one per member, in ``MonthlyChart.members`` order


@dataclass
class MonthlyChart:
    """Entries per month and partner; the ``grouped_bars`` template tag draws it."""

    members: list
    months: list[ChartMonth]

    @property
    def groups(self) -> list[tuple[dt.date, list[int]]]:
        return [(m.month, m.counts) for m in self.months]

    @property
    def total(self) -> int:
        return sum(sum(m.counts) for m in self.months)


def monthly_counts(*, user, members: list, today: dt.date) -> MonthlyChart:
    """Entries per month and partner over the last months, as the viewer may see them.

    One query; the `grouped_bars` template tag (apps.core.charts) draws them.
    """
    first_month = today.replace(day=1)
    months = [months_before(first_month, n) for n in reversed(range(CHART_MONTHS))]
    rows = (
        entries_visible_to(user)
        .filter(day__gte=months[0], day__lte=month_bounds(first_month)[1])
        .annotate(month=TruncMonth("day"))
        .values("month", "author_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[tuple[dt.date, int], int] = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, dt.datetime):
            month = month.date()
        counts[(month, row["author_id"])] = row["n"]
    return MonthlyChart(
        members=members,
        months=[
            ChartMonth(month=month, counts=[counts.get((month, m.pk), 0) for m in members])
            for month in months
        ],
    )


@dataclass(frozen=True)
class NudgeOutlook:
    """What the settings page tells a partner about their next nudge."""

    next_at: dt.datetime
    # They already wrote on that day (in their zone), so the pass will skip it...
    skipped: bool = False
    # ...and this is the one that comes instead: the next planned day, not a week on.
    then_at: dt.datetime | None = None


def nudge_outlook(*, user, profile: JournalProfile | None) -> NudgeOutlook | None:
    """The next nudge, and whether it will be skipped because ``user`` wrote that day."""
    if profile is None or profile.next_nudge_at is None:
        return None
    from .services import next_nudge_after  # services reads through this module

    zone = user.zone
    at = profile.next_nudge_at
    day = local_today(zone, at)
    if not Entry.objects.filter(author=user, day=day).exists():
        return NudgeOutlook(next_at=at)
    return NudgeOutlook(
        next_at=at,
        skipped=True,
        then_at=next_nudge_after(profile=profile, zone=zone, after=at),
    )


def journal_profile_of(user) -> JournalProfile | None:
    """The viewer's journal settings, if they ever saved or used any (no row is made)."""
    return JournalProfile.objects.filter(user=user).first()


def profile_for(user) -> JournalProfile:
    profile, _ = JournalProfile.objects.get_or_create(user=user)
    return profile


def dashboard_journal(*, space, user) -> dict:
    """What the dashboard shows of the journal for this viewer (a constant number of queries).

    Data only: the quick-entry form is the dashboard view's (``home.views``).
    """
    prompt = today_prompt(space=space)
    latest = list(
        entries_visible_to(user)
        .filter(is_private=False)
        .select_related("author")
        .order_by("-created_at", "-id")[:DASHBOARD_LATEST]
    )
    last_visit = (
        JournalProfile.objects.filter(user=user).values_list("last_visit_at", flat=True).first()
    )
    new_qs = entries_visible_to(user).exclude(author_id=user.pk)
    since = last_visit or user.joined_space_at
    if since is not None:
        new_qs = new_qs.filter(created_at__gt=since)
    return {
        "prompt": prompt,
        "latest": latest,
        "new_count": new_qs.count(),
    }
