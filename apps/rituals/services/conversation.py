"""Conversation questions: one per occurrence, shared by both partners, none repeated in a
space until every question was asked (``QuestionUse`` and its cycles).

The pick rule is written once, for a batch (``questions_for``); one occurrence is a batch
of one (``question_for``). The constraints decide races: a pick that lost to another pass
is read back and the loser picks again.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db.models import Max, Q

from ..models import QuestionUse, Ritual
from ..questions import QUESTIONS

# Rounds of "read, pick what is missing, read back" before giving up on storing a pick.
ATTEMPTS = 3


def question_for(*, ritual: Ritual, day: dt.date) -> int:
    """The question for one occurrence (the same for both partners), fresh for the space."""
    return questions_for({(ritual.pk, day): ritual})[ritual.pk, day]


def questions_for(occurrences: dict) -> dict:
    """{(ritual id, day): question} for the {(ritual id, day): ritual} given, in a fixed
    number of queries whatever their number.

    An occurrence keeps the question it has; a new one is picked among the questions its
    space has not had in its current cycle (a new cycle once all were used), apart from
    the ones picked earlier in this batch.
    """
    found: dict = {}
    missing = dict(occurrences)
    for _attempt in range(ATTEMPTS):
        if not missing:
            break
        found.update(_stored(missing))
        missing = {key: r for key, r in missing.items() if key not in found}
        if not missing:
            break
        QuestionUse.objects.bulk_create(_picks(missing), ignore_conflicts=True)
        found.update(_stored(missing))
        missing = {key: r for key, r in missing.items() if key not in found}
    for key in missing:
        # Lost every race (very busy passes): a question for this e-mail, not stored.
        found[key] = secrets.choice(range(len(QUESTIONS)))
    return found


def _stored(occurrences: dict) -> dict:
    ritual_ids = {rid for rid, _ in occurrences}
    days = {day for _, day in occurrences}
    return {
        (u.ritual_id, u.occurrence): u.question
        for u in QuestionUse.objects.filter(ritual_id__in=ritual_ids, occurrence__in=days)
        if (u.ritual_id, u.occurrence) in occurrences
    }


def _picks(occurrences: dict) -> list[QuestionUse]:
    """A fresh question for each occurrence, by its space's current cycle."""
    spaces = {ritual.space_id for ritual in occurrences.values()}
    cycles = dict(
        QuestionUse.objects.filter(space_id__in=spaces)
        .values("space_id")
        .annotate(c=Max("cycle"))
        .values_list("space_id", "c")
    )
    current = Q(pk__in=[])
    for space_id, cycle in cycles.items():
        current |= Q(space_id=space_id, cycle=cycle)
    used: dict[int, set[int]] = {space_id: set() for space_id in spaces}
    for space_id, question in QuestionUse.objects.filter(current).values_list(
        "space_id", "question"
    ):
        used[space_id].add(question)
    picked: dict[int, set[int]] = {space_id: set() for space_id in spaces}
    new = []
    for (rid, day), ritual in occurrences.items():
        space_id = ritual.space_id
        cycle = cycles.get(space_id) or 0
        remaining = [i for i in range(len(QUESTIONS)) if i not in used[space_id]]
        if not remaining:
            # A new cycle, but not with a question this batch just gave the space.
            cycle = cycles[space_id] = cycle + 1
            used[space_id] = set()
            remaining = [i for i in range(len(QUESTIONS)) if i not in picked[space_id]]
        pick = secrets.choice(remaining)
        used[space_id].add(pick)
        picked[space_id].add(pick)
        new.append(
            QuestionUse(
                space_id=space_id, ritual_id=rid, occurrence=day, question=pick, cycle=cycle
            )
        )
    return new
