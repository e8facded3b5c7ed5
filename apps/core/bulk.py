"""Bulk writes for the scheduler's hot paths: the one module that knows PostgreSQL's
``unnest`` and psycopg's binary parameters. Nothing else in ``apps/`` should.

Why it exists: the reminder pass records and queues thousands of rows a second
(``make bench``). Django's ``bulk_create`` / ``bulk_update`` build their SQL and quote
every value into it in Python, which cost more than all the rest of the pass. Here each
column travels as one binary array parameter (``%b``) and PostgreSQL unpacks them with
``unnest``. Elsewhere (SQLite, the embedded default) the ORM's own bulk methods do the
same work, so both paths give the same rows.

The one private call, ``connection._prepare_cursor``, wraps a psycopg server-binding
cursor the way Django wraps its own (binary parameters need one; Django's default
cursor binds on the client), so query logging and ``assertNumQueries`` still see the
statement. If a Django upgrade changes it, this module is the one place to mend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection, models


def _pg_type(field: models.Field) -> tuple[str, bool]:
    """(array element type, whether values travel as JSON text)."""
    if isinstance(field, models.JSONField):
        return "text", True
    return field.db_type(connection) or "text", False


def _arrays(types: list[tuple[str, bool]], rows: Sequence[Sequence]) -> list[list]:
    """One array parameter per column (JSON columns as text)."""
    arrays = []
    for i, (_, is_json) in enumerate(types):
        column = [row[i] for row in rows]
        arrays.append([json.dumps(v) for v in column] if is_json else column)
    return arrays


def _execute_binary(sql: str, params: list) -> None:
    import psycopg

    connection.ensure_connection()
    with connection._prepare_cursor(psycopg.Cursor(connection.connection)) as cursor:
        cursor.execute(sql, params)


def insert_ignoring_conflicts(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence]
) -> None:
    """INSERT ``rows`` (tuples in ``fields`` order; attnames such as ``ritual_id``), each
    one skipped if it conflicts with a unique constraint: the constraint has the last
    word on "already done". Fields with defaults that are not listed get no value on
    PostgreSQL, so list every required column (``created_at`` included)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows],
            ignore_conflicts=True,
            batch_size=500,
        )
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    types = [_pg_type(field) for field in columns]
    names = [connection.ops.quote_name(field.column) for field in columns]
    arrays = ", ".join(f"%b::{kind}[]" for kind, _ in types)
    select = ", ".join(
        f"v.c{i}::jsonb" if is_json else f"v.c{i}" for i, (_, is_json) in enumerate(types)
    )
    aliases = ", ".join(f"c{i}" for i in range(len(columns)))
    table = connection.ops.quote_name(meta.db_table)
    _execute_binary(
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {select} "  # noqa: S608
        f"FROM unnest({arrays}) AS v({aliases}) ON CONFLICT DO NOTHING",
        _arrays(types, rows),
    )


def update_by_pk(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence]
) -> None:
    """UPDATE many rows, each to its own values: ``rows`` are (pk, value, …) in ``fields``
    order. One statement on PostgreSQL (``bulk_update`` builds a CASE per row and
    column); ``bulk_update`` elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        objs = []
        for row in rows:
            obj = model(pk=row[0])
            for name, value in zip(fields, row[1:], strict=True):
                setattr(obj, name, value)
            objs.append(obj)
        model.objects.bulk_update(objs, list(fields), batch_size=500)
        return
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    types = [_pg_type(field) for field in columns]
    arrays = ", ".join(f"%b::{kind}[]" for kind, _ in types)
    aliases = ", ".join(f"c{i}" for i in range(len(columns)))
    sets = ", ".join(
        f"{connection.ops.quote_name(field.column)} = v.c{i}" + ("::jsonb" if types[i][1] else "")
        for i, field in enumerate(columns)
        if i
    )
    table = connection.ops.quote_name(meta.db_table)
    pk = connection.ops.quote_name(meta.pk.column)
    _execute_binary(
        f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) AS v({aliases}) "  # noqa: S608
        f"WHERE t.{pk} = v.c0",
        _arrays(types, rows),
    )
