"""The operator's backup: export_space / import_space round-trip a whole space."""

from __future__ import annotations

import base64
import copy
import json

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.db import connection

from apps.accounts.models import Space, User
from apps.journal.models import Entry
from apps.portability.services import SpaceImportError, export_json, space_export, space_import
from apps.rituals.models import ReminderSchedule
from apps.vault import crypto
from apps.vault import services as vault
from apps.vault.models import Letter

from .conftest import (
    ALICE_PRIVATE,
    BOB_LETTER_OPENS,
    BOB_PRIVATE,
    OPENED_BODY,
    SEALED_TO_ALICE_BODY,
    SEALED_TO_ALICE_TITLE,
    SEALED_TO_BOB_BODY,
)

pytestmark = pytest.mark.django_db


def normalised(data: dict) -> dict:
    """The export without the moment of export. Everything else must survive as it
    was: letter ids, the space's uuid, and each letter's envelope byte for byte (the
    import copies it; nothing is decrypted and encrypted again)."""
    data = copy.deepcopy(data)
    data.pop("exported_at")
    return data


def wipe() -> None:
    """A fresh instance: nothing of the couple is left (ids are not reused)."""
    Letter.objects.all().delete()
    Space.objects.all().delete()
    User.objects.all().delete()


def test_round_trip_loses_nothing(history, frozen):
    before = space_export(space=history.space, viewer=None)
    text = export_json(before)
    # The operator backup holds both partners' private entries and every letter.
    assert ALICE_PRIVATE in text and BOB_PRIVATE in text
    assert len(before["letters"]) == 5
    # Smaller things a restore must keep too.
    assert before["rituals"][0]["questions_asked"]
    assert {s["user"]: bool(s["last_visit_at"]) for s in before["journal_settings"]} == {
        history.alice.email: False,
        history.bob.email: True,
    }
    assert before["email_opt_outs"] == [[history.bob.email, "journal"]]
    assert before["vault_nudges"] == [history.alice.email]
    # ... but no letter text in the clear.
    for secret in (OPENED_BODY, SEALED_TO_ALICE_BODY, SEALED_TO_ALICE_TITLE, SEALED_TO_BOB_BODY):
        assert secret not in text
    old_ids = (history.space.pk, history.alice.pk, history.bob.pk)

    wipe()
    space = space_import(data=json.loads(text))
    after = space_export(space=space, viewer=None)

    assert normalised(after) == normalised(before)
    alice = User.objects.get(email=history.alice.email)
    assert (space.pk, alice.pk) != old_ids[:2]  # new integer ids, same ciphertexts
    assert {e.text for e in Entry.objects.filter(is_private=True)} == {ALICE_PRIVATE, BOB_PRIVATE}
    # Reminders were scheduled again for both partners.
    assert (
        ReminderSchedule.objects.filter(ritual__space=space, next_remind_at__isnull=False).count()
        == 2
    )


def test_imported_people_must_set_a_password(history, client, frozen):
    text = export_json(space_export(space=history.space, viewer=None))
    wipe()
    space_import(data=json.loads(text))
    alice = User.objects.get(email=history.alice.email)
    assert not alice.has_usable_password()
    assert alice.display_name == "Alice"
    assert EmailAddress.objects.get(user=alice).verified
    assert not client.login(email=alice.email, password="correct horse battery")


def test_sealed_letter_stays_sealed_and_opens_on_its_day(history, frozen):
    text = export_json(space_export(space=history.space, viewer=None))
    wipe()
    space_import(data=json.loads(text))
    alice = User.objects.get(email=history.alice.email)
    bob = User.objects.get(email=history.bob.email)
    letter = Letter.objects.get(pk=history.sealed_to_alice.pk)
    assert letter.status == "sealed"
    # Still encrypted at rest: no plaintext in the row.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM vault_letter")
        dump = repr(cursor.fetchall())
    assert "ticket from our first film" not in dump
    with pytest.raises(vault.LetterLocked):
        vault.letter_read(letter=letter, user=alice, now=frozen)

    with time_machine.travel(BOB_LETTER_OPENS, tick=False):
        assert vault.letters_open_due(now=BOB_LETTER_OPENS) >= 1
        letter.refresh_from_db()
        assert letter.status == "opened"
        text_ = vault.letter_read(letter=letter, user=alice, now=BOB_LETTER_OPENS)
        assert (text_.title, text_.body) == (SEALED_TO_ALICE_TITLE, SEALED_TO_ALICE_BODY)
        opened = Letter.objects.get(pk=history.opened.pk)
        assert vault.letter_read(letter=opened, user=bob, now=BOB_LETTER_OPENS).body == OPENED_BODY


def test_commands_round_trip(history, tmp_path, frozen):
    path = tmp_path / "space.json"
    call_command("export_space", space=history.space.pk, output=str(path))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    before = json.loads(path.read_text())
    wipe()
    call_command("import_space", str(path))
    space = Space.objects.get()
    assert normalised(space_export(space=space, viewer=None)) == normalised(before)


def test_export_command_unknown_space(db, tmp_path):
    with pytest.raises(CommandError, match="no space with id 999"):
        call_command("export_space", space=999, output=str(tmp_path / "x.json"))


def test_import_command_bad_files(db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("import_space", str(bad))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_space", str(tmp_path / "missing.json"))
    bad.write_text('{"format": "something else"}')
    with pytest.raises(CommandError, match="not a Keepsake space export"):
        call_command("import_space", str(bad))


def counts() -> tuple:
    return (
        Space.objects.count(),
        User.objects.count(),
        Letter.objects.count(),
        Entry.objects.count(),
        EmailAddress.objects.count(),
    )


@pytest.mark.parametrize("key_id", ["test1", "other"])
def test_import_refuses_without_the_right_key(history, settings, frozen, key_id):
    data = json.loads(export_json(space_export(space=history.space, viewer=None)))
    wipe()
    empty = counts()
    settings.VAULT_KEYS = crypto.new_key_spec(key_id)
    with pytest.raises(SpaceImportError) as error:
        space_import(data=data)
    message = str(error.value)
    assert "Nothing was imported" in message and "does not unwrap with VAULT_KEYS" in message
    assert settings.VAULT_KEYS.split(":")[1] not in message
    assert counts() == empty


def test_import_with_rotated_keys_still_works(history, settings, frozen):
    data = json.loads(export_json(space_export(space=history.space, viewer=None)))
    wipe()
    settings.VAULT_KEYS = crypto.new_key_spec("new") + "," + settings.VAULT_KEYS
    space = space_import(data=data)
    assert Letter.objects.filter(space=space, key_id="new").count() == 5


def test_a_tampered_letter_rolls_everything_back(history, frozen):
    data = json.loads(export_json(space_export(space=history.space, viewer=None)))
    wipe()
    empty = counts()
    letter = data["letters"][-1]
    body = bytearray(base64.b64decode(letter["body_ciphertext"]))
    body[0] ^= 1
    letter["body_ciphertext"] = base64.b64encode(bytes(body)).decode()
    with pytest.raises(SpaceImportError, match="does not authenticate"):
        space_import(data=data)
    assert counts() == empty


def test_import_refuses_a_member_of_another_space(history, frozen):
    data = json.loads(export_json(space_export(space=history.space, viewer=None)))
    Letter.objects.all().delete()
    before = counts()
    with pytest.raises(SpaceImportError, match="already belongs to a space"):
        space_import(data=data)
    assert counts() == before


def test_import_refuses_a_partner_download(history, frozen):
    data = json.loads(export_json(space_export(space=history.space, viewer=history.alice)))
    with pytest.raises(SpaceImportError, match="partner's download"):
        space_import(data=data)


def test_import_refuses_a_malformed_file(history, frozen):
    data = json.loads(export_json(space_export(space=history.space, viewer=None)))
    wipe()
    empty = counts()
    del data["rituals"][0]["rrule"]
    with pytest.raises(SpaceImportError, match="malformed"):
        space_import(data=data)
    assert counts() == empty


def test_existing_accounts_without_a_space_are_matched(history, frozen):
    data = json.loads(export_json(space_export(space=history.space, viewer=None)))
    Letter.objects.all().delete()
    Space.objects.all().delete()  # both accounts stay, now without a space
    alice_pk = history.alice.pk
    space = space_import(data=data)
    alice = User.objects.get(pk=alice_pk)
    assert alice.space_id == space.pk
    assert alice.has_usable_password()  # an existing account keeps its password
    assert User.objects.count() == 2


def test_round_trip_after_a_partner_deleted_their_account(history, frozen):
    """A tombstone is exported as a former member and restored as one; letters to and
    from it are re-bound and still open for the remaining partner."""
    from apps.accounts.services import account_delete

    account_delete(user=history.alice)
    before = space_export(space=history.space, viewer=None)
    former = [m for m in before["members"] if not m["member"]]
    assert len(former) == 1 and former[0]["email"].endswith("@deleted.invalid")
    wipe()
    space = space_import(data=json.loads(export_json(before)))
    assert normalised(space_export(space=space, viewer=None)) == normalised(before)
    tombstone = User.objects.get(email=former[0]["email"])
    assert not tombstone.is_active and tombstone.space_id is None
    assert not EmailAddress.objects.filter(user=tombstone).exists()
    assert list(space.members.values_list("email", flat=True)) == [history.bob.email]
    with time_machine.travel(BOB_LETTER_OPENS, tick=False):
        vault.letters_open_due(now=BOB_LETTER_OPENS)
        letter = Letter.objects.get(pk=history.sealed_to_alice.pk)
        bob = User.objects.get(email=history.bob.email)
        assert vault.letter_read(letter=letter, user=bob, now=BOB_LETTER_OPENS).body == (
            SEALED_TO_ALICE_BODY
        )


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("members"),
        lambda d: d["space"].update(time_zone="Mars/Olympus"),
        lambda d: d["letters"][0].update(wrapped_key="not base64!"),
        lambda d: d["space"].pop("uuid"),
        lambda d: d["space"].update(uuid="not a uuid"),
        lambda d: d["journal_entries"][0].update(day="yesterday"),
        lambda d: d["rituals"][0]["check_ins"][0].update(user="nobody@example.com"),
    ],
)
def test_damaged_files_are_refused_whole(history, frozen, damage):
    data = json.loads(export_json(space_export(space=history.space, viewer=None)))
    wipe()
    empty = counts()
    damage(data)
    with pytest.raises(SpaceImportError, match="Nothing was imported"):
        space_import(data=data)
    assert counts() == empty


def _sealed_item(data):
    return next(i for i in data["letters"] if i["status"] != "draft" and i["opens_at"])


@pytest.mark.parametrize(
    "edit",
    [
        "opens a day earlier",
        "opens a year later",
        "another space uuid",
        "sealed turned draft",
    ],
)
def test_an_edited_file_is_refused_not_imported_as_letters_that_never_open(history, frozen, edit):
    """The import checks each letter's binding (space, opening instant, draft or not)
    before writing: an edited file would otherwise import letters nobody can open."""
    import datetime as dt
    import uuid

    data = json.loads(export_json(space_export(space=history.space, viewer=None)))
    wipe()
    empty = counts()
    item = _sealed_item(data)
    opens_at = dt.datetime.fromisoformat(item["opens_at"])
    if edit == "opens a day earlier":
        item["opens_at"] = (opens_at - dt.timedelta(days=1)).isoformat()
    elif edit == "opens a year later":
        item["opens_at"] = (opens_at + dt.timedelta(days=365)).isoformat()
    elif edit == "another space uuid":
        data["space"]["uuid"] = str(uuid.uuid4())
    else:
        item.update(status="draft", opens_at=None, opens_on=None, sealed_at=None)
    with pytest.raises(SpaceImportError, match="does not authenticate"):
        space_import(data=data)
    assert counts() == empty
