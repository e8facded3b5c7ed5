import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


class Command(BaseCommand):
    help = (
        "Wait until the database accepts connections (and, with --migrated, until every "
        "migration is applied). Container entrypoints run it before starting a process."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=60.0, help="Give up after seconds.")
        parser.add_argument(
            "--migrated",
            action="store_true",
            help="Also wait until no migration is left to apply (another container migrates).",
        )

    def handle(self, *args, timeout, migrated, **options):
        deadline = time.monotonic() + timeout
        connection = connections[DEFAULT_DB_ALIAS]
        waiting_for = "the database"
        while True:
            problem = None
            try:
                connection.ensure_connection()
                if migrated:
                    executor = MigrationExecutor(connection)
                    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
                    if plan:
                        waiting_for = "the migrations"
                        problem = f"{len(plan)} migration(s) not applied yet"
            except Exception as exc:  # any connection error: keep waiting until the deadline
                problem = f"{type(exc).__name__}: {exc}".strip()
                connection.close()
            if problem is None:
                self.stdout.write("The database is ready.")
                return
            if time.monotonic() >= deadline:
                raise CommandError(f"Gave up waiting for {waiting_for}: {problem}")
            self.stderr.write(f"Waiting for {waiting_for} ({problem})")
            time.sleep(min(2.0, max(deadline - time.monotonic(), 0.1)))
