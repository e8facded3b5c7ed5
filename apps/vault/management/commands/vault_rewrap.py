from django.core.management.base import BaseCommand, CommandError

from apps.vault import crypto
from apps.vault.keys import letters_key_check, letters_rewrap
from apps.vault.models import Letter


class Command(BaseCommand):
    # The system check fails when a key does not fit the letters; this command is
    # how an operator finds out which letters (``--check``), so it must still run.
    requires_system_checks = []
    help = (
        "Re-wrap every letter's data key under the newest key in VAULT_KEYS "
        "(the first one). Afterwards the older keys can be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing: only check that every letter's key is present and right.",
        )

    def handle(self, *args, **options):
        try:
            ring = crypto.keyring()
        except crypto.VaultKeyError as exc:
            raise CommandError(str(exc)) from None
        if options["check"]:
            result = letters_key_check()
            self.stdout.write(
                f"{result.current} letter(s) on the newest key {ring.newest_id!r}, "
                f"{result.rewrapped} on older keys, {len(result.failed)} unreadable."
            )
            if result.failed:
                raise CommandError(
                    "These letters cannot be unwrapped with VAULT_KEYS (a key is missing or "
                    f"wrong): {', '.join(result.failed[:20])}"
                )
            return
        result = letters_rewrap()
        self.stdout.write(
            f"Newest key {ring.newest_id!r}: re-wrapped {result.rewrapped} letter(s), "
            f"{result.current} already current."
        )
        if result.failed:
            raise CommandError(
                f"{len(result.failed)} letter(s) could not be re-wrapped (their key is missing "
                f"or wrong; see the log): {', '.join(result.failed[:20])}. Keep the old keys "
                "in VAULT_KEYS until this is resolved."
            )
        # Letters written meanwhile by a process still on the old keys (not restarted
        # after VAULT_KEYS changed) would still need an old key: count again.
        behind = Letter.objects.exclude(key_id=ring.newest_id).count()
        if behind:
            raise CommandError(
                f"{behind} letter(s) are still under an older key (written while this ran "
                "by a web or worker process not yet restarted with the new VAULT_KEYS?). "
                "Restart them, then run this command again; keep the old keys until then."
            )
        self.stdout.write("Done. Keys other than the newest are no longer needed by any letter.")
