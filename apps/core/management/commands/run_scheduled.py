from django.core.management.base import BaseCommand

from apps.core.scheduling import run_passes


class Command(BaseCommand):
    help = "Run every scheduler pass once (what beat's tick does), for cron and operators."

    def handle(self, *args, **options):
        failed = False
        for result in run_passes():
            if result.error:
                failed = True
                self.stderr.write(f"{result.name}: FAILED {result.error}")
            else:
                self.stdout.write(f"{result.name}: {result.count}")
        if failed:
            raise SystemExit(1)
