from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from apps.core.scheduling import last_tick_age


class Command(BaseCommand):
    help = (
        "Say when the scheduler last ticked; exit 1 when it never did or is late "
        "(older than KEEPSAKE_SCHEDULER_MAX_AGE). The compose file's beat healthcheck."
    )

    def handle(self, *args, **options):
        try:
            age = last_tick_age()
        except DatabaseError as exc:
            self.stderr.write(f"Cannot read the scheduler's state: {exc}")
            raise SystemExit(1) from exc
        if age is None:
            self.stderr.write("The scheduler has never ticked.")
            raise SystemExit(1)
        seconds = int(age.total_seconds())
        if seconds > settings.SCHEDULER_MAX_AGE:
            self.stderr.write(
                f"The scheduler is late: last tick {seconds} s ago "
                f"(limit {settings.SCHEDULER_MAX_AGE} s)."
            )
            raise SystemExit(1)
        self.stdout.write(f"The scheduler ticked {seconds} s ago.")
