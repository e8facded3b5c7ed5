"""Recurrence: the friendly form's answers ⇄ an RFC 5545 RRULE (python-dateutil).

A rule applies to local dates (the time of day is the ritual's own field), so a
ritual happens at most once a day and a rule never carries BYHOUR and friends.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError

WEEKDAYS = [
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
]
WEEKDAY_CODES = [code for code, _ in WEEKDAYS]
ORDINALS = [(1, "first"), (2, "second"), (3, "third"), (4, "fourth"), (-1, "last")]

FREQUENCIES = [
    ("daily", "Every day (or every few days)"),
    ("weekly", "Weekly, on chosen weekdays"),
    ("monthly_day", "Monthly, on a day of the month"),
    ("monthly_nth", "Monthly, on a weekday (e.g. the first Saturday)"),
    ("yearly", "Once a year, on the start date"),
]
ALLOWED_FREQ = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
ALLOWED_PARTS = {
    "FREQ",
    "INTERVAL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYSETPOS",
    "BYYEARDAY",
    "BYWEEKNO",
    "COUNT",
    "UNTIL",
    "WKST",
}
# How far ahead a rule must fire at least once to count as a rule that fires.
HORIZON = dt.timedelta(days=366 * 5)


def rrule_from_answers(answers: dict, starts_on: dt.date) -> str:
    """Build the RRULE for the friendly form's answers (already validated field by field)."""
    freq = answers["freq"]
    interval = int(answers.get("interval") or 1)
    parts: list[str]
    if freq == "daily":
        parts = ["FREQ=DAILY"]
    elif freq == "weekly":
        days = [d for d in WEEKDAY_CODES if d in (answers.get("weekdays") or [])]
        if not days:
            days = [WEEKDAY_CODES[starts_on.weekday()]]
        parts = ["FREQ=WEEKLY", "BYDAY=" + ",".join(days)]
    elif freq == "monthly_day":
        parts = ["FREQ=MONTHLY", f"BYMONTHDAY={int(answers.get('month_day') or starts_on.day)}"]
    elif freq == "monthly_nth":
        nth = int(answers.get("nth") or 1)
        weekday = answers.get("nth_weekday") or WEEKDAY_CODES[starts_on.weekday()]
        parts = ["FREQ=MONTHLY", f"BYDAY={nth}{weekday}"]
    elif freq == "yearly":
        parts = ["FREQ=YEARLY", f"BYMONTH={starts_on.month}", f"BYMONTHDAY={starts_on.day}"]
    else:
        raise ValidationError("Choose how often the ritual happens.")
    if interval > 1:
        parts.insert(1, f"INTERVAL={interval}")
    return ";".join(parts)


@lru_cache(maxsize=4096)
def rule_from_text(text: str, dtstart: dt.datetime):
    """A dateutil rule for ``text`` starting at naive local ``dtstart`` (cached: rules are pure)."""
    return rrulestr(text, dtstart=dtstart)


# How far back from the asked-for date an aligned start may lie (in whole periods).
_ALIGN_SPAN_DAYS = 28


def rule_near(text: str, starts_on: dt.date, ref: dt.date):
    """The rule of ``text`` from ``starts_on``, for questions about ``ref`` or later.

    dateutil walks every occurrence from the start on each call, so a daily ritual
    begun years ago costs thousands of steps per question. For daily and weekly rules
    without COUNT, starting a whole number of periods later yields the same occurrences
    from that day on, so the start moves to the last aligned day at least a block
    before ``ref`` (blocks of about four weeks keep the cache small). Other rules keep
    their own start.
    """
    start = dt.datetime.combine(starts_on, dt.time(0, 0))
    period = _period_days(text)
    if period and ref > starts_on:
        block = period * max(1, -(-_ALIGN_SPAN_DAYS // period))
        blocks = (ref - starts_on).days // block - 1
        if blocks > 0:
            start += dt.timedelta(days=blocks * block)
    return rule_from_text(text, start)


@lru_cache(maxsize=1024)
def _period_days(text: str) -> int | None:
    """Days in one period of a DAILY or WEEKLY rule without COUNT; None otherwise."""
    parts = dict(chunk.partition("=")[::2] for chunk in text.upper().split(";"))
    if "COUNT" in parts or parts.get("FREQ") not in {"DAILY", "WEEKLY"}:
        return None
    try:
        interval = int(parts.get("INTERVAL", "1"))
    except ValueError:
        return None
    if interval < 1:
        return None
    return interval * (7 if parts["FREQ"] == "WEEKLY" else 1)


def rrule_validate(text: str, starts_on: dt.date) -> str:
    """Normalise and check a rule; a clear ``ValidationError`` when it cannot be a ritual."""
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    text = text.upper()
    if not text or "\n" in text:
        raise ValidationError("Enter one recurrence rule, such as FREQ=WEEKLY;BYDAY=FR.")
    parts = {}
    for chunk in text.split(";"):
        key, sep, value = chunk.partition("=")
        if not sep or not value:
            raise ValidationError(f"“{chunk}” is not part of a recurrence rule we understand.")
        parts[key] = value
    if parts.get("FREQ") not in ALLOWED_FREQ:
        raise ValidationError(
            "A ritual can happen at most once a day: use a daily, weekly, monthly or yearly rule."
        )
    unknown = set(parts) - ALLOWED_PARTS
    if unknown:
        raise ValidationError(
            "A ritual happens at most once a day, at its time of day; "
            f"the rule cannot use {', '.join(sorted(unknown))}."
        )
    if parts["FREQ"] in {"DAILY", "WEEKLY"} and {
        "BYMONTH",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
    } & set(parts):
        raise ValidationError(
            "A daily or weekly rule can only choose weekdays; "
            "use a monthly or yearly rule for dates."
        )
    start = dt.datetime.combine(starts_on, dt.time(0, 0))
    try:
        rule = rrulestr(text, dtstart=start)
        fires = _first_within(rule, start)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValidationError("This recurrence rule is not valid.") from exc
    if fires is None:
        raise ValidationError(
            "This schedule never happens (for example the 30th of February). "
            "Choose another day or start date."
        )
    return text


def _first_within(rule, start: dt.datetime):
    """The first date within the horizon, without walking a hopeless rule to year 9999."""
    bounded = rule if rule._count else rule.replace(until=start + HORIZON)
    return bounded.after(start, inc=True)


def describe(answers: dict, starts_on: dt.date | None = None) -> str:
    """A short human description of the friendly answers ("Every week on Friday")."""
    freq = answers.get("freq")
    interval = int(answers.get("interval") or 1)
    names = dict(WEEKDAYS)
    if freq == "daily":
        return "Every day" if interval == 1 else f"Every {interval} days"
    if freq == "weekly":
        days = [names[d] for d in WEEKDAY_CODES if d in (answers.get("weekdays") or [])]
        every = "Every week" if interval == 1 else f"Every {interval} weeks"
        return f"{every} on {', '.join(days)}" if days else every
    if freq == "monthly_day":
        every = "Every month" if interval == 1 else f"Every {interval} months"
        return f"{every} on day {answers.get('month_day')}"
    if freq == "monthly_nth":
        every = "Every month" if interval == 1 else f"Every {interval} months"
        nth = dict(ORDINALS).get(int(answers.get("nth") or 1), "")
        return f"{every} on the {nth} {names.get(answers.get('nth_weekday'), '')}"
    if freq == "yearly":
        when = f" on {starts_on:%-d %B}" if starts_on else ""
        return ("Every year" if interval == 1 else f"Every {interval} years") + when
    return "Custom schedule"
