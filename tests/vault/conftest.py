"""Vault fixtures: a space with a known anniversary and zone, and quick letter helpers."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import connection

from apps.vault import services
from apps.vault.models import Letter


def local(zone: str, *args) -> dt.datetime:
    """An aware datetime for a wall-clock time in ``zone``."""
    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo(zone))


@pytest.fixture
def couple(space, alice, bob):
    """Alice and Bob in Berlin, anniversary 14 February."""
    space.time_zone = "Europe/Berlin"
    space.anniversary = dt.date(2015, 2, 14)
    space.save()
    alice.refresh_from_db()
    bob.refresh_from_db()
    return space


@pytest.fixture
def seal():
    """seal(author, title=, body=, now=, years_later=) -> a sealed letter."""

    def _seal(author, *, title="To you", body="Dear you", now, years_later=0) -> Letter:
        letter = services.letter_create(author=author, title=title, body=body)
        return services.letter_seal(letter=letter, user=author, years_later=years_later, now=now)

    return _seal


def db_value(field: str, value):
    """A value as the database stores it, for raw SQL."""
    return Letter._meta.get_field(field).get_db_prep_value(value, connection)


def raw_update(letter: Letter, **columns) -> None:
    """Change columns with raw SQL, behind the application's back."""
    sets = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
    params = [db_value(c, v) for c, v in columns.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE vault_letter SET {sets} WHERE id = %s",  # noqa: S608 (column names are ours)
            [*params, db_value("id", letter.pk)],
        )
