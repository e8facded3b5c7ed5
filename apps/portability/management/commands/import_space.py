"""manage.py import_space FILE.json: restore a space written by export_space."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.portability.services import SpaceImportError, space_import


class Command(BaseCommand):
    help = (
        "Restore a space from an export_space file as a new space, all or nothing. "
        "Needs VAULT_KEYS holding the key(s) the letters were wrapped with."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The JSON file export_space wrote.")

    def handle(self, *args, file, **options):
        try:
            data = json.loads(Path(file).read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except ValueError:
            raise CommandError(f"{file} is not JSON.") from None
        try:
            space = space_import(data=data)
        except SpaceImportError as exc:
            raise CommandError(str(exc)) from None
        members = ", ".join(space.members.order_by("email").values_list("email", flat=True))
        self.stdout.write(
            f"Imported as space {space.pk} ({members}). New accounts have no password: "
            "each partner sets one with “Forgot password?” on the sign-in page."
        )
