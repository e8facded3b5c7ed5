"""System check: the configured keys fit the letters already stored.

A missing or wrong key otherwise shows only when someone opens a letter, perhaps
on opening day. It reads the database, so it is a *database* check (Django's
``Tags.database``): it runs where a database is named — ``migrate`` (which every
start-up recipe runs first), ``check --database default`` (the containers' start-up,
``docker/entrypoint.sh``, before the worker and beat) — and not on every other
``manage.py`` command, shell or Celery start. ``vault_rewrap --check`` checks every
letter. That ``VAULT_KEYS`` parses needs no database and stays a start-up check
(``crypto.check_configuration``, from ``apps.py``).

Cheap on purpose: one query for the distinct key ids, then a few letters per id,
whose data keys must unwrap (no text is decrypted). A key that fits none of them is
an error; one that fits some is right, and the others are reported as altered rows.
"""

from __future__ import annotations

from django.core.checks import Error
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError, transaction

from . import crypto
from .models import Letter

ENVELOPE = ("wrapped_key", "title_nonce", "title_ciphertext", "body_nonce", "body_ciphertext")
# Letters tried per key id: one damaged row must not read as a wrong key.
SAMPLE = 5
HINT = (
    "Set VAULT_KEYS to the keys the letters were written with (newest first; an old "
    "key may follow a new one). See docs/vault.md."
)


def check_letter_keys(app_configs=None, databases=None, **kwargs) -> list:
    """Errors for key ids the keyring lacks or holds a different key under.

    Like Django's own database checks, it runs only for the ``databases`` it is given.
    """
    errors: list[Error] = []
    for alias in databases or []:
        errors += _check_alias(alias)
    return errors


def _check_alias(alias: str) -> list:
    letters = Letter.objects.using(alias)
    try:
        # A savepoint, so that a missing table (before `migrate`) leaves a
        # surrounding transaction usable on PostgreSQL.
        with transaction.atomic(using=alias):
            key_ids = sorted(letters.order_by().values_list("key_id", flat=True).distinct())
    except DatabaseError:
        return []  # no database or no table yet: nothing stored to check against
    except RuntimeError:
        # Database access refused, as pytest-django does outside database tests
        # (where, e.g., loading the Celery app runs the checks).
        return []
    if not key_ids:
        return []
    try:
        ring = crypto.keyring()
    except crypto.VaultKeyError as exc:
        # The message says what to do (restore the key file, set VAULT_KEYS).
        return [Error(str(exc), hint="See docs/vault.md.", id="vault.E001")]
    missing = [key_id for key_id in key_ids if key_id not in ring.ids]
    wrong, altered = [], []
    for key_id in key_ids:
        if key_id in missing:
            continue
        sample = list(
            letters.filter(key_id=key_id)
            .select_related("space")
            .only("id", "key_id", "status", "opens_at", "space__uuid", *ENVELOPE)
            .order_by("pk")[:SAMPLE]
        )
        failing = [
            letter.pk
            for letter in sample
            if not crypto.unwraps(letter.envelope(), binding=letter.binding(), ring=ring)
        ]
        if sample and len(failing) == len(sample):
            wrong.append((key_id, failing[0]))
        else:
            # The key fits other letters: these rows were altered (or damaged). Worth a
            # loud warning, not a site that refuses to start.
            altered += failing
    errors = []
    if missing:
        errors.append(
            Error(
                f"Letters were encrypted with vault key id(s) {', '.join(map(repr, missing))}, "
                f"which VAULT_KEYS does not hold (it holds {ring.ids}). Those letters cannot "
                "be opened.",
                hint=HINT,
                id="vault.E002",
            )
        )
    if altered:
        errors.append(
            CheckWarning(
                f"Letter(s) {', '.join(map(str, altered))} do not authenticate although "
                "their key fits other letters: the rows were altered or damaged, and those "
                "letters cannot be opened.",
                hint="Restore them from a backup. `manage.py vault_rewrap --check` lists "
                "every affected letter.",
                id="vault.W001",
            )
        )
    for key_id, pk in wrong:
        errors.append(
            Error(
                f"The vault key with id {key_id!r} does not unwrap letter {pk}: it is not the "
                "key that letter was written with (or the row was altered). Letters under "
                "that id cannot be opened.",
                hint=HINT + " `manage.py vault_rewrap --check` lists every affected letter.",
                id="vault.E003",
            )
        )
    return errors
