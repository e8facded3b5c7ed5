"""Check-ins: each partner's kept/skipped answer for an occurrence, and the signed links in
the reminder e-mail that record one.

The link's token is written here once (``checkin_token``): Django's signed, timestamped,
compressed JSON (``TimestampSigner.sign_object``, what ``signing.dumps`` does), so links
already in inboxes, made by ``signing.dumps`` or by the pass's batch signer, still read.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.core.tz import get_zone

from ..models import CheckIn, Ritual
from .errors import RitualError

CHECKIN_SALT = "keepsake.rituals.checkin"
NOTE_MAX = 500


def checkin_signer() -> signing.TimestampSigner:
    """The signer of check-in links; the pass makes one per batch (its key is derived once
    per signer, which is most of a token's cost)."""
    return signing.TimestampSigner(salt=CHECKIN_SALT)


def checkin_token(
    *, ritual_id: int, day: dt.date, user_id: int, signer: signing.TimestampSigner | None = None
) -> str:
    """The token of one partner's answer link for one occurrence."""
    signer = signer or checkin_signer()
    return signer.sign_object({"r": ritual_id, "d": day.isoformat(), "u": user_id}, compress=True)


def checkin_token_read(token: str) -> tuple[int, dt.date, int]:
    """(ritual id, occurrence day, user id); raises ``signing.BadSignature`` (or Expired)."""
    max_age = dt.timedelta(days=settings.RITUALS_CHECKIN_LINK_DAYS)
    data = checkin_signer().unsign_object(token, max_age=max_age)
    try:
        return int(data["r"]), dt.date.fromisoformat(data["d"]), int(data["u"])
    except (KeyError, TypeError, ValueError) as exc:
        raise signing.BadSignature("Malformed check-in token") from exc


def checkin_url(*, ritual_id: int, day: dt.date, user_id: int, action: str) -> str:
    token = checkin_token(ritual_id=ritual_id, day=day, user_id=user_id)
    return settings.SITE_URL + reverse("rituals:email_check_in", args=[token, action])


def ritual_check_in(
    *,
    ritual: Ritual,
    user,
    day: dt.date,
    status: str,
    note: str | None = None,
    feeling: str | None = None,
    now: dt.datetime | None = None,
) -> CheckIn:
    """Record (or change) one partner's answer for one occurrence.

    A check-in opens when the occurrence starts, not on the morning of its day. ``note``
    and ``feeling`` left at None keep what is already written: an answer from the e-mail
    adds to a check-in made on the page, it never erases it.
    """
    now = now or timezone.now()
    if user.space_id != ritual.space_id:
        raise RitualError("That ritual is not in your space.")
    if status not in CheckIn.Status.values:
        raise RitualError("Choose whether you kept it or skipped it.")
    if feeling and feeling not in CheckIn.Feeling.values:
        raise RitualError("Choose a feeling from the list.")
    if note is not None and len(note) > NOTE_MAX:
        raise RitualError(f"Keep the note under {NOTE_MAX} characters.")
    occurrence = ritual.occurrence_on(day)
    if occurrence is None:
        raise RitualError("The ritual does not happen on that day.")
    if now < occurrence.at:
        opens = checkin_opens_text(occurrence.at, user, now=now)
        raise RitualError(f"That one has not started yet: you can check in from {opens}.")
    fields = {"space_id": ritual.space_id, "status": status}
    if note is not None:
        fields["note"] = note
    if feeling is not None:
        fields["feeling"] = feeling
    with transaction.atomic():
        check_in, _ = CheckIn.objects.update_or_create(
            ritual=ritual, occurrence=day, user=user, defaults=fields
        )
    return check_in


def checkin_opens_text(at: dt.datetime, user, *, now: dt.datetime) -> str:
    """When a check-in opens, in the person's zone: "21:30" today, else "Thursday 3 December,
    21:30"."""
    local = at.astimezone(get_zone(user.zone))
    if local.date() == now.astimezone(get_zone(user.zone)).date():
        return f"{local:%H:%M}"
    return f"{local:%A %-d %B, %H:%M}"
