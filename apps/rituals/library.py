"""Ready-made rituals, added with one click and editable afterwards.

The ideas come from the project's seed articles; every text here is written fresh.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LibraryRitual:
    key: str
    title: str
    description: str
    answers: dict
    time_of_day: dt.time
    duration_minutes: int | None = None
    participation: str = "both"
    is_conversation: bool = False
    tags: tuple = field(default_factory=tuple)


LIBRARY: list[LibraryRitual] = [
    LibraryRitual(
        key="unplugged-talk",
        title="Ten unplugged minutes",
        description=(
            "Phones in another room, a timer set to ten minutes. One of you talks about the "
            "day, the other simply listens, nods and repeats back what mattered most."
        ),
        answers={"freq": "daily", "interval": 1},
        time_of_day=dt.time(21, 0),
        duration_minutes=10,
        is_conversation=True,
    ),
    LibraryRitual(
        key="date-night",
        title="Date night",
        description=(
            "An evening that belongs to the two of you: plan it in turns, keep it simple or "
            "make it grand, and leave work talk at the door."
        ),
        answers={"freq": "weekly", "interval": 1, "weekdays": ["FR"]},
        time_of_day=dt.time(19, 30),
        duration_minutes=180,
    ),
    LibraryRitual(
        key="bedtime-massage",
        title="Bedtime shoulder rub",
        description=(
            "Five slow minutes of massage before sleep, given by one partner to the other. "
            "Swap roles by editing the ritual whenever you like."
        ),
        answers={"freq": "weekly", "interval": 1, "weekdays": ["WE"]},
        time_of_day=dt.time(22, 15),
        duration_minutes=5,
        participation="gives",
    ),
    LibraryRitual(
        key="cafe-morning",
        title="Our café morning",
        description=(
            "Once a month, the same little café: bring a book or a poem each and read "
            "a few lines to one another over something warm."
        ),
        answers={"freq": "monthly_nth", "interval": 1, "nth": 1, "nth_weekday": "SA"},
        time_of_day=dt.time(10, 0),
        duration_minutes=90,
    ),
    LibraryRitual(
        key="morning-doodle",
        title="Morning doodle",
        description=(
            "Draw a tiny stick-figure cartoon for each other before breakfast, about "
            "yesterday, today or nothing at all. Keep the drawings in a box."
        ),
        answers={"freq": "daily", "interval": 1},
        time_of_day=dt.time(7, 30),
        duration_minutes=5,
    ),
    LibraryRitual(
        key="feelings-mirror",
        title="Feelings mirror",
        description=(
            "One of you closes their eyes and says how body and mind feel right now; the "
            "other answers with a gesture instead of words. Then trade places."
        ),
        answers={"freq": "weekly", "interval": 1, "weekdays": ["SU"]},
        time_of_day=dt.time(20, 0),
        duration_minutes=15,
        is_conversation=True,
    ),
    LibraryRitual(
        key="quiet-walk",
        title="A walk side by side",
        description=(
            "Walk together without needing to fill the silence. Notice the weather, the "
            "trees, each other's pace."
        ),
        answers={"freq": "weekly", "interval": 1, "weekdays": ["SA", "SU"]},
        time_of_day=dt.time(17, 0),
        duration_minutes=45,
    ),
    LibraryRitual(
        key="cook-together",
        title="Cook together",
        description=(
            "Choose a recipe neither of you has tried, share the chopping and the stirring, "
            "then eat slowly and tell each other how the week really went."
        ),
        answers={"freq": "weekly", "interval": 1, "weekdays": ["TH"]},
        time_of_day=dt.time(18, 30),
        duration_minutes=90,
        is_conversation=True,
    ),
    LibraryRitual(
        key="growth-challenge",
        title="Learn something new together",
        description=(
            "Every other week, an hour on a shared challenge: partner yoga, a language, "
            "a stubborn houseplant, a memoir written in turns."
        ),
        answers={"freq": "weekly", "interval": 2, "weekdays": ["TU"]},
        time_of_day=dt.time(19, 0),
        duration_minutes=60,
    ),
    LibraryRitual(
        key="thank-you-moment",
        title="Three thank-yous",
        description=(
            "Before the lights go out, each of you names three small things the other did "
            "today that you were glad about."
        ),
        answers={"freq": "daily", "interval": 1},
        time_of_day=dt.time(22, 30),
        duration_minutes=5,
    ),
    LibraryRitual(
        key="stillness",
        title="Breathe together",
        description=(
            "Sit back to back or hand in hand and breathe quietly for a few minutes. No "
            "goal, no talking: just arriving in the same moment."
        ),
        answers={"freq": "weekly", "interval": 1, "weekdays": ["MO", "WE", "FR"]},
        time_of_day=dt.time(7, 0),
        duration_minutes=10,
    ),
    LibraryRitual(
        key="dreams-talk",
        title="Dreams and plans evening",
        description=(
            "Once a month, talk about where you each want to be in a year, what you "
            "hope for together, and one small step toward it."
        ),
        answers={"freq": "monthly_nth", "interval": 1, "nth": -1, "nth_weekday": "SU"},
        time_of_day=dt.time(19, 0),
        duration_minutes=60,
        is_conversation=True,
    ),
    LibraryRitual(
        key="love-note",
        title="A note in the pocket",
        description=(
            "Hide a short handwritten note where your partner will find it: a coat pocket, "
            "a lunch box, the first page of their book."
        ),
        answers={"freq": "weekly", "interval": 1, "weekdays": ["MO"]},
        time_of_day=dt.time(8, 0),
        participation="gives",
    ),
    LibraryRitual(
        key="anniversary-look-back",
        title="Our year in review",
        description=(
            "Once a year, look through photos, letters and the check-ins you kept, and "
            "tell each other which moment of the year you would keep forever."
        ),
        answers={"freq": "yearly", "interval": 1},
        time_of_day=dt.time(18, 0),
        duration_minutes=120,
        is_conversation=True,
    ),
]

BY_KEY = {item.key: item for item in LIBRARY}
