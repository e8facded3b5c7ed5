"""Envelope encryption for letters (DESIGN.md, "The vault").

Every letter gets a fresh 256-bit data key. The data key encrypts the title and
the body with AES-GCM; the data key itself is stored wrapped (AES-GCM again) by a
key-encryption key (KEK) that lives outside the database, in ``VAULT_KEYS``:

    VAULT_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>"   # newest first

The newest KEK wraps new letters; older ones only unwrap, until
``manage.py vault_rewrap`` has moved every letter to the newest one.

Associated data binds each text to its letter's id, its space's ``uuid`` and its
opening instant (or a draft marker); the wrapped data key is bound to the
same and to a digest of the ciphertexts. Moving a sealed letter's opening day or space
in the database, or swapping two letters' ciphertexts, therefore makes decryption
fail instead of revealing anything early. All those identifiers are random UUIDs
that an operator's export/import keeps, so a restored letter is copied as it is,
never decrypted outside ``services.letter_read``. (Author and recipient are not
bound: an import may match them to existing accounts with other ids, and anyone
who can rewrite those columns can also rewrite a password hash; ``letter_read``
checks them against the row.)

Nothing here logs or formats plaintext or key material.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
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
# v2: bound to stable UUIDs (letter, space) instead of integer ids; v1 never shipped.
_VERSION = b"keepsake-vault/v2"


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

    @sensitive_variables()
    def get(self, key_id: str) -> bytes:
        for candidate, key in self.keys:
            if candidate == key_id:
                return key
        raise UnknownKey(f"key id {key_id!r} is not in VAULT_KEYS (known: {self.ids})")


# --- Reading the keys ----------------------------------------------------------------


@lru_cache(maxsize=8)
@sensitive_variables()  # ``spec`` is the whole VAULT_KEYS value
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
    return Path(settings.VAULT_KEY_FILE)


class LocalKeyMissing(VaultKeyError):
    """The embedded key file is gone while letters still need it."""


def _letters_under(key_id: str) -> int:
    # Looked up by name: models import this module.
    from django.apps import apps

    return apps.get_model("vault", "Letter").objects.filter(key_id=key_id).count()


@sensitive_variables()
def ensure_local_key(path: Path | None = None) -> None:
    """Create the embedded default's key file (mode 0600) unless it exists.

    Refuses when letters wrapped under ``LOCAL_KEY_ID`` exist: a new key under the
    same id would make them unreadable for good and mix two keys under one id.
    """
    path = path or _local_key_file()
    if path.exists():
        return
    waiting = _letters_under(LOCAL_KEY_ID)
    if waiting:
        raise LocalKeyMissing(
            f"The vault key file {path} is missing, and {waiting} letter(s) were "
            f"encrypted with its key (id {LOCAL_KEY_ID!r}). Restore the file from your "
            "backup; Keepsake will not create a new key in its place (see docs/vault.md, "
            '"Losing the key loses the letters").'
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a private temporary file, flushed to disk, then linked into
    # place: another process never reads a half-written key, a crash never leaves an
    # empty one, and of two processes racing, the first link wins (the second sees
    # FileExistsError and uses that key).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key_spec(LOCAL_KEY_ID) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return  # another process won the race; its key is the one
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        temporary.unlink(missing_ok=True)


@sensitive_variables()
def _read_local_key(path: Path) -> str:
    """The embedded default's key (created on first run, see ``ensure_local_key``)."""
    ensure_local_key(path)
    spec = path.read_text().strip()
    try:
        parse_keys(spec)
    except VaultKeyError:
        raise VaultKeyError(
            f"The vault key file {path} is empty or damaged. Restore it from your backup "
            "(see docs/vault.md); Keepsake will not replace it."
        ) from None
    return spec


@sensitive_variables()  # ``spec`` is the whole VAULT_KEYS value
def keyring() -> Keyring:
    """The configured keys: ``VAULT_KEYS``, else (DEBUG only) the local key file."""
    spec = settings.VAULT_KEYS
    if spec:
        return parse_keys(spec)
    if settings.DEBUG:
        return parse_keys(_read_local_key(_local_key_file()))
    raise VaultKeyError("VAULT_KEYS is not set. " + _HOW_TO)


def uses_local_key() -> bool:
    """Whether this is the embedded default (DEBUG without ``VAULT_KEYS``)."""
    return not settings.VAULT_KEYS and settings.DEBUG


@sensitive_variables()
def check_configuration() -> None:
    """Start-up check: a set ``VAULT_KEYS`` must parse. Needs no database.

    The key file of a DEBUG run is created after ``migrate`` (``apps.py``) and the
    keys are checked against the letters by the system check in ``checks.py``.
    """
    spec = settings.VAULT_KEYS
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
    """What a letter's texts are bound to; any change makes them undecryptable.

    Only identifiers that an operator's export/import keeps: the letter's UUID
    primary key, its space's ``uuid`` and the opening instant.
    """

    letter_id: str
    space_uuid: str
    opens_at: dt.datetime | None  # None for a draft

    def aad(self, field: str) -> bytes:
        parts = [
            _VERSION,
            b"letter=" + str(self.letter_id).encode(),
            b"space=" + str(self.space_uuid).encode(),
            b"opens=" + _instant(self.opens_at).encode(),
            b"field=" + field.encode(),
        ]
        return b"|".join(parts)


def _wrap_aad(binding: Binding, key_id: str, digest: bytes) -> bytes:
    # The whole binding and a digest of the ciphertexts: unwrapping (no plaintext
    # involved) then proves the texts intact and the row's letter, space and opening
    # instant unchanged, e.g. when an import checks an export before writing anything.
    return b"|".join(
        [
            _VERSION,
            b"wrap",
            b"letter=" + str(binding.letter_id).encode(),
            b"space=" + str(binding.space_uuid).encode(),
            b"opens=" + _instant(binding.opens_at).encode(),
            b"key=" + key_id.encode(),
            digest,
        ]
    )


def _digest(title_nonce, title_ciphertext, body_nonce, body_ciphertext) -> bytes:
    h = hashlib.sha256()
    for part in (title_nonce, title_ciphertext, body_nonce, body_ciphertext):
        part = bytes(part)
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest().encode()


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


@sensitive_variables()
def _wrap(data_key: bytes, *, binding: Binding, digest: bytes, ring: Keyring) -> tuple[str, bytes]:
    key_id = ring.newest_id
    nonce = secrets.token_bytes(NONCE_BYTES)
    wrapped = AESGCM(ring.get(key_id)).encrypt(nonce, data_key, _wrap_aad(binding, key_id, digest))
    return key_id, nonce + wrapped


@sensitive_variables()  # ``kek`` is a key-encryption key
def _unwrap(sealed: Sealed, *, binding: Binding, ring: Keyring) -> bytes:
    kek = ring.get(sealed.key_id)
    blob = bytes(sealed.wrapped_key)
    digest = _digest(
        sealed.title_nonce, sealed.title_ciphertext, sealed.body_nonce, sealed.body_ciphertext
    )
    try:
        return AESGCM(kek).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _wrap_aad(binding, sealed.key_id, digest)
        )
    except InvalidTag:
        raise DecryptionFailed(
            f"the data key did not unwrap under key id {sealed.key_id!r} "
            "(the wrong key, or the row was altered)"
        ) from None


@sensitive_variables("title", "body", "data_key")
def encrypt(*, title: str, body: str, binding: Binding, ring: Keyring | None = None) -> Sealed:
    """Encrypt a title and body under a fresh data key bound to ``binding``."""
    ring = ring or keyring()
    data_key = AESGCM.generate_key(bit_length=256)
    aead = AESGCM(data_key)
    title_nonce = secrets.token_bytes(NONCE_BYTES)
    body_nonce = secrets.token_bytes(NONCE_BYTES)
    title_ciphertext = aead.encrypt(title_nonce, title.encode(), binding.aad("title"))
    body_ciphertext = aead.encrypt(body_nonce, body.encode(), binding.aad("body"))
    key_id, wrapped = _wrap(
        data_key,
        binding=binding,
        digest=_digest(title_nonce, title_ciphertext, body_nonce, body_ciphertext),
        ring=ring,
    )
    return Sealed(
        key_id=key_id,
        wrapped_key=wrapped,
        title_nonce=title_nonce,
        title_ciphertext=title_ciphertext,
        body_nonce=body_nonce,
        body_ciphertext=body_ciphertext,
    )


@sensitive_variables("data_key", "title", "body")
def decrypt(sealed: Sealed, *, binding: Binding, ring: Keyring | None = None) -> tuple[str, str]:
    """The (title, body) of ``sealed``; raises ``DecryptionFailed`` on any mismatch.

    Only ``services.letter_read`` calls this, after checking the opening instant.
    """
    ring = ring or keyring()
    data_key = _unwrap(sealed, binding=binding, ring=ring)
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
    """Whether the keys unwrap this letter's data key, with its ciphertexts intact and
    its binding (letter, space, opening instant) as it was written.

    The texts themselves stay shut.
    """
    try:
        _unwrap(sealed, binding=binding, ring=ring or keyring())
    except DecryptionFailed:
        return False
    return True


@sensitive_variables("data_key")
def rewrap(sealed: Sealed, *, binding: Binding, ring: Keyring | None = None) -> Sealed:
    """The same ciphertexts with the data key wrapped by the newest KEK."""
    ring = ring or keyring()
    data_key = _unwrap(sealed, binding=binding, ring=ring)
    digest = _digest(
        sealed.title_nonce, sealed.title_ciphertext, sealed.body_nonce, sealed.body_ciphertext
    )
    key_id, wrapped = _wrap(data_key, binding=binding, digest=digest, ring=ring)
    return Sealed(
        key_id=key_id,
        wrapped_key=wrapped,
        title_nonce=bytes(sealed.title_nonce),
        title_ciphertext=bytes(sealed.title_ciphertext),
        body_nonce=bytes(sealed.body_nonce),
        body_ciphertext=bytes(sealed.body_ciphertext),
    )
