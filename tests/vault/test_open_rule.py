""" "A letter is open" is one rule: the queryset method and the model method agree."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.vault import services
from apps.vault.models import Letter

from .conftest import local

pytestmark = pytest.mark.django_db

SEALING = local("Europe/Berlin", 2026, 3, 1, 12)


def test_open_at_and_sealed_at_match_is_open_at(couple, alice, bob, seal):
    services.letter_create(author=alice, title="Draft", body="never opens")
    first = seal(alice, now=SEALING)  # opens 14 Feb 2027, 00:00 in Berlin
    later = seal(bob, now=SEALING, years_later=1)
    opening = first.opens_at
    for now in (SEALING, opening - dt.timedelta(seconds=1), opening, later.opens_at):
        letters = list(Letter.objects.all())
        expected_open = {letter.pk for letter in letters if letter.is_open_at(now)}
        expected_sealed = {
            letter.pk for letter in letters if not letter.is_draft and not letter.is_open_at(now)
        }
        assert set(Letter.objects.open_at(now).values_list("pk", flat=True)) == expected_open
        assert set(Letter.objects.sealed_at(now).values_list("pk", flat=True)) == expected_sealed
    assert Letter.objects.not_drafts().count() == 2
