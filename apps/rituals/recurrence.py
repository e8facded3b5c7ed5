"""Recurrence: the friendly form's answers ⇄ an RFC 5545 RRULE (python-dateutil).

A rule applies to local dates (the time of day is the ritual's own field), so a
ritual happens at most once a day and a rule never carries BYHOUR and friends.
"""

from __future__ import annotations

import datetime as dt
import re
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


class RuleError(ValueError):
    """A stored rule that cannot be evaluated (it would loop, fail or never fire)."""


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

    Raises ``RuleError`` for a rule ``rule_problem`` refuses (one that slipped in before
    a check existed, or through the admin): dateutil would loop for ever or fail on it.
    """
    problem = rule_problem(text, starts_on)
    if problem:
        raise RuleError(problem)
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
    text = _normalise(text)
    problem = rule_problem(text, starts_on)
    if problem:
        raise ValidationError(problem)
    return text


def _normalise(text: str) -> str:
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    return text.upper()


# Bounds checked before dateutil sees a rule: it takes INTERVAL=0 as "the same day for
# ever" (an endless loop), a negative INTERVAL fails later, and BYMONTHDAY=0 quietly
# means something else. An interval at most about ten years.
MAX_INTERVAL = {"DAILY": 3660, "WEEKLY": 520, "MONTHLY": 120, "YEARLY": 10}
MAX_COUNT = 10_000
SUB_DAILY = {"SECONDLY", "MINUTELY", "HOURLY"}
# Signed list parts (RFC 5545 3.3.10): non-zero, within these magnitudes.
SIGNED_BOUNDS = {"BYMONTHDAY": 31, "BYYEARDAY": 366, "BYWEEKNO": 53, "BYSETPOS": 366}
# The RFC allows these only with some frequencies; daily and weekly rules choose weekdays.
ONLY_WITH = {
    "BYMONTH": {"MONTHLY", "YEARLY"},
    "BYMONTHDAY": {"MONTHLY", "YEARLY"},
    "BYYEARDAY": {"YEARLY"},
    "BYWEEKNO": {"YEARLY"},
}
_INT = re.compile(r"[+-]?[0-9]{1,6}")
_BYDAY = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"[0-9]{8}")


@lru_cache(maxsize=8192)
def rule_problem(text: str, starts_on: dt.date) -> str | None:
    """Why ``text`` cannot be a ritual's rule from ``starts_on`` (None when it can).

    Pure and cached: the form, the import and every evaluation of a stored rule
    (``rule_near``) ask it, so a rule that slipped in earlier is never walked.
    """
    text = _normalise(text)
    if not text or "\n" in text:
        return "Enter one recurrence rule, such as FREQ=WEEKLY;BYDAY=FR."
    parts: dict[str, str] = {}
    for chunk in text.split(";"):
        key, sep, value = chunk.partition("=")
        if not sep or not value:
            return f"“{chunk}” is not part of a recurrence rule we understand."
        if key in parts:
            return f"{key} appears twice in the rule; give it once."
        parts[key] = value
    problem = _parts_problem(parts)
    if problem:
        return problem
    start = dt.datetime.combine(starts_on, dt.time(0, 0))
    try:
        fires = _first_within(rrulestr(text, dtstart=start), start, until=_until(parts))
    except (ValueError, TypeError, OverflowError):
        return "This recurrence rule is not valid."
    if fires is None:
        return (
            "This schedule never happens within five years of its start date (for example "
            "on 30 February, or with an end date before the start). "
            "Choose another day or start date."
        )
    return None


def _parts_problem(parts: dict[str, str]) -> str | None:
    freq = parts.get("FREQ")
    if freq is None:
        return "The rule needs a frequency, such as FREQ=WEEKLY."
    if freq in SUB_DAILY:
        return (
            "A ritual can happen at most once a day: use a daily, weekly, monthly or yearly rule."
        )
    if freq not in ALLOWED_FREQ:
        return (
            f"FREQ={freq} is not a frequency a ritual can have: "
            "use DAILY, WEEKLY, MONTHLY or YEARLY (a ritual happens at most once a day)."
        )
    unknown = set(parts) - ALLOWED_PARTS
    if unknown:
        return (
            "A ritual happens at most once a day, at its time of day; "
            f"the rule cannot use {', '.join(sorted(unknown))}."
        )
    for key, allowed in ONLY_WITH.items():
        if key in parts and freq not in allowed:
            if freq in {"DAILY", "WEEKLY"} and key != "BYWEEKNO":
                return (
                    "A daily or weekly rule can only choose weekdays; "
                    "use a monthly or yearly rule for dates."
                )
            return f"{key} only works in a yearly rule (FREQ=YEARLY)."
    if "INTERVAL" in parts:
        most = MAX_INTERVAL[freq]
        if not _whole(parts["INTERVAL"], 1, most):
            return f"INTERVAL must be a whole number from 1 to {most} for a {freq.lower()} rule."
    if "COUNT" in parts and not _whole(parts["COUNT"], 1, MAX_COUNT):
        return f"COUNT must be a whole number from 1 to {MAX_COUNT:,}."
    if "COUNT" in parts and "UNTIL" in parts:
        return "Use either COUNT (how many times) or UNTIL (an end date), not both."
    if "UNTIL" in parts:
        until = parts["UNTIL"]
        if not _UNTIL.fullmatch(until) or not _date_ok(until):
            return "Give the end date as a day, such as UNTIL=20271231."
    if "BYMONTH" in parts and not _all(parts["BYMONTH"], lambda v: _whole(v, 1, 12)):
        return "BYMONTH takes month numbers from 1 to 12."
    for key, most in SIGNED_BOUNDS.items():
        if key in parts and not _all(parts[key], lambda v, m=most: _signed(v, m)):
            return f"{key} takes numbers from 1 to {most} or from -1 to -{most} (not 0)."
    if "BYSETPOS" in parts and not {"BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO"} & set(parts):
        return "BYSETPOS picks among the days that BYDAY or BYMONTHDAY choose; add one of them."
    if "WKST" in parts and parts["WKST"] not in WEEKDAY_CODES:
        return "WKST must be a weekday: MO, TU, WE, TH, FR, SA or SU."
    if "BYDAY" in parts:
        return _byday_problem(parts["BYDAY"], freq)
    return None


def _byday_problem(value: str, freq: str) -> str | None:
    most = {"MONTHLY": 5, "YEARLY": 53}.get(freq)
    for item in value.split(","):
        match = _BYDAY.fullmatch(item)
        if match is None:
            return (
                f"BYDAY={value} is not valid: use weekdays such as MO,TH, "
                "or in a monthly rule 1SA (first Saturday) or -1FR (last Friday)."
            )
        if match.group(1) is None:
            continue
        if most is None:
            return (
                "A numbered weekday (such as 1SA) only works in a monthly or yearly rule; "
                "a daily or weekly rule takes plain weekdays such as SA."
            )
        if not _signed(match.group(1), most):
            return f"In a {freq.lower()} rule, a weekday's number is 1 to {most} or -1 to -{most}."
    return None


def _whole(value: str, low: int, high: int) -> bool:
    return bool(_INT.fullmatch(value)) and low <= int(value) <= high


def _signed(value: str, most: int) -> bool:
    return bool(_INT.fullmatch(value)) and int(value) != 0 and -most <= int(value) <= most


def _all(value: str, ok) -> bool:
    return all(ok(item) for item in value.split(","))


def _date_ok(value: str) -> bool:
    try:
        dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def _until(parts: dict[str, str]) -> dt.datetime | None:
    """The rule's own end (UNTIL, a checked ``YYYYMMDD``) as the naive local midnight
    dateutil gives it, read from the text: dateutil keeps it private."""
    until = parts.get("UNTIL")
    if until is None:
        return None
    return dt.datetime.combine(
        dt.date(int(until[:4]), int(until[4:6]), int(until[6:])), dt.time(0, 0)
    )


def _first_within(rule, start: dt.datetime, *, until: dt.datetime | None):
    """The first date before both the rule's own end (``until``) and the horizon, without
    walking a hopeless rule to year 9999. COUNT (at least 1) does not change the first
    date, and dateutil refuses COUNT with UNTIL, so it is dropped for the question."""
    limit = start + HORIZON
    if until is not None:
        limit = min(limit, until)
    return rule.replace(count=None, until=limit).after(start, inc=True)


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
