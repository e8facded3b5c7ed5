"""Keys against the stored letters: a lost key file, a wrong key, and error reports."""

from __future__ import annotations

import functools
import os
import stat
from unittest import mock

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import SystemCheckError
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.views.debug import ExceptionReporter

from apps.vault import checks, crypto, services
from apps.vault.models import Letter

from .conftest import local

pytestmark = pytest.mark.django_db

SEALING = local("Europe/Berlin", 2026, 3, 1, 12)
# The letter check is a database check: it runs for the databases a command names.
DB = ["default"]


@pytest.fixture
def embedded(settings, tmp_path):
    """The `make run` default: DEBUG, no VAULT_KEYS, a key file under var/."""
    settings.DEBUG = True
    settings.VAULT_KEYS = ""
    settings.VAULT_KEY_FILE = tmp_path / "var" / "vault.key"
    return settings.VAULT_KEY_FILE


# --- 1. The embedded key file -------------------------------------------------------------


def test_migrate_creates_the_key_file_before_any_letter(embedded):
    call_command("migrate", verbosity=0, skip_checks=False)
    assert stat.S_IMODE(os.stat(embedded).st_mode) == 0o600
    key = embedded.read_text()
    assert key.startswith(f"{crypto.LOCAL_KEY_ID}:")
    call_command("migrate", verbosity=0, skip_checks=False)
    assert embedded.read_text() == key  # created once, never replaced


def test_a_lost_key_file_is_not_replaced_while_letters_need_it(embedded, couple, alice):
    letter = services.letter_create(author=alice, title="Kept", body="Under the local key")
    assert letter.key_id == crypto.LOCAL_KEY_ID
    key = embedded.read_text()
    embedded.unlink()

    with pytest.raises(crypto.VaultKeyError) as error:
        crypto.keyring()
    message = str(error.value)
    assert "is missing" in message and "1 letter(s)" in message
    assert "Restore the file from your backup" in message and "docs/vault.md" in message
    assert not embedded.exists()
    with pytest.raises(crypto.VaultKeyError):
        services.letter_create(author=alice, title="New", body="Would use a new key")
    assert not embedded.exists()
    assert Letter.objects.count() == 1

    embedded.write_text(key)  # restored from the backup: the letter opens again
    assert services.letter_read(letter=letter, user=alice, now=SEALING).body == (
        "Under the local key"
    )


def test_a_missing_key_file_without_letters_under_it_is_created(embedded, couple, alice):
    assert not embedded.exists()
    services.letter_create(author=alice, title="First", body="The first letter")
    assert stat.S_IMODE(os.stat(embedded).st_mode) == 0o600


# --- 2. The system check ------------------------------------------------------------------


def _ids(errors) -> list[str]:
    return [e.id for e in errors]


def test_an_empty_or_damaged_key_file_is_named_not_replaced(embedded, couple, alice):
    crypto.ensure_local_key()
    for content in ("", "local:not-base64!\n"):
        embedded.write_text(content)
        with pytest.raises(crypto.VaultKeyError, match="is empty or damaged"):
            crypto.keyring()
        assert embedded.read_text() == content


def test_the_key_file_appears_whole_or_not_at_all(embedded):
    """Created through a temporary file and a link: no reader ever sees it half-written,
    nothing is left beside it, and a file that exists (another process's) is kept."""
    crypto.ensure_local_key()
    key = embedded.read_text()
    assert crypto.parse_keys(key.strip()).ids == [crypto.LOCAL_KEY_ID]
    assert stat.S_IMODE(os.stat(embedded).st_mode) == 0o600
    assert sorted(p.name for p in embedded.parent.iterdir()) == [embedded.name]
    crypto.ensure_local_key()
    assert embedded.read_text() == key


def test_check_passes_when_the_keys_fit(couple, alice, seal, settings):
    seal(alice, now=SEALING)
    services.letter_create(author=alice, title="Draft", body="too")
    settings.VAULT_KEYS = crypto.new_key_spec("k2") + "," + settings.VAULT_KEYS
    seal(alice, now=SEALING)  # a second key id in use
    assert checks.check_letter_keys(databases=DB) == []
    call_command("check", databases=DB)  # raises on any error


def test_check_names_a_key_id_the_keyring_lacks(couple, alice, seal, settings):
    seal(alice, now=SEALING)
    settings.VAULT_KEYS = crypto.new_key_spec("k2")
    errors = checks.check_letter_keys(databases=DB)
    assert _ids(errors) == ["vault.E002"]
    assert "'test1'" in errors[0].msg and "does not hold" in errors[0].msg
    with pytest.raises(SystemCheckError, match=r"vault\.E002"):
        call_command("check", databases=DB)


def test_check_finds_a_wrong_key_under_the_right_id(couple, alice, seal, settings):
    letter = seal(alice, now=SEALING)
    settings.VAULT_KEYS = crypto.new_key_spec("test1")  # well-formed, but not the key
    errors = checks.check_letter_keys(databases=DB)
    assert _ids(errors) == ["vault.E003"]
    assert "'test1'" in errors[0].msg and str(letter.pk) in errors[0].msg
    assert settings.VAULT_KEYS.split(":")[1] not in errors[0].msg + errors[0].hint
    with pytest.raises(SystemCheckError, match=r"vault\.E003"):
        call_command("check", databases=DB)


def test_one_altered_row_is_a_warning_not_a_wrong_key(couple, alice, seal, settings):
    """A damaged or edited row must not read as a wrong key and stop the whole site."""
    letters = [seal(alice, now=SEALING) for _ in range(3)]
    damaged = letters[0]
    Letter.objects.filter(pk=damaged.pk).update(wrapped_key=bytes(32))
    errors = checks.check_letter_keys(databases=DB)
    assert _ids(errors) == ["vault.W001"]
    assert str(damaged.pk) in errors[0].msg
    call_command("check", databases=DB)  # a warning: start-up goes on
    # Every sampled row failing is the key's fault after all.
    Letter.objects.update(wrapped_key=bytes(32))
    assert _ids(checks.check_letter_keys(databases=DB)) == ["vault.E003"]


def test_check_reports_a_lost_key_file(embedded, couple, alice):
    services.letter_create(author=alice, title="Kept", body="Under the local key")
    embedded.unlink()
    errors = checks.check_letter_keys(databases=DB)
    assert _ids(errors) == ["vault.E001"]
    assert "is missing" in errors[0].msg
    assert not embedded.exists()


def test_check_costs_one_query_plus_one_per_key_id(couple, alice, bob, seal, settings):
    def selects() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert checks.check_letter_keys(databases=DB) == []
        return sum(q["sql"].lstrip().upper().startswith("SELECT") for q in queries)

    seal(alice, now=SEALING)
    settings.VAULT_KEYS = crypto.new_key_spec("k2") + "," + settings.VAULT_KEYS
    seal(bob, now=SEALING)
    assert selects() == 3
    for _ in range(5):
        seal(alice, now=SEALING)
    assert selects() == 3


def test_check_is_quiet_before_migrate_and_without_a_database(couple, alice, seal):
    seal(alice, now=SEALING)
    with mock.patch.object(Letter._meta, "db_table", "vault_letter_not_migrated_yet"):
        assert checks.check_letter_keys(databases=DB) == []
    assert Letter.objects.count() == 1  # the connection is still usable (PostgreSQL)
    for refusal in (OperationalError("connection refused"), RuntimeError("no access")):
        with mock.patch.object(checks.transaction, "atomic", side_effect=refusal):
            assert checks.check_letter_keys(databases=DB) == []


def test_letter_check_runs_in_migrate_not_in_every_command(
    couple, alice, seal, settings, django_assert_num_queries
):
    """Wrong keys stop `migrate` (every start-up runs it first) and `check --database`;
    any other command's system checks (a shell, Celery, `check`) do not query for it."""
    seal(alice, now=SEALING)
    settings.VAULT_KEYS = crypto.new_key_spec("test1")  # wrong key: vault.E003
    with django_assert_num_queries(0):
        assert checks.check_letter_keys() == []
        call_command("check")
    with pytest.raises(SystemCheckError, match=r"vault\.E003"):
        call_command("check", "--database", "default")
    with pytest.raises(SystemCheckError, match=r"vault\.E003"):
        call_command("migrate", verbosity=0, skip_checks=False)


def test_check_without_letters_reads_no_key(couple, settings):
    settings.VAULT_KEYS = crypto.new_key_spec("anything")
    assert checks.check_letter_keys(databases=DB) == []


# --- 5. Error reports -------------------------------------------------------------------------


def _report(call):
    """The error report Django would write (DEBUG off) for what ``call`` raises."""
    try:
        call()
    except Exception as exc:  # any error: it is the report we look at
        # Start at the vault code: this helper's frame is not the one under test.
        reporter = ExceptionReporter(None, type(exc), exc, exc.__traceback__.tb_next)
        return reporter
    raise AssertionError("expected an exception")


def _frame_vars(reporter, function: str) -> dict:
    frames = [f for f in reporter.get_traceback_frames() if f["function"] == function]
    assert frames, f"no frame of {function}"
    cleansed = reporter.filter.get_traceback_frame_variables(None, frames[0]["tb"].tb_frame)
    return dict(cleansed)


def test_error_reports_hide_the_key_encryption_key(settings):
    assert not settings.DEBUG
    binding = crypto.Binding(
        letter_id="5f0c6a4e-0000-4000-8000-000000000001",
        space_uuid="0b6f6f0e-0000-4000-8000-0000000000aa",
        opens_at=None,
    )
    sealed = crypto.encrypt(title="t", body="b", binding=binding)
    wrong = crypto.parse_keys(crypto.new_key_spec("test1"))  # same id, another key
    reporter = _report(functools.partial(crypto.decrypt, sealed, binding=binding, ring=wrong))
    assert isinstance(reporter.exc_value, crypto.DecryptionFailed)
    kek = wrong.get("test1")
    assert _frame_vars(reporter, "_unwrap")["kek"] == "********************"
    for rendered in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        assert repr(kek)[2:-1] not in rendered
        assert repr(kek)[2:-1].replace("'", "&#x27;") not in rendered


def test_error_reports_hide_vault_keys_in_keyring_and_parse_keys(settings):
    assert not settings.DEBUG
    good = crypto.new_key_spec("k2")
    settings.VAULT_KEYS = good + ",not-a-key"
    reporter = _report(crypto.keyring)
    assert isinstance(reporter.exc_value, crypto.VaultKeyError)
    assert _frame_vars(reporter, "keyring")["spec"] == "********************"
    assert _frame_vars(reporter, "parse_keys")["spec"] == "********************"
    secret = good.split(":")[1]
    for rendered in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        assert secret not in rendered


def test_rewrap_check_still_runs_when_the_system_check_fails(couple, alice, seal, settings, capsys):
    """The check's hint sends the operator to `vault_rewrap --check`: it must run."""
    letter = seal(alice, now=SEALING)
    settings.VAULT_KEYS = crypto.new_key_spec("test1")  # wrong key: vault.E003
    with pytest.raises(SystemExit):  # as from the command line, checks included
        load_command_class("apps.vault", "vault_rewrap").run_from_argv(
            ["manage.py", "vault_rewrap", "--check"]
        )
    err = capsys.readouterr().err
    assert "cannot be unwrapped" in err and str(letter.pk) in err
    assert "vault.E003" not in err
