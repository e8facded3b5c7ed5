from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "apps.vault"
    label = "vault"
    verbose_name = "Vault"

    def ready(self) -> None:
        # A malformed VAULT_KEYS is a clear start-up error, not a failure on opening day.
        from .crypto import check_configuration

        check_configuration()
