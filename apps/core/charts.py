"""The geometry of the two server-drawn charts (SVG, no script), apart from the data.

Selectors return counts; the template tags in ``keepsake_charts`` turn them into the
shapes defined here, so a template only draws and a selector only reads.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

# --- A year of days (the rituals' "kept together" calendar) -------------------------------

HEATMAP_WEEKS = 53
CELL = 12


@dataclass
class DayCounts:
    """How often something happened per day, up to and including ``last``."""

    counts: dict[dt.date, int]
    last: dt.date


@dataclass
class Heatmap:
    """A contribution-calendar of a year: cells per day, and a text summary per month."""

    cells: list = field(default_factory=list)  # dicts: x, y, level, label
    months: list = field(default_factory=list)  # (label, x)
    summary: list = field(default_factory=list)  # (month label, times together)
    total: int = 0
    width: int = 0
    height: int = 0


def year_heatmap(days: DayCounts) -> Heatmap:
    """Columns are weeks starting on Monday; the last column holds ``days.last``."""
    today = days.last
    last_monday = today - dt.timedelta(days=today.weekday())
    first = last_monday - dt.timedelta(weeks=HEATMAP_WEEKS - 1)
    hm = Heatmap(width=HEATMAP_WEEKS * CELL + 30, height=7 * CELL + 20)
    seen_months = set()
    monthly = defaultdict(int)
    day = first
    while day <= today:
        week = (day - first).days // 7
        count = days.counts.get(day, 0)
        level = 0 if count == 0 else min(3, count)
        times = "time" if count == 1 else "times"
        label = (
            f"{day:%a %-d %b %Y}: kept together {count} {times}" if count else f"{day:%a %-d %b %Y}"
        )
        hm.cells.append(
            {"x": 30 + week * CELL, "y": 16 + day.weekday() * CELL, "level": level, "label": label}
        )
        if day.day <= 7 and day.weekday() == 0 and (day.year, day.month) not in seen_months:
            seen_months.add((day.year, day.month))
            hm.months.append((f"{day:%b}", 30 + week * CELL))
        monthly[(day.year, day.month)] += count
        hm.total += count
        day += dt.timedelta(days=1)
    hm.summary = [(dt.date(y, m, 1).strftime("%B %Y"), n) for (y, m), n in sorted(monthly.items())]
    return hm


# --- Grouped bars (the journal's entries per month and partner) ---------------------------

BAR_W, GAP, PLOT_H, TOP = 8, 10, 100, 10


@dataclass
class Bar:
    x: int
    y: int
    height: int
    count: int
    series: int


@dataclass
class BarGroup:
    item: object  # what the group stands for (a month), for its label
    counts: list[int]
    bars: list[Bar]
    label_x: int


@dataclass
class BarChart:
    groups: list[BarGroup]
    width: int
    height: int
    plot_height: int
    max_count: int

    @property
    def total(self) -> int:
        return sum(sum(g.counts) for g in self.groups)


def grouped_bars(groups: list[tuple[object, list[int]]], *, series: int) -> BarChart:
    """One group of ``series`` bars per ``(item, counts)``; heights scale to the largest count.

    A bar with a count is at least 2 units high, so a single entry never vanishes.
    """
    max_count = max((c for _, counts in groups for c in counts), default=0)
    group_w = BAR_W * max(series, 1) + GAP
    drawn = []
    for i, (item, counts) in enumerate(groups):
        bars = []
        for j, value in enumerate(counts):
            h = round(PLOT_H * value / max_count) if max_count else 0
            if value and h < 2:
                h = 2
            bars.append(
                Bar(x=i * group_w + j * BAR_W, y=TOP + PLOT_H - h, height=h, count=value, series=j)
            )
        drawn.append(
            BarGroup(
                item=item, counts=counts, bars=bars, label_x=i * group_w + (group_w - GAP) // 2
            )
        )
    return BarChart(
        groups=drawn,
        width=len(groups) * group_w,
        height=TOP + PLOT_H + 20,
        plot_height=PLOT_H,
        max_count=max_count,
    )
