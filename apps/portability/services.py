"""Exports, imports and the ZIP download: the space's data, owned by its people.

Two kinds of export share one shape:

- a partner's download (``space_export(space=, viewer=user)``): what that partner
  may read in the app, texts of opened letters included, sealed letters as their
  opening day only, the partner's private entries and drafts never;
- the operator's backup (``viewer=None``): everything, both partners' private
  entries too, letters as their encrypted envelopes. ``space_import`` restores it.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import uuid
import zipfile

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.accounts.models import MAX_MEMBERS, Space
from apps.core.errors import KeepsakeError
from apps.core.tz import get_zone, is_valid_zone
from apps.journal import portability as journal
from apps.notifications.models import EmailOptOut
from apps.rituals import portability as rituals
from apps.vault import portability as vault

FORMAT = "keepsake-space"
# 2: the space's uuid, to which its letters' ciphertexts are bound, replaces the
# integer ids that version 1 carried for them.
VERSION = 2


class SpaceImportError(KeepsakeError):
    """The import cannot be done; nothing was written. The message says why."""


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _people(space, viewer) -> list[dict]:
    """The members: for a partner, names and addresses; for the operator, the account fields."""
    User = get_user_model()
    members = list(User.objects.filter(space=space).order_by("email"))
    if viewer is not None:
        return [
            {
                "name": m.name,
                "email": m.email,
                "time_zone": m.time_zone,
                "is_you": m.pk == viewer.pk,
            }
            for m in members
        ]
    return [
        {
            "email": m.email,
            "display_name": m.display_name,
            "time_zone": m.time_zone,
            "joined_space_at": _iso(m.joined_space_at),
            "member": True,
        }
        for m in members
    ]


def _referenced(data: dict) -> set[str]:
    """Every e-mail address the export's rows name."""
    found: set[str] = set()
    for ritual in data["rituals"]:
        found.update(filter(None, [ritual["giver"], ritual["created_by"]]))
        found.update(c["user"] for c in ritual["check_ins"])
        found.update(p["user"] for p in ritual["reminder_preferences"])
    found.update(p["user"] for p in data["reminder_defaults"])
    for entry in data["journal_entries"]:
        found.add(entry["author"])
        found.update(a["from_user"] for a in entry["appreciations"])
    found.update(p["user"] for p in data["journal_settings"])
    for letter in data["letters"]:
        found.update([letter["author"], letter["recipient"]])
        found.update(r["user"] for r in letter["reads"])
    found.update(p["user"] for p in data["opening_presence"])
    found.update(data["vault_nudges"])
    return found


def space_export(*, space: Space, viewer=None, now: dt.datetime | None = None) -> dict:
    """The space as JSON-ready data, for ``viewer`` (a partner) or the operator (None)."""
    now = now or timezone.now()
    data = {
        "format": FORMAT,
        "version": VERSION,
        "kind": "operator-backup" if viewer is None else "partner-download",
        "exported_at": _iso(now),
        "space": {
            "name": space.name,
            "time_zone": space.time_zone,
            "anniversary": _iso(space.anniversary),
            "created_at": _iso(space.created_at),
        },
        "members": _people(space, viewer),
    }
    data.update(rituals.export_space(space, viewer))
    data.update(journal.export_space(space, viewer))
    data.update(vault.export_space(space, viewer, now=now))
    if viewer is None:
        # The letters' ciphertexts are bound to it; the import keeps it.
        data["space"]["uuid"] = str(space.uuid)
        User = get_user_model()
        known = {m["email"] for m in data["members"]}
        former = sorted(_referenced(data) - known)
        for user in User.objects.filter(email__in=former).order_by("email"):
            data["members"].append(
                {
                    "email": user.email,
                    "display_name": user.display_name,
                    "time_zone": user.time_zone,
                    "joined_space_at": None,
                    "member": False,
                }
            )
        # Former members (who left, or tombstones) are restored for the rows that name
        # them; their settings are theirs, not the space's.
        emails = [m["email"] for m in data["members"] if m["member"]]
        opt_outs = EmailOptOut.objects.filter(user__email__in=emails).select_related("user")
        data["email_opt_outs"] = sorted([o.user.email, o.category] for o in opt_outs)
    return data


def export_json(data: dict) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2, sort_keys=True)


def _with_names(data: dict) -> dict:
    """A copy of a partner's download naming people instead of e-mail addresses (one query)."""
    data = copy.deepcopy(data)
    people = [c for r in data["rituals"] for c in r["check_ins"]]
    appreciations = [a for e in data["journal_entries"] for a in e["appreciations"]]
    emails = {c["user"] for c in people} | {e["author"] for e in data["journal_entries"]}
    emails |= {a["from_user"] for a in appreciations}
    names = {u.email: u.name for u in get_user_model().objects.filter(email__in=emails)}
    for c in people:
        c["user"] = names.get(c["user"], c["user"])
    for e in data["journal_entries"]:
        e["author"] = names.get(e["author"], e["author"])
    for a in appreciations:
        a["from_user"] = names.get(a["from_user"], a["from_user"])
    return data


def download_zip(*, space: Space, viewer, now: dt.datetime | None = None) -> tuple[str, bytes]:
    """(file name, ZIP bytes) of a partner's download: data.json and README.html."""
    now = now or timezone.now()
    data = space_export(space=space, viewer=viewer, now=now)
    # The README speaks the person's own time (with UTC beside it), whatever zone the
    # process has active; data.json keeps the exact instant in UTC.
    zone = viewer.zone
    local_now = now.astimezone(get_zone(zone))
    utc_now = now.astimezone(dt.UTC)
    with timezone.override(get_zone(zone)):
        readme = render_to_string(
            "portability/export_readme.html",
            {
                "data": _with_names(data),
                "now": local_now,
                "now_utc": utc_now,
                "zone": zone,
                "is_utc": zone == "UTC",
                "utc_day_differs": local_now.date() != utc_now.date(),
            },
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", export_json(data))
        archive.writestr("README.html", readme)
    name = f"keepsake-{local_now.date().isoformat()}.zip"
    return name, buffer.getvalue()


# --- Import ----------------------------------------------------------------------------------


def _check_shape(data) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SpaceImportError("This file is not a Keepsake space export.")
    if data.get("version") != VERSION:
        raise SpaceImportError(
            f"This export has version {data.get('version')!r}; expected {VERSION}."
        )
    if data.get("kind") != "operator-backup":
        raise SpaceImportError(
            "This is a partner's download, not a full backup: it lacks the private entries "
            "and sealed letters. Make the backup with `manage.py export_space`."
        )


def _import_problems(data: dict) -> list[str]:
    """Why ``data`` cannot be imported here; reads only."""
    User = get_user_model()
    problems = rituals.check_import(data) + vault.check_import(data)
    space_uuid = uuid.UUID(data["space"]["uuid"])
    if Space.objects.filter(uuid=space_uuid).exists():
        problems.append(
            "this space exists on this instance already (same uuid); a backup is restored "
            "once, into an instance that does not hold it"
        )
    if not is_valid_zone(data["space"]["time_zone"]):
        problems.append(f"the space's time zone {data['space']['time_zone']!r} is unknown")
    members = [m for m in data["members"] if m.get("member")]
    if len(members) > MAX_MEMBERS:
        problems.append(f"the export names {len(members)} members; a space holds {MAX_MEMBERS}")
    for person in members:
        existing = User.objects.filter(email__iexact=person["email"]).first()
        if existing is not None and existing.space_id is not None:
            problems.append(f"{person['email']} already belongs to a space on this instance")
    return problems


def space_import(*, data: dict) -> Space:
    """Restore an operator export as a new space; all or nothing.

    Users are matched by e-mail address (case-insensitive) or created without a
    usable password (they set one with "Forgot password"). Refused before writing
    anything when a member already belongs to another space, when a letter id is
    taken, or when the configured ``VAULT_KEYS`` cannot unwrap every letter.
    """
    _check_shape(data)
    User = get_user_model()
    malformed = (KeyError, TypeError, ValueError, AttributeError, IntegrityError)
    try:
        problems = _import_problems(data)
    except malformed as exc:
        raise SpaceImportError(f"Nothing was imported: the file is malformed ({exc!r}).") from None
    if problems:
        raise SpaceImportError("Nothing was imported:\n- " + "\n- ".join(problems))
    try:
        with transaction.atomic():
            space = Space.objects.create(
                # Kept: the letters' ciphertexts are bound to it.
                uuid=uuid.UUID(data["space"]["uuid"]),
                name=data["space"]["name"],
                time_zone=data["space"]["time_zone"],
                anniversary=dt.date.fromisoformat(data["space"]["anniversary"]),
            )
            Space.objects.filter(pk=space.pk).update(
                created_at=dt.datetime.fromisoformat(data["space"]["created_at"])
            )
            user_map = {}
            for person in data["members"]:
                user = User.objects.filter(email__iexact=person["email"]).first()
                if user is None:
                    user = User(
                        email=person["email"],
                        display_name=person["display_name"],
                        time_zone=person["time_zone"],
                    )
                    user.set_unusable_password()
                    if person["email"].endswith("@deleted.invalid"):
                        user.is_active = False
                    user.save()
                    if user.is_active:
                        EmailAddress.objects.create(
                            user=user, email=user.email, verified=True, primary=True
                        )
                if person.get("member"):
                    user.space = space
                    user.joined_space_at = (
                        dt.datetime.fromisoformat(person["joined_space_at"])
                        if person["joined_space_at"]
                        else timezone.now()
                    )
                    user.save(update_fields=["space", "joined_space_at"])
                user_map[person["email"]] = user
            for email, category in data.get("email_opt_outs", []):
                EmailOptOut.objects.get_or_create(user=user_map[email], category=category)
            rituals.import_space(space, data, user_map)
            journal.import_space(space, data, user_map)
            vault.import_space(space, data, user_map)
            rituals.import_finish(space)
            journal.import_finish(space, data, user_map)
            vault.import_finish(space, data, user_map)
    except vault.ImportRefused as exc:
        raise SpaceImportError(f"Nothing was imported: {exc}") from None
    except malformed as exc:
        raise SpaceImportError(f"Nothing was imported: the file is malformed ({exc!r}).") from None
    space.refresh_from_db()
    return space
