"""One way to a letter's text: ``services.letter_read``, after the opening instant.

An operator's export/import moves letters between instances without decrypting
them (their ciphertexts are bound to UUIDs that the import keeps), and a letter
moved to another space or day by SQL stays shut.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path
from unittest import mock

import pytest

from apps.accounts.models import Space, User
from apps.portability.services import export_json, space_export, space_import
from apps.vault import crypto, services
from apps.vault.models import Letter
from tests.factories import UserFactory

from .conftest import local, raw_update

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SEALING = local("Europe/Berlin", 2026, 3, 1, 12)
OPENING = local("Europe/Berlin", 2027, 2, 14, 0, 0)
ENVELOPE = ("key_id", "wrapped_key", "title_nonce", "title_ciphertext", "body_nonce")


def _decrypt_callers() -> set[tuple[str, str]]:
    """(file, function) of every call to something named ``decrypt`` under apps/."""
    found = set()
    for path in sorted((ROOT / "apps").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                    if name == "decrypt":
                        found.add((str(path.relative_to(ROOT)), func.name))
    return found


def test_only_letter_read_calls_decrypt():
    # Inside crypto.py, AESGCM's decrypt opens the texts (in crypto.decrypt) and the
    # data key (in _unwrap, which yields no text). Outside, only letter_read.
    assert _decrypt_callers() == {
        ("apps/vault/crypto.py", "decrypt"),
        ("apps/vault/crypto.py", "_unwrap"),
        ("apps/vault/services.py", "letter_read"),
    }


def test_export_and_import_never_decrypt_and_sealed_letters_open_on_their_day(
    couple, alice, bob, seal, settings
):
    to_bob = seal(alice, title="For Bob", body="Sealed body for Bob", now=SEALING)
    to_alice = seal(
        bob, title="For Alice", body="Sealed body for Alice", now=SEALING, years_later=1
    )
    draft = services.letter_create(author=alice, title="Draft", body="Draft body")
    stored = {
        pk: {name: bytes(getattr(letter, name)) for name in ENVELOPE[1:]}
        for pk, letter in Letter.objects.in_bulk().items()
    }
    refuse = mock.patch.object(
        crypto, "decrypt", side_effect=AssertionError("decrypted outside letter_read")
    )
    with refuse:
        text = export_json(space_export(space=couple, viewer=None))
    Letter.objects.all().delete()
    Space.objects.all().delete()
    User.objects.all().delete()
    # A rotated keyring on the new instance: the data keys are re-wrapped, no text read.
    settings.VAULT_KEYS = crypto.new_key_spec("new") + "," + settings.VAULT_KEYS
    with refuse:
        space = space_import(data=json.loads(text))

    assert space.uuid == couple.uuid and space.pk != couple.pk
    for letter in Letter.objects.all():
        assert letter.key_id == "new"
        for name in ENVELOPE[2:]:  # the texts are copied byte for byte
            assert bytes(getattr(letter, name)) == stored[letter.pk][name]
    alice = User.objects.get(email=alice.email)
    bob = User.objects.get(email=bob.email)
    imported = Letter.objects.get(pk=to_bob.pk)
    with pytest.raises(services.LetterLocked):
        services.letter_read(letter=imported, user=bob, now=OPENING - dt.timedelta(minutes=1))
    assert services.letter_unlock_due(now=OPENING) == 1
    imported.refresh_from_db()
    text_ = services.letter_read(letter=imported, user=bob, now=OPENING)
    assert (text_.title, text_.body) == ("For Bob", "Sealed body for Bob")
    assert services.letter_read(letter=Letter.objects.get(pk=draft.pk), user=alice, now=OPENING)
    later = Letter.objects.get(pk=to_alice.pk)
    with pytest.raises(services.LetterLocked):
        services.letter_read(letter=later, user=alice, now=OPENING)
    assert services.letter_read(letter=later, user=alice, now=later.opens_at).body == (
        "Sealed body for Alice"
    )


def test_a_letter_moved_to_another_space_by_sql_stays_shut(couple, alice, bob, seal, caplog):
    letter = seal(alice, title="Ours", body="Only ours", now=SEALING)
    other = Space.objects.create(name="Other", time_zone="Europe/Berlin", anniversary=OPENING)
    mallory, accomplice = UserFactory(space=other), UserFactory(space=other)
    raw_update(letter, space_id=other.pk, author_id=accomplice.pk, recipient_id=mallory.pk)
    moved = Letter.objects.get(pk=letter.pk)
    with pytest.raises(services.LetterUnreadable):
        services.letter_read(letter=moved, user=mallory, now=OPENING)
    assert "could not be decrypted" in caplog.text
    assert "Only ours" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_spaces_distinct_uuids():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("accounts", "0001_initial")], [("accounts", "0003_space_uuid_unique")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("accounts", "Space")
        for name in ("One", "Two", "Three"):
            old.objects.create(name=name, anniversary=dt.date(2015, 2, 14))
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
    uuids = list(Space.objects.values_list("uuid", flat=True))
    assert len(uuids) == 3 and None not in uuids and len(set(uuids)) == 3
