"""Everything that writes letters, and the one function that decrypts them.

Rules (DESIGN.md, "The vault"): drafts belong to their author alone; sealing is
final and fixes the opening instant; nobody reads a sealed letter, its author
included, before that instant. ``letter_read`` is the only caller of
``crypto.decrypt`` and checks membership and the opening instant first.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from apps.accounts.selectors import partner_of
from apps.core.errors import KeepsakeError
from apps.core.scheduling import claim_due
from apps.core.tz import local_to_utc, local_today, viewer_zone
from apps.notifications.models import Category
from apps.notifications.services import email_enqueue

from . import crypto
from .models import Letter, LetterRead, NudgeOptIn, OpeningPresence
from .selectors import opening_words

logger = logging.getLogger(__name__)

UNREADABLE = "This letter could not be opened."
# "In 1, 2, 5 or 10 years": how many anniversaries after the next one a letter waits.
YEARS_LATER = (0, 1, 2, 5, 10)
BATCH_SIZE = 200
# How long before an opening day the opt-in reminder to write goes out.
NUDGE_LEAD = dt.timedelta(days=21)


class VaultError(KeepsakeError):
    """A refusal with a message that is safe to show (it never holds letter text)."""


class LetterNotFound(VaultError):
    """Not this viewer's to see: views answer 404."""


class LetterLocked(VaultError):
    """Sealed and its opening instant has not come."""


class LetterUnreadable(VaultError):
    """Decryption failed: tampered, swapped or the wrong key. Logged, never shown."""


@dataclass(frozen=True)
class LetterText:
    title: str
    body: str = field(repr=False)

    def __repr__(self) -> str:  # keep plaintext out of tracebacks and debuggers
        return "LetterText(<hidden>)"


# --- Pure computations -------------------------------------------------------------------


def opening_day(*, space, sealed_on: dt.date, years_later: int = 0) -> dt.date:
    """The anniversary strictly after ``sealed_on``, or ``years_later`` ones after it."""
    if years_later not in YEARS_LATER:
        raise VaultError("Choose the next anniversary, or 1, 2, 5 or 10 years after it.")
    day = space.anniversary_in(sealed_on.year)
    if day <= sealed_on:
        day = space.anniversary_in(sealed_on.year + 1)
    return space.anniversary_in(day.year + years_later) if years_later else day


def opening_instant(*, space, day: dt.date) -> dt.datetime:
    """00:00 of ``day`` in the space's zone, in UTC."""
    return local_to_utc(day, dt.time(0, 0), space.time_zone)


def opening_choices(*, space, now: dt.datetime) -> list[tuple[int, dt.date]]:
    sealed_on = local_today(space.time_zone, now)
    return [(n, opening_day(space=space, sealed_on=sealed_on, years_later=n)) for n in YEARS_LATER]


# --- Reading: the one place that decrypts ------------------------------------------------


@sensitive_variables("title", "body")
def letter_read(*, letter: Letter, user, now: dt.datetime | None = None) -> LetterText:
    """The letter's text for ``user`` at ``now``, or a ``VaultError``.

    A draft opens for its author only; a sealed letter for either partner once its
    opening instant has passed. A ciphertext that does not authenticate (moved
    opening day, swapped rows, wrong key) is logged and reported as unreadable.
    """
    now = now or timezone.now()
    if user.space_id is None or user.space_id != letter.space_id:
        raise LetterNotFound("No such letter.")
    if user.pk not in (letter.author_id, letter.recipient_id):
        raise LetterNotFound("No such letter.")
    if letter.is_draft:
        if user.pk != letter.author_id:
            raise LetterNotFound("No such letter.")
    elif not letter.is_open_at(now):
        raise LetterLocked("This letter is sealed until its opening day.")
    try:
        title, body = crypto.decrypt(letter.envelope(), binding=letter.binding())
    except crypto.DecryptionFailed as exc:
        logger.error(
            "Vault: letter %s of space %s could not be decrypted (status %s, key id %s): %s",
            letter.pk,
            letter.space_id,
            letter.status,
            letter.key_id,
            exc,
        )
        raise LetterUnreadable(UNREADABLE) from None
    except ImproperlyConfigured as exc:
        logger.error("Vault: letter %s could not be decrypted: %s", letter.pk, exc)
        raise LetterUnreadable(UNREADABLE) from None
    return LetterText(title=title, body=body)


# --- Drafts -------------------------------------------------------------------------------


def _locked(letter: Letter) -> Letter:
    try:
        return Letter.objects.select_for_update().get(pk=letter.pk)
    except Letter.DoesNotExist:
        raise LetterNotFound("No such letter.") from None


def _own_draft(letter: Letter, user) -> Letter:
    locked = _locked(letter)
    if locked.author_id != user.pk or locked.space_id != user.space_id:
        raise LetterNotFound("No such letter.")
    if not locked.is_draft:
        raise VaultError("This letter is sealed: it can no longer be changed or deleted.")
    return locked


@sensitive_variables("title", "body")
def letter_create(*, author, title: str, body: str) -> Letter:
    """A new draft from ``author`` to their partner, encrypted before it is stored."""
    with transaction.atomic():
        if author.space_id is None:
            raise VaultError("Create or join a space first.")
        recipient = partner_of(author)
        if recipient is None:
            raise VaultError("Letters go to your partner: invite them to your space first.")
        letter = Letter(space=author.space, author=author, recipient=recipient)
        letter.set_envelope(crypto.encrypt(title=title, body=body, binding=letter.binding()))
        letter.save(force_insert=True)
    return letter


@sensitive_variables("title", "body")
def letter_update(*, letter: Letter, user, title: str, body: str) -> Letter:
    """Replace a draft's text (a fresh data key each time). Author only, drafts only."""
    with transaction.atomic():
        locked = _own_draft(letter, user)
        locked.set_envelope(crypto.encrypt(title=title, body=body, binding=locked.binding()))
        locked.save()
    return locked


def letter_delete(*, letter: Letter, user) -> None:
    with transaction.atomic():
        _own_draft(letter, user).delete()


# --- Sealing ------------------------------------------------------------------------------


@sensitive_variables("text")
def letter_seal(
    *, letter: Letter, user, years_later: int = 0, now: dt.datetime | None = None
) -> Letter:
    """Seal a draft for good. The opening instant is fixed now and bound into the ciphertext."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked(letter)
        if locked.author_id != user.pk or locked.space_id != user.space_id:
            raise LetterNotFound("No such letter.")
        if not locked.is_draft:
            raise VaultError("This letter is already sealed.")
        if locked.recipient.space_id != locked.space_id:
            raise VaultError("Your partner is no longer in this space; the letter stays a draft.")
        text = letter_read(letter=locked, user=user, now=now)
        space = locked.space
        day = opening_day(
            space=space, sealed_on=local_today(space.time_zone, now), years_later=years_later
        )
        locked.status = Letter.Status.SEALED
        locked.sealed_at = now
        locked.opens_on = day
        locked.opens_at = opening_instant(space=space, day=day)
        locked.set_envelope(
            crypto.encrypt(title=text.title, body=text.body, binding=locked.binding())
        )
        locked.save()
    logger.info("Vault: letter %s sealed until %s", locked.pk, locked.opens_at.isoformat())
    return locked


# --- Opening ------------------------------------------------------------------------------


def letter_mark_read(*, letter: Letter, user, now: dt.datetime | None = None) -> LetterRead:
    """Record the first time ``user`` read an open letter (later reads change nothing)."""
    now = now or timezone.now()
    if user.space_id != letter.space_id or user.pk not in (letter.author_id, letter.recipient_id):
        raise LetterNotFound("No such letter.")
    if not letter.is_open_at(now):
        raise LetterLocked("This letter is sealed until its opening day.")
    existing = LetterRead.objects.filter(letter=letter, user=user).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return LetterRead.objects.create(letter=letter, user=user, first_read_at=now)
    except IntegrityError:
        return LetterRead.objects.get(letter=letter, user=user)


def presence_arrive(*, space, user, year: int, now: dt.datetime | None = None) -> OpeningPresence:
    """'I'm here' for opening a year's letters together."""
    now = now or timezone.now()
    if user.space_id != space.pk:
        raise LetterNotFound("No such page.")
    try:
        with transaction.atomic():
            row, _ = OpeningPresence.objects.get_or_create(
                space=space, year=year, user=user, defaults={"arrived_at": now}
            )
    except IntegrityError:
        row = OpeningPresence.objects.get(space=space, year=year, user=user)
    return row


def year_url(year: int) -> str:
    return settings.SITE_URL + reverse("vault:year", args=[year])


def _queue_opening_emails(*, space_id: int, day: dt.date) -> int:
    """One e-mail per partner per space and opening day: a link and a count, never text.

    Keyed by the day rather than the year, so that a second opening day in one year
    (the anniversary was changed between two sealings) is announced too.
    """
    members = list(get_user_model().objects.filter(space_id=space_id).select_related("space"))
    if not members:
        return 0
    # Every letter of the day, not just those this batch (or pass) has opened: the
    # dedupe key lets only the first batch's e-mail through, and it must be right.
    count = Letter.objects.not_drafts().filter(space_id=space_id, opens_on=day).count()
    for member in members:
        email_enqueue(
            to_email=member.email,
            template="vault_opened",
            context={
                "year": day.year,
                "count": count,
                "space_name": member.space.name,
                "url": year_url(day.year),
            },
            dedupe_key=f"vault-open:{space_id}:{day.isoformat()}:{member.pk}",
            category=Category.VAULT,
            user=member,
        )
    return len(members)


def letter_unlock_due(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Scheduler pass: open every sealed letter whose instant has come, exactly once.

    Due rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED``, so two passes
    running at once split the work; opening and queueing the e-mails commit
    together. A pass that runs late (after downtime) still opens everything due.
    The opt-in reminders to write ride on the same pass (see ``nudges_send_due``).
    """
    now = now or timezone.now()
    return letters_open_due(now=now, batch_size=batch_size) + nudges_send_due(
        now=now, batch_size=batch_size
    )


def letters_open_due(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Open every sealed letter whose instant has come and tell both partners, once per
    space and day. Returns how many letters opened."""
    now = now or timezone.now()
    opened = 0

    def handle(ids):
        nonlocal opened
        due = list(Letter.objects.filter(pk__in=ids).values_list("space_id", "opens_on"))
        changed = Letter.objects.filter(pk__in=ids, status=Letter.Status.SEALED).update(
            status=Letter.Status.OPENED, opened_at=now
        )
        opened += changed
        for space_id, day in sorted(set(due)):
            _queue_opening_emails(space_id=space_id, day=day)
        logger.info("Vault: opened %s letter(s)", changed)

    claim_due(
        Letter.objects.filter(status=Letter.Status.SEALED),
        due="opens_at",
        now=now,
        handle=handle,
        batch_size=batch_size,
    )
    return opened


# --- Reminders to write (opt-in) ---------------------------------------------------------


def _next_opening(space, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """The next opening day whose midnight is still ahead, and that instant."""
    today = local_today(space.time_zone, now)
    for year in (today.year, today.year + 1, today.year + 2):
        day = space.anniversary_in(year)
        instant = opening_instant(space=space, day=day)
        if instant > now:
            return day, instant
    raise AssertionError("unreachable: an anniversary comes every year")


def _nudge_at(space, now: dt.datetime) -> dt.datetime:
    """When to remind: ``NUDGE_LEAD`` before the next opening (now, if that has passed)."""
    _, instant = _next_opening(space, now)
    return max(instant - NUDGE_LEAD, now)


def nudge_set(*, user, enabled: bool, now: dt.datetime | None = None) -> NudgeOptIn | None:
    """Opt in to (or out of) a reminder to write a few weeks before each opening day."""
    now = now or timezone.now()
    with transaction.atomic():
        if not enabled or user.space_id is None:
            NudgeOptIn.objects.filter(user=user).delete()
            return None
        row, _ = NudgeOptIn.objects.update_or_create(
            user=user, defaults={"next_nudge_at": _nudge_at(user.space, now)}
        )
    return row


def nudges_send_due(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """E-mail each opted-in partner once per opening day, with a count of what waits.
    Returns how many were e-mailed."""
    now = now or timezone.now()
    sent = 0

    def handle(ids):
        nonlocal sent
        for row in NudgeOptIn.objects.filter(pk__in=ids).select_related("user__space"):
            space = row.user.space
            if space is None:
                NudgeOptIn.objects.filter(pk=row.pk).update(next_nudge_at=None)
                continue
            day, instant = _next_opening(space, now)
            if instant - now > NUDGE_LEAD + dt.timedelta(days=1):
                # The anniversary moved later since this was scheduled: wait for it.
                NudgeOptIn.objects.filter(pk=row.pk).update(next_nudge_at=instant - NUDGE_LEAD)
                continue
            _queue_nudge(user=row.user, space=space, day=day, now=now)
            sent += 1
            following = opening_instant(space=space, day=space.anniversary_in(day.year + 1))
            NudgeOptIn.objects.filter(pk=row.pk).update(next_nudge_at=following - NUDGE_LEAD)

    claim_due(
        NudgeOptIn.objects.all(), due="next_nudge_at", now=now, handle=handle, batch_size=batch_size
    )
    return sent


def _queue_nudge(*, user, space, day: dt.date, now: dt.datetime) -> None:
    """The reminder to write: when the vault opens, in the recipient's zone (home time
    beside) and counted to the instant (docs/time.md), and how many letters wait."""
    partner = partner_of(user)
    waiting = Letter.objects.filter(
        space=space, recipient=user, status=Letter.Status.SEALED, opens_on=day
    ).count()
    opening = opening_words(  # the vault card's words, for the recipient
        at=opening_instant(space=space, day=day),
        now=now,
        zone=viewer_zone(user.time_zone, space.time_zone),
        home=space.time_zone,
    )
    email_enqueue(
        to_email=user.email,
        template="vault_nudge",
        context={
            "day": day,
            "countdown": opening["countdown"],
            "when": opening["when"],
            "waiting": waiting,
            "partner_name": partner.name if partner else "your partner",
            "url": settings.SITE_URL + reverse("vault:write"),
        },
        dedupe_key=f"vault-nudge:{space.pk}:{day.year}:{user.pk}",
        category=Category.VAULT,
        user=user,
    )
