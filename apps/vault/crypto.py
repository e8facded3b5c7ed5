"""Envelope encryption for letters (DESIGN.md, "The vault").

Every letter gets a fresh 256-bit data key. The data key encrypts the title and
the body with AES-GCM; the data key itself is stored wrapped (AES-GCM again) by a
key-encryption key (KEK) that lives outside the database, in ``VAULT_KEYS``:

    VAULT_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>"   # newest first

The newest KEK wraps new letters; older ones only unwrap, until
``manage.py vault_rewrap`` has moved every letter to the newest one.

Associated data binds each ciphertext to its letter: its id, space, author,
recipient and opening instant (or a draft marker). Moving a sealed letter's
opening day in the database, or swapping two letters' ciphertexts, therefore
makes decryption fail instead of revealing anything early.

Nothing here logs or formats plaintext or key material.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
LOCAL_KEY_ID = "local"
DRAFT = "draft"
_VERSION = b"keepsake-vault/v1"


class VaultKeyError(ImproperlyConfigured):
    """``VAULT_KEYS`` is missing or malformed. Never carries key material."""


class DecryptionFailed(Exception):
    """A ciphertext did not authenticate: tampered, swapped, or the wrong key."""


class UnknownKey(DecryptionFailed):
    """The letter was wrapped by a key id that is not in ``VAULT_KEYS`` any more."""


@dataclass(frozen=True)
class Keyring:
    """Key-encryption keys, newest first."""

    keys: tuple[tuple[str, bytes], ...]

    def __repr__(self) -> str:  # never show key bytes, not even in a debugger
        return f"Keyring(ids={[key_id for key_id, _ in self.keys]})"

    @property
    def newest_id(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]

    def get(self, key_id: str) -> bytes:
        for candidate, key in self.keys:
            if candidate == key_id:
                return key
        raise UnknownKey(f"key id {key_id!r} is not in VAULT_KEYS (known: {self.ids})")


# --- Reading the keys ----------------------------------------------------------------


@lru_cache(maxsize=8)
def parse_keys(spec: str) -> Keyring:
    """Parse ``"id:base64key,id:base64key"``; raise ``VaultKeyError`` with a clear reason."""
    entries = [part.strip() for part in spec.split(",") if part.strip()]
    if not entries:
        raise VaultKeyError("VAULT_KEYS is empty. " + _HOW_TO)
    keys: list[tuple[str, bytes]] = []
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not KEY_ID_RE.match(key_id):
            raise VaultKeyError(
                f"VAULT_KEYS entry {position} must look like 'id:base64key' with an id of "
                "letters, digits, '.', '_' or '-' (at most 32). " + _HOW_TO
            )
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            key = None
        if key is None or len(key) != KEY_BYTES:
            raise VaultKeyError(
                f"VAULT_KEYS key {key_id!r} is not {KEY_BYTES} bytes of base64. " + _HOW_TO
            )
        if any(key_id == known for known, _ in keys):
            raise VaultKeyError(f"VAULT_KEYS names key id {key_id!r} twice.")
        keys.append((key_id, key))
    return Keyring(keys=tuple(keys))


_HOW_TO = (
    "Create a key with: python -c \"import base64,os;print('k1:'+"
    'base64.b64encode(os.urandom(32)).decode())" (see docs/vault.md).'
)


def new_key_spec(key_id: str = "k1") -> str:
    """A fresh ``id:base64key`` entry, for docs and tests."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def _local_key_file() -> Path:
    return Path(getattr(settings, "VAULT_KEY_FILE", Path(settings.VAR_DIR) / "vault.key"))


def _read_or_create_local_key(path: Path) -> str:
    """The embedded default's key: created once, mode 0600, next to the SQLite file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race; read its key below
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_key_spec(LOCAL_KEY_ID) + "\n")
    return path.read_text().strip()


def keyring() -> Keyring:
    """The configured keys: ``VAULT_KEYS``, else (DEBUG only) the local key file."""
    spec = getattr(settings, "VAULT_KEYS", "")
    if spec:
        return parse_keys(spec)
    if settings.DEBUG:
        return parse_keys(_read_or_create_local_key(_local_key_file()))
    raise VaultKeyError("VAULT_KEYS is not set. " + _HOW_TO)


def check_configuration() -> None:
    """Start-up check: a set ``VAULT_KEYS`` must parse (the DEBUG key file is lazy)."""
    spec = getattr(settings, "VAULT_KEYS", "")
    if spec:
        parse_keys(spec)
    elif not settings.DEBUG:
        raise VaultKeyError("VAULT_KEYS is not set. " + _HOW_TO)


# --- Associated data ----------------------------------------------------------------------


def _instant(opens_at: dt.datetime | None) -> str:
    if opens_at is None:
        return DRAFT
    if opens_at.tzinfo is None:
        raise ValueError("opens_at must be aware")
    return opens_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Binding:
    """What a letter's ciphertext is bound to; any change makes it undecryptable."""

    letter_id: str
    space_id: int
    author_id: int
    recipient_id: int
    opens_at: dt.datetime | None  # None for a draft

    def aad(self, field: str) -> bytes:
        parts = [
            _VERSION,
            b"letter=" + str(self.letter_id).encode(),
            b"space=%d" % self.space_id,
            b"author=%d" % self.author_id,
            b"to=%d" % self.recipient_id,
            b"opens=" + _instant(self.opens_at).encode(),
            b"field=" + field.encode(),
        ]
        return b"|".join(parts)

    def wrap_aad(self, key_id: str) -> bytes:
        return b"|".join(
            [_VERSION, b"wrap", b"letter=" + str(self.letter_id).encode(), key_id.encode()]
        )


@dataclass(frozen=True)
class Sealed:
    """The stored form of a letter's text."""

    key_id: str
    wrapped_key: bytes
    title_nonce: bytes
    title_ciphertext: bytes
    body_nonce: bytes
    body_ciphertext: bytes

    def __repr__(self) -> str:
        return f"Sealed(key_id={self.key_id!r})"


# --- Encrypting and decrypting ---------------------------------------------------------------


def _wrap(data_key: bytes, binding: Binding, ring: Keyring) -> tuple[str, bytes]:
    key_id = ring.newest_id
    nonce = secrets.token_bytes(NONCE_BYTES)
    wrapped = AESGCM(ring.get(key_id)).encrypt(nonce, data_key, binding.wrap_aad(key_id))
    return key_id, nonce + wrapped


def _unwrap(key_id: str, wrapped_key: bytes, binding: Binding, ring: Keyring) -> bytes:
    kek = ring.get(key_id)
    blob = bytes(wrapped_key)
    try:
        return AESGCM(kek).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], binding.wrap_aad(key_id))
    except InvalidTag:
        raise DecryptionFailed(f"the data key did not unwrap under key id {key_id!r}") from None


@sensitive_variables("title", "body", "data_key")
def encrypt(*, title: str, body: str, binding: Binding, ring: Keyring | None = None) -> Sealed:
    """Encrypt a title and body under a fresh data key bound to ``binding``."""
    ring = ring or keyring()
    data_key = AESGCM.generate_key(bit_length=256)
    aead = AESGCM(data_key)
    title_nonce = secrets.token_bytes(NONCE_BYTES)
    body_nonce = secrets.token_bytes(NONCE_BYTES)
    key_id, wrapped = _wrap(data_key, binding, ring)
    return Sealed(
        key_id=key_id,
        wrapped_key=wrapped,
        title_nonce=title_nonce,
        title_ciphertext=aead.encrypt(title_nonce, title.encode(), binding.aad("title")),
        body_nonce=body_nonce,
        body_ciphertext=aead.encrypt(body_nonce, body.encode(), binding.aad("body")),
    )


@sensitive_variables("data_key", "title", "body")
def decrypt(sealed: Sealed, *, binding: Binding, ring: Keyring | None = None) -> tuple[str, str]:
    """The (title, body) of ``sealed``; raises ``DecryptionFailed`` on any mismatch."""
    ring = ring or keyring()
    data_key = _unwrap(sealed.key_id, sealed.wrapped_key, binding, ring)
    aead = AESGCM(data_key)
    try:
        title = aead.decrypt(
            bytes(sealed.title_nonce), bytes(sealed.title_ciphertext), binding.aad("title")
        )
        body = aead.decrypt(
            bytes(sealed.body_nonce), bytes(sealed.body_ciphertext), binding.aad("body")
        )
    except InvalidTag:
        raise DecryptionFailed("the title or body did not authenticate") from None
    return title.decode(), body.decode()


@sensitive_variables("data_key")
def unwraps(sealed: Sealed, *, binding: Binding, ring: Keyring | None = None) -> bool:
    """Whether the configured keys can unwrap this letter's data key (texts stay shut)."""
    try:
        _unwrap(sealed.key_id, sealed.wrapped_key, binding, ring or keyring())
    except DecryptionFailed:
        return False
    return True


@sensitive_variables("data_key")
def rewrap(sealed: Sealed, *, binding: Binding, ring: Keyring | None = None) -> Sealed:
    """The same ciphertexts with the data key wrapped by the newest KEK."""
    ring = ring or keyring()
    data_key = _unwrap(sealed.key_id, sealed.wrapped_key, binding, ring)
    key_id, wrapped = _wrap(data_key, binding, ring)
    return Sealed(
        key_id=key_id,
        wrapped_key=wrapped,
        title_nonce=bytes(sealed.title_nonce),
        title_ciphertext=bytes(sealed.title_ciphertext),
        body_nonce=bytes(sealed.body_nonce),
        body_ciphertext=bytes(sealed.body_ciphertext),
    )
