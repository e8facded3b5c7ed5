"""The envelope itself, and what a missing or malformed key does at start-up."""

from __future__ import annotations

import base64
import datetime as dt
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.db import connection

from apps.vault import crypto, services

from .conftest import local

ROOT = Path(__file__).resolve().parents[2]


def binding(**overrides) -> crypto.Binding:
    values = {
        "letter_id": "5f0c6a4e-0000-4000-8000-000000000001",
        "space_uuid": "0b6f6f0e-0000-4000-8000-0000000000aa",
        "opens_at": dt.datetime(2027, 2, 13, 23, 0, tzinfo=dt.UTC),
    }
    return crypto.Binding(**{**values, **overrides})


def test_round_trip_and_every_bound_field_matters():
    sealed = crypto.encrypt(title="Hello", body="Long letter " * 1000, binding=binding())
    assert crypto.decrypt(sealed, binding=binding()) == ("Hello", "Long letter " * 1000)
    for change in [
        {"letter_id": "5f0c6a4e-0000-4000-8000-000000000002"},
        {"space_uuid": "0b6f6f0e-0000-4000-8000-0000000000bb"},
        {"opens_at": dt.datetime(2027, 2, 13, 22, 59, tzinfo=dt.UTC)},
        {"opens_at": None},
    ]:
        with pytest.raises(crypto.DecryptionFailed):
            crypto.decrypt(sealed, binding=binding(**change))


def test_each_encryption_uses_a_fresh_data_key_and_nonces():
    one = crypto.encrypt(title="same", body="same", binding=binding())
    two = crypto.encrypt(title="same", body="same", binding=binding())
    assert one.wrapped_key != two.wrapped_key
    assert one.body_ciphertext != two.body_ciphertext
    assert len(one.title_nonce) == len(one.body_nonce) == crypto.NONCE_BYTES
    assert "same" not in repr(one)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("", "empty"),
        ("nokey", "must look like"),
        ("k1:not-base64!!", "32 bytes"),
        ("k1:" + base64.b64encode(b"short").decode(), "32 bytes"),
        ("bad id:" + base64.b64encode(bytes(32)).decode(), "must look like"),
        (
            "k1:"
            + base64.b64encode(bytes(32)).decode()
            + ",k1:"
            + base64.b64encode(bytes(32)).decode(),
            "twice",
        ),
    ],
)
def test_malformed_keys_are_refused_with_a_reason(spec, reason):
    with pytest.raises(crypto.VaultKeyError, match=reason):
        crypto.parse_keys(spec)


def test_keyring_never_shows_key_bytes():
    spec = crypto.new_key_spec("k1")
    ring = crypto.parse_keys(spec)
    assert spec.split(":")[1] not in repr(ring)
    assert ring.newest_id == "k1"


@pytest.mark.django_db
def test_debug_run_creates_a_private_key_file_once(settings, tmp_path):
    settings.DEBUG = True
    settings.VAULT_KEYS = ""
    settings.VAULT_KEY_FILE = tmp_path / "var" / "vault.key"
    ring = crypto.keyring()
    mode = stat.S_IMODE(os.stat(settings.VAULT_KEY_FILE).st_mode)
    assert mode == 0o600
    assert ring.newest_id == crypto.LOCAL_KEY_ID
    assert crypto.keyring() == ring  # the same key on the next use


def test_without_keys_and_without_debug_nothing_decrypts(settings):
    settings.DEBUG = False
    settings.VAULT_KEYS = ""
    with pytest.raises(crypto.VaultKeyError, match="not set"):
        crypto.keyring()


def _start(extra_env: dict) -> subprocess.CompletedProcess:
    # An empty SQLite database of its own: `check` compares the keys with the stored
    # letters, and a developer's database must not decide these tests.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VAULT_", "DJANGO_", "KEEPSAKE_")) and k != "DATABASE_URL"
    }
    with tempfile.TemporaryDirectory() as var:
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DJANGO_SECRET_KEY": "x" * 50,
                "DJANGO_DEBUG": "false",
                "KEEPSAKE_VAR_DIR": var,
                **extra_env,
            }
        )
        return subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def test_production_refuses_to_start_without_a_key():
    result = _start({})
    assert result.returncode != 0
    assert "VAULT_KEYS is not set" in result.stderr


def test_production_refuses_to_start_with_a_malformed_key():
    result = _start({"VAULT_KEYS": "k1:tooshort"})
    assert result.returncode != 0
    assert "is not 32 bytes of base64" in result.stderr
    assert "tooshort" not in result.stderr


def test_production_starts_with_a_good_key():
    result = _start({"VAULT_KEYS": crypto.new_key_spec("k1")})
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_the_letters_table_holds_no_plaintext_of_drafts_or_sealed_letters(couple, alice, seal):
    marker = "plaintext-marker-7d1e"
    services.letter_create(author=alice, title=marker, body=marker * 3)
    seal(alice, title=marker, body=marker, now=local("Europe/Berlin", 2026, 3, 1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM vault_letter")
        rows = cursor.fetchall()
    assert len(rows) == 2
    dump = b"".join(
        bytes(cell) if isinstance(cell, bytes | memoryview) else str(cell).encode()
        for row in rows
        for cell in row
    )
    assert marker.encode() not in dump
