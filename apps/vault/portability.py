"""The vault's part of data ownership: export, import, cleaning up after a partner.

A partner's export reads texts only through ``services.letter_read`` (the one
place that decrypts and checks the opening instant): a letter that has reached its
opening instant comes with its title and body, a sealed one as
``{"status": "sealed", "opens_on": …}`` only, and the viewer's own drafts with
their text. The partner's drafts never.

The operator export (``viewer`` None) holds every letter as stored: the envelope
(key id, wrapped data key, nonces, ciphertexts) in base64. Its texts are bound to
the letter's UUID, the space's ``uuid`` and the opening instant, all of which the
import keeps (``crypto.Binding``), so the import copies each envelope as it is and
never decrypts anything. At most it re-wraps a data key under the newest key, which
needs no plaintext. Importing needs a ``VAULT_KEYS`` that unwraps every data key;
unwrapping also proves the ciphertexts intact (checked before anything is written).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid

from django.utils import timezone

from apps.core.errors import KeepsakeError

from . import crypto
from .models import Letter, LetterRead, NudgeOptIn, OpeningPresence
from .services import VaultError, letter_read

ENVELOPE = ("wrapped_key", "title_nonce", "title_ciphertext", "body_nonce", "body_ciphertext")


class ImportRefused(KeepsakeError):
    """The vault part of an import cannot be done; the message says why (never a key)."""


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _b64(data) -> str:
    return base64.b64encode(bytes(data)).decode()


def export_space(space, viewer, *, now: dt.datetime | None = None) -> dict:
    if viewer is None:
        return _export_all(space)
    now = now or timezone.now()
    letters = (
        Letter.objects.filter(space=space, author=viewer)
        | Letter.objects.filter(space=space, recipient=viewer)
    ).select_related("author", "recipient", "space")
    out = []
    for letter in letters.order_by("opens_on", "sealed_at", "created_at"):
        if not letter.is_draft and not letter.is_open_at(now):
            # Sealed: the day it opens, nothing else (not even who wrote it).
            out.append({"status": "sealed", "opens_on": _iso(letter.opens_on)})
            continue
        item = {"from": letter.author.name, "to": letter.recipient.name}
        if letter.is_draft:
            if letter.author_id != viewer.pk:
                continue
            item["status"] = "draft"
        else:
            item.update(status="opened", opens_on=_iso(letter.opens_on))
        try:
            text = letter_read(letter=letter, user=viewer, now=now)
        except VaultError:
            item["unreadable"] = True
        else:
            item.update(title=text.title, body=text.body)
        out.append(item)
    return {"letters": out}


def _export_all(space) -> dict:
    letters = (
        Letter.objects.filter(space=space)
        .select_related("author", "recipient")
        .prefetch_related("reads__user")
        .order_by("pk")
    )
    presence = OpeningPresence.objects.filter(space=space).select_related("user").order_by("pk")
    nudges = NudgeOptIn.objects.filter(user__space=space).select_related("user")
    return {
        "letters": [
            {
                "id": str(letter.pk),
                "author": letter.author.email,
                "recipient": letter.recipient.email,
                "status": letter.status,
                "sealed_at": _iso(letter.sealed_at),
                "opens_at": _iso(letter.opens_at),
                "opens_on": _iso(letter.opens_on),
                "opened_at": _iso(letter.opened_at),
                "created_at": _iso(letter.created_at),
                "updated_at": _iso(letter.updated_at),
                "key_id": letter.key_id,
                **{name: _b64(getattr(letter, name)) for name in ENVELOPE},
                "reads": [
                    {"user": r.user.email, "first_read_at": _iso(r.first_read_at)}
                    for r in sorted(letter.reads.all(), key=lambda r: r.pk)
                ],
            }
            for letter in letters
        ],
        "opening_presence": [
            {"year": p.year, "user": p.user.email, "arrived_at": _iso(p.arrived_at)}
            for p in presence
        ],
        "vault_nudges": sorted(n.user.email for n in nudges),
    }


def _envelope(item: dict) -> crypto.Sealed:
    raw = {name: base64.b64decode(item[name], validate=True) for name in ENVELOPE}
    return crypto.Sealed(key_id=item["key_id"], **raw)


def check_import(data: dict) -> list[str]:
    """Why the letters of ``data`` cannot be imported here (empty if they can).

    Reads only: every data key must unwrap under the configured ``VAULT_KEYS``, which
    also proves its ciphertexts, space and opening instant as they were written (an
    edited file is refused here instead of importing letters that never open), and no
    letter id may exist already.
    """
    problems = []
    items = data.get("letters", [])
    try:
        ring = crypto.keyring() if items else None
    except crypto.VaultKeyError as exc:
        return [str(exc)]
    ids = []
    for item in items:
        try:
            letter_id = uuid.UUID(item["id"])
            binding = crypto.Binding(
                letter_id=str(letter_id),
                space_uuid=str(uuid.UUID(data["space"]["uuid"])),
                opens_at=None if item["status"] == Letter.Status.DRAFT else _dt(item["opens_at"]),
            )
            ok = crypto.unwraps(_envelope(item), binding=binding, ring=ring)
        except (KeyError, ValueError, TypeError):
            problems.append(f"letter {item.get('id')!r}: the export's envelope is malformed")
            continue
        ids.append(letter_id)
        if not ok:
            problems.append(
                f"letter {item['id']}: its envelope does not authenticate: the data key does "
                f"not unwrap with VAULT_KEYS (wrapped with key id {item['key_id']!r}; "
                f"configured: {ring.ids}), or the file was altered"
            )
    taken = Letter.objects.filter(pk__in=ids).values_list("pk", flat=True)
    problems += [f"letter {pk}: a letter with this id exists on this instance" for pk in taken]
    return problems


def import_space(space, data: dict, user_map: dict) -> None:
    """Recreate the letters with their ids and envelopes as exported.

    ``space`` carries the exported ``uuid``, so the texts authenticate as they are;
    nothing is decrypted. A data key wrapped under an older key is re-wrapped under
    the newest one (no plaintext involved), so the old key can stay behind.
    """
    ring = crypto.keyring()
    for item in data.get("letters", []):
        letter = Letter(
            id=uuid.UUID(item["id"]),
            space=space,
            author=user_map[item["author"]],
            recipient=user_map[item["recipient"]],
            status=item["status"],
            sealed_at=_dt(item["sealed_at"]),
            opens_at=_dt(item["opens_at"]),
            opens_on=dt.date.fromisoformat(item["opens_on"]) if item["opens_on"] else None,
            opened_at=_dt(item["opened_at"]),
        )
        sealed = _envelope(item)
        if sealed.key_id != ring.newest_id:
            try:
                sealed = crypto.rewrap(sealed, binding=letter.binding(), ring=ring)
            except crypto.DecryptionFailed:
                raise ImportRefused(
                    f"letter {item['id']}: its envelope does not authenticate"
                ) from None
        letter.set_envelope(sealed)
        letter.save(force_insert=True)
        Letter.objects.filter(pk=letter.pk).update(
            created_at=_dt(item["created_at"]), updated_at=_dt(item["updated_at"])
        )
        LetterRead.objects.bulk_create(
            LetterRead(
                letter=letter, user=user_map[r["user"]], first_read_at=_dt(r["first_read_at"])
            )
            for r in item["reads"]
        )
    OpeningPresence.objects.bulk_create(
        OpeningPresence(
            space=space, year=p["year"], user=user_map[p["user"]], arrived_at=_dt(p["arrived_at"])
        )
        for p in data.get("opening_presence", [])
    )


def import_finish(space, data: dict, user_map: dict) -> None:
    """After the users joined: the nudge opt-ins, with their next reminder computed."""
    from .services import nudge_set

    for email in data.get("vault_nudges", []):
        user = user_map[email]
        if user.space_id == space.pk:
            nudge_set(user=user, enabled=True, now=timezone.now())


# --- Hooks (settings.KEEPSAKE_HOOKS) -------------------------------------------------------


def user_leaving_space(*, user, space) -> None:
    """Their drafts and their nudge go. Sealed and opened letters stay with the space."""
    Letter.objects.filter(space=space, author=user, status=Letter.Status.DRAFT).delete()
    NudgeOptIn.objects.filter(user=user).delete()
    OpeningPresence.objects.filter(space=space, user=user).delete()


def user_deleting(*, user) -> None:
    Letter.objects.filter(author=user, status=Letter.Status.DRAFT).delete()
    NudgeOptIn.objects.filter(user=user).delete()
    OpeningPresence.objects.filter(user=user).delete()
