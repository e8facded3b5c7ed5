"""The daily prompts: short questions to start an entry, written for Keepsake.

A prompt is stored on an entry by its key, so the wording may be polished later
without breaking old entries. Keys are never reused for a different question.

The daily prompt is a pure function of the space and the local date in the
space's zone, so both partners see the same one that day on any device, and it
never repeats on two days in a row (see ``prompt_for_day``).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    key: str
    text: str


PROMPTS: tuple[Prompt, ...] = (
    Prompt("unasked", "What did your partner do today that you never had to ask for?"),
    Prompt("tiny-kindness", "Which tiny kindness from today would be easy to overlook?"),
    Prompt("felt-seen", "When did you feel truly seen by your partner lately?"),
    Prompt("quality", "Name one quality of your partner that you quietly admire."),
    Prompt("laugh", "What made the two of you laugh this week?"),
    Prompt("ordinary-moment", "Describe an ordinary moment together that felt good."),
    Prompt("hard-day", "How did your partner make a hard day a little lighter?"),
    Prompt("remembered", "What small detail about you did your partner remember?"),
    Prompt("home", "What about your shared home are you glad of tonight?"),
    Prompt("meal", "Think of a meal you shared recently. What made it nice?"),
    Prompt("growth", "Where have you seen your partner grow this year?"),
    Prompt("listening", "When did your partner really listen to you recently?"),
    Prompt("touch", "Which hug, hand squeeze or touch stayed with you today?"),
    Prompt("words", "What did your partner say that you want to keep?"),
    Prompt("patience", "When was your partner patient with you, and how did it feel?"),
    Prompt("effort", "What effort of theirs might they think went unnoticed?"),
    Prompt("morning", "What was good about this morning together?"),
    Prompt("walk", "Recall a walk or a trip together. What do you want to remember?"),
    Prompt("support", "How did your partner back you up when it mattered?"),
    Prompt("surprise", "What pleasant surprise did your partner bring into your week?"),
    Prompt("first-noticed", "What did you first notice about your partner, and is it still true?"),
    Prompt("teamwork", "When did you two work well as a team recently?"),
    Prompt("comfort", "What does your partner do that makes you feel safe?"),
    Prompt("curious", "What is your partner curious about right now, and why do you love that?"),
    Prompt("apology", "Think of a time your partner owned a mistake. What did that mean to you?"),
    Prompt("quiet", "Which quiet moment together did you enjoy without saying a word?"),
    Prompt("proud", "What are you proud of your partner for this month?"),
    Prompt("habit", "Which of your partner's everyday habits makes your life easier?"),
    Prompt("future", "What are you looking forward to doing together soon?"),
    Prompt("thank-you", "Write the thank-you you have not said out loud yet."),
    Prompt("friends", "How does your partner show care for the people around you both?"),
    Prompt("silly", "What silly thing does your partner do that you secretly adore?"),
    Prompt("today-best", "What was the best part of today with your partner?"),
    Prompt("change", "What changed for the better since you met?"),
    Prompt("rest", "How did your partner help you rest or slow down?"),
)

BY_KEY: dict[str, Prompt] = {p.key: p for p in PROMPTS}


def prompt_get(key: str | None) -> Prompt | None:
    return BY_KEY.get(key or "")


def _cycle_order(space_id: int, cycle: int) -> list[int]:
    """A fixed shuffle of all prompt indexes for one cycle of len(PROMPTS) days."""
    order = list(range(len(PROMPTS)))
    # Not for security: a stable, reproducible shuffle (str seeds hash with sha512).
    random.Random(f"keepsake-journal:{space_id}:{cycle}").shuffle(order)  # noqa: S311
    return order


def _order(space_id: int, cycle: int) -> list[int]:
    """The cycle's order, fixed so its first day differs from the previous cycle's last."""
    order = _cycle_order(space_id, cycle)
    previous_last = _cycle_order(space_id, cycle - 1)[-1]
    if order[0] == previous_last:
        # Swapping the first two never touches the last, so cycles stay independent.
        order[0], order[1] = order[1], order[0]
    return order


def prompt_index(*, space_id: int, day: dt.date, offset: int = 0) -> int:
    n = len(PROMPTS)
    cycle, pos = divmod(day.toordinal(), n)
    daily = _order(space_id, cycle)[pos]
    return (daily + offset) % n


def prompt_for_day(*, space_id: int, day: dt.date, offset: int = 0) -> Prompt:
    """The space's prompt for ``day`` (a date in the space's zone).

    ``offset`` > 0 gives "another prompt": a different one, stable per offset.
    Within a cycle of len(PROMPTS) days each prompt comes once, so two days in a
    row never share a prompt; across cycles the boundary is fixed in ``_order``.
    """
    return PROMPTS[prompt_index(space_id=space_id, day=day, offset=offset)]
