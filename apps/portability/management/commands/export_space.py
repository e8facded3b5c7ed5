"""manage.py export_space --space ID --output FILE.json: a full backup of one space."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import Space
from apps.portability.services import export_json, space_export


class Command(BaseCommand):
    help = (
        "Write one space, with both partners' private entries and the letters' encrypted "
        "envelopes, to a JSON file that import_space restores. The file is as sensitive "
        "as the database: keep it apart from the vault keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("--space", type=int, required=True, help="The space's id.")
        parser.add_argument("--output", required=True, help="A file path, or - for stdout.")

    def handle(self, *args, space, output, **options):
        found = Space.objects.filter(pk=space).first()
        if found is None:
            raise CommandError(f"There is no space with id {space}.")
        text = export_json(space_export(space=found, viewer=None))
        if output == "-":
            sys.stdout.write(text + "\n")
            return
        path = Path(output)
        path.touch(mode=0o600)
        path.write_text(text + "\n", encoding="utf-8")
        self.stdout.write(f"Space {space} written to {output}.")
