"""The vault's part of data ownership: export, import, cleaning up after a partner.

A partner's export reads texts only through ``services.letter_read`` (the one
place that decrypts and checks the opening instant): a letter that has reached its
opening instant comes with its title and body, a sealed one as
``{"status": "sealed", "opens_on": …}`` only, and the viewer's own drafts with
their text. The partner's drafts never.

The operator export (``viewer`` None) holds every letter as stored: the envelope
(key id, wrapped data key, nonces, ciphertexts) in base64 and the ids the
ciphertexts are bound to. Importing it needs a ``VAULT_KEYS`` that unwraps every
data key (checked before anything is written). A letter keeps its id; when the new
instance gives its space or partners other ids, the operator tool re-encrypts it
under a fresh data key bound to the new ids (``crypto.Binding`` covers the space
and both partners, so the old ciphertext could never authenticate there). The
plaintext exists only in memory during that step and is never logged.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .models import Letter, LetterRead, NudgeOptIn, OpeningPresence
from .services import VaultError, letter_read

ENVELOPE = ("wrapped_key", "title_nonce", "title_ciphertext", "body_nonce", "body_ciphertext")


class ImportRefused(Exception):
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
    ).select_related("author", "recipient")
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
                "bound_to": {
                    "space_id": letter.space_id,
                    "author_id": letter.author_id,
                    "recipient_id": letter.recipient_id,
                },
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


def _old_binding(item: dict) -> crypto.Binding:
    bound = item["bound_to"]
    return crypto.Binding(
        letter_id=item["id"],
        space_id=int(bound["space_id"]),
        author_id=int(bound["author_id"]),
        recipient_id=int(bound["recipient_id"]),
        opens_at=None if item["status"] == Letter.Status.DRAFT else _dt(item["opens_at"]),
    )


def _envelope(item: dict) -> crypto.Sealed:
    raw = {name: base64.b64decode(item[name], validate=True) for name in ENVELOPE}
    return crypto.Sealed(key_id=item["key_id"], **raw)


def check_import(data: dict) -> list[str]:
    """Why the letters of ``data`` cannot be imported here (empty if they can).

    Reads only: every data key must unwrap under the configured ``VAULT_KEYS`` and no
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
            sealed = _envelope(item)
            ok = crypto.unwraps(sealed, binding=_old_binding(item), ring=ring)
        except (KeyError, ValueError, TypeError):
            problems.append(f"letter {item.get('id')!r}: the export's envelope is malformed")
            continue
        ids.append(letter_id)
        if not ok:
            problems.append(
                f"letter {item['id']}: its data key does not unwrap with VAULT_KEYS "
                f"(wrapped with key id {item['key_id']!r}; configured: {ring.ids})"
            )
    taken = Letter.objects.filter(pk__in=ids).values_list("pk", flat=True)
    problems += [f"letter {pk}: a letter with this id exists on this instance" for pk in taken]
    return problems


@sensitive_variables("title", "body")
def import_space(space, data: dict, user_map: dict) -> None:
    """Recreate the letters (same ids), re-encrypting those whose binding changed."""
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
        old = _old_binding(item)
        sealed = _envelope(item)
        if letter.binding() != old:
            try:
                title, body = crypto.decrypt(sealed, binding=old, ring=ring)
            except crypto.DecryptionFailed:
                raise ImportRefused(
                    f"letter {item['id']}: its text does not authenticate against the ids "
                    "it was exported with"
                ) from None
            sealed = crypto.encrypt(title=title, body=body, binding=letter.binding(), ring=ring)
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
