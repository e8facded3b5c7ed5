"""A GIN index for full-text search of entries, on PostgreSQL only.

The expression matches what ``SearchVector("text", config="simple")`` compiles to,
so the planner can use it. SQLite has no full-text index here: search there is a
plain ``icontains`` scan (fine for the embedded, single-couple default).
"""

from django.db import migrations

INDEX = "journal_entry_fts"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON journal_entry "
        "USING gin (to_tsvector('simple'::regconfig, COALESCE(text, '')))"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("journal", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
