"""Key rotation: re-wrap every letter's data key under the newest key, or check them all.

Texts are never decrypted here: only the data keys are unwrapped and wrapped again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction

from . import crypto
from .models import Letter

logger = logging.getLogger(__name__)
BATCH_SIZE = 200  # letters per transaction


@dataclass
class RewrapResult:
    rewrapped: int = 0
    current: int = 0
    failed: list[str] = field(default_factory=list)


def letters_rewrap(*, batch_size: int = BATCH_SIZE) -> RewrapResult:
    """Re-wrap every letter's data key under the newest KEK (texts stay untouched)."""
    ring = crypto.keyring()
    newest = ring.newest_id
    result = RewrapResult(current=Letter.objects.filter(key_id=newest).count())
    pending = list(
        Letter.objects.exclude(key_id=newest).order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(pending), batch_size):
        chunk = pending[start : start + batch_size]
        with transaction.atomic():
            for letter in (
                Letter.objects.filter(pk__in=chunk)
                .select_related("space")
                .select_for_update(of=("self",))
                .order_by("pk")
            ):
                if letter.key_id == newest:
                    result.current += 1
                    continue
                try:
                    letter.set_envelope(
                        crypto.rewrap(letter.envelope(), binding=letter.binding(), ring=ring)
                    )
                except crypto.DecryptionFailed as exc:
                    logger.error("Vault: letter %s could not be re-wrapped: %s", letter.pk, exc)
                    result.failed.append(str(letter.pk))
                    continue
                Letter.objects.filter(pk=letter.pk).update(
                    key_id=letter.key_id, wrapped_key=letter.wrapped_key
                )
                result.rewrapped += 1
    return result


def letters_key_check() -> RewrapResult:
    """Dry run of the re-wrap: which letters the configured keys can (not) unwrap."""
    ring = crypto.keyring()
    result = RewrapResult()
    letters = Letter.objects.select_related("space").order_by("pk")
    for letter in letters.iterator(chunk_size=BATCH_SIZE):
        if not crypto.unwraps(letter.envelope(), binding=letter.binding(), ring=ring):
            logger.error(
                "Vault: letter %s cannot be unwrapped (key id %s)", letter.pk, letter.key_id
            )
            result.failed.append(str(letter.pk))
        elif letter.key_id == ring.newest_id:
            result.current += 1
        else:
            result.rewrapped += 1  # would be re-wrapped
    return result
