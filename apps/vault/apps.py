from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate


class VaultConfig(AppConfig):
    name = "apps.vault"
    label = "vault"
    verbose_name = "Vault"

    def ready(self) -> None:
        from .checks import check_letter_keys
        from .crypto import check_configuration

        # A malformed VAULT_KEYS is a clear start-up error, not a failure on opening day.
        check_configuration()
        # Keys that do not fit the stored letters fail `migrate`, `check --database` and
        # the containers' start-up; other commands do not query for it.
        checks.register(check_letter_keys, "vault", checks.Tags.database)
        # The embedded default's key exists from the first `migrate` on, so the first
        # letter is never what creates it (and a lost file is noticed, not replaced).
        post_migrate.connect(_create_local_key, sender=self)


def _create_local_key(sender, using=None, **kwargs) -> None:
    from .crypto import ensure_local_key, uses_local_key

    if uses_local_key():
        ensure_local_key()
