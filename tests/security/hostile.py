"""Hostile values for the input sweeps, and a valid value per field so that writes happen."""

from __future__ import annotations

from hypothesis import strategies as st

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
# What must never appear unescaped in a page or an HTML e-mail.
RAW_MARKERS = ("<script>alert", "<img src=x")

HOSTILE = [
    "",
    " ",
    "\t\n ",
    "x" * 5000,
    "y" * 101_000,
    "\x00",
    "abc\x00def",
    "😀" * 50,
    "e\u0301\u200b\u200d",
    "\u202eRTL override\u202c",
    "שלום עולם، مرحبا بالعالم",
    SCRIPT,
    f"Walk {SCRIPT}",
    IMG,
    "{{ 7*7 }}{% debug %}",
    "'; DROP TABLE accounts_user; --",
    "1' OR '1'='1",
    "%' OR 1=1 --",
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "2026-02-30",
    "0000-00-00",
    "9999-12-31",
    "0001-01-01",
    "31/12/2026",
    "25:61",
    "23:59:60",
    "Mars/Olympus_Mons",
    "../../etc/passwd",
    "UTC\x00",
    "Europe/Berlin ",
    "FREQ=SECONDLY",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2,4,6",
    "FREQ=DAILY;COUNT=0",
    "FREQ=WEEKLY;BYDAY=XX",
    "FREQ=DAILY;UNTIL=19000101T000000Z",
    "FREQ=MINUTELY;INTERVAL=1",
    "RRULE:FREQ=DAILY\nEXDATE:20260101",
    "monthly_nth",
    "https://evil.example/",
    "//evil.example/",
    "javascript:alert(1)",
]

VALID = {
    "title": "Evening walk",
    "body": "Dear you",
    "text": "Thanks for the tea",
    "description": "",
    "participation": "both",
    "freq": "daily",
    "interval": "1",
    "weekdays": "MO",
    "month_day": "15",
    "nth": "1",
    "nth_weekday": "FR",
    "starts_on": "2026-01-01",
    "time_of_day": "19:30",
    "duration_minutes": "30",
    "custom_rule": "",
    "kind": "before",
    "minutes_before": "30",
    "day": "2026-01-02",
    "status": "kept",
    "note": "Lovely",
    "feeling": "calm",
    "heart": "on",
    "reply": "Thank you",
    "nudge_time": "20:00",
    "digest_enabled": "on",
    "years_later": "0",
    "confirm": "on",
    "name": "Our space",
    "time_zone": "Europe/Berlin",
    "anniversary": "2019-06-14",
    "display_name": "Alex",
    "email": "partner@example.com",
    "categories": "reminders",
    "form": "profile",
    "about_partner": "on",
    "is_private": "",
    "prompt_key": "",
    "month": "2026-01",
    "q": "tea",
    "author": "",
    "nudge": "on",
    "password": "correct horse battery",  # every UserFactory user's password
}


def field_values(name: str) -> st.SearchStrategy[list[str]]:
    """Up to 3 values for one field: its valid value, hostile ones, or random text."""
    one = st.one_of(
        st.just(VALID.get(name, "")),
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.builds(lambda a, b: a + b, st.just(VALID.get(name, "")), st.sampled_from(HOSTILE)),
    )
    return st.lists(one, min_size=0, max_size=3)


def _valid(name: str) -> list[str]:
    value = VALID.get(name, "")
    return [value] if value else []


@st.composite
def _mostly_valid(draw, names):
    """Valid answers with one or two fields turned hostile: these reach the services."""
    names = list(names)
    spoiled = draw(st.sets(st.sampled_from(names), min_size=1, max_size=2))
    return {n: draw(field_values(n)) if n in spoiled else _valid(n) for n in names}


def form_data(names) -> st.SearchStrategy[dict[str, list[str]]]:
    names = list(names)
    anything = st.fixed_dictionaries({name: field_values(name) for name in names})
    mostly_valid = _mostly_valid(names)
    return st.one_of(anything, mostly_valid, mostly_valid)


def to_querydict(data: dict[str, list[str]]):
    from django.http import QueryDict

    qd = QueryDict(mutable=True)
    for key, values in data.items():
        qd.setlist(key, values)
    return qd


def to_post(data: dict[str, list[str]]) -> dict[str, list[str]]:
    """For the test client (which cannot send NUL bytes in a field name, only values)."""
    return {key: values for key, values in data.items() if values}
