import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from apps.journal import selectors
from apps.journal.prompts import PROMPTS, prompt_for_day

SEEDS = Path("/work/shared/seeds")


def test_at_least_thirty_distinct_prompts():
    assert len(PROMPTS) >= 30
    assert len({p.key for p in PROMPTS}) == len(PROMPTS)
    assert len({p.text for p in PROMPTS}) == len(PROMPTS)


@pytest.mark.parametrize("space_id", [1, 2, 7, 123, 98765])
def test_never_the_same_prompt_two_days_in_a_row(space_id):
    day = dt.date(2024, 1, 1)
    previous = prompt_for_day(space_id=space_id, day=day - dt.timedelta(days=1))
    for i in range(3 * 366):
        current = prompt_for_day(space_id=space_id, day=day + dt.timedelta(days=i))
        assert current != previous, day + dt.timedelta(days=i)
        previous = current


def test_prompt_is_stable_for_a_day_and_space():
    day = dt.date(2026, 7, 4)
    assert prompt_for_day(space_id=5, day=day) == prompt_for_day(space_id=5, day=day)
    # Every prompt comes up over a cycle.
    seen = {prompt_for_day(space_id=5, day=day + dt.timedelta(days=i)) for i in range(200)}
    assert seen == set(PROMPTS)


def test_another_prompt_differs_from_the_daily_one():
    day = dt.date(2026, 7, 4)
    daily = prompt_for_day(space_id=5, day=day)
    others = [prompt_for_day(space_id=5, day=day, offset=n) for n in range(1, 6)]
    assert daily not in others
    assert len(set(others)) == 5


def test_both_partners_get_the_space_days_prompt(alice, bob, alice_client, bob_client):
    # 23:30 UTC on 10 March is already 11 March in Berlin (the space's zone) while
    # Alice lives in New York, where it is still 10 March.
    alice.time_zone = "America/New_York"
    alice.save()
    expected = prompt_for_day(space_id=alice.space_id, day=dt.date(2026, 3, 11))
    with time_machine.travel(dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC), tick=False):
        assert selectors.today_prompt(space=alice.space) == expected
        for client in (alice_client, bob_client):
            page = client.get(reverse("journal:index")).content.decode()
            assert expected.text.replace("'", "&#x27;") in page


def test_another_prompt_link(alice_client):
    first = alice_client.get(reverse("journal:write")).context["prompt"]
    second = alice_client.get(reverse("journal:write"), {"another": "1"}).context["prompt"]
    assert first != second
    # Nonsense is ignored, not a 500.
    assert alice_client.get(reverse("journal:write"), {"another": "x"}).status_code == 200


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower().replace("’", "'"))


def test_prompts_are_not_copied_from_the_seeds():
    if not SEEDS.is_dir():
        pytest.skip("seed articles not on this machine")
    runs = set()
    for path in SEEDS.glob("*.txt"):
        words = _words(path.read_text())
        runs.update(tuple(words[i : i + 9]) for i in range(len(words) - 8))
    for prompt in PROMPTS:
        words = _words(prompt.text)
        for i in range(len(words) - 8):
            assert tuple(words[i : i + 9]) not in runs, prompt.text
