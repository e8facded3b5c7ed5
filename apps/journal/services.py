"""Writes of the journal: entries, appreciation, settings, and the nudge/digest pass."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from apps.accounts.selectors import partner_of
from apps.core.errors import KeepsakeError
from apps.core.scheduling import claim_due
from apps.core.tz import get_zone, local_to_utc, local_today
from apps.notifications.models import Category
from apps.notifications.services import email_enqueue

from .models import ENTRY_MAX_CHARS, REPLY_MAX_CHARS, Appreciation, Entry, JournalProfile
from .prompts import prompt_for_day, prompt_get
from .selectors import entries_visible_to

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
# A nudge or digest this late (the scheduler was down) is skipped, not sent stale.
NUDGE_GRACE = dt.timedelta(hours=3)
DIGEST_GRACE = dt.timedelta(hours=24)
# The weekly digest goes out on Sunday evening in the recipient's zone.
DIGEST_WEEKDAY = 6
DIGEST_TIME = dt.time(18, 0)
DIGEST_MAX_ENTRIES = 50


class JournalError(KeepsakeError):
    """A write the rules do not allow; the message is safe to show."""


# --- Entries -----------------------------------------------------------------------------------


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise JournalError("Write a few words first.")
    if len(text) > ENTRY_MAX_CHARS:
        raise JournalError(f"An entry can be at most {ENTRY_MAX_CHARS:,} characters.")
    return text


def entry_create(
    *,
    author,
    text: str,
    about_partner: bool = False,
    is_private: bool = False,
    prompt_key: str = "",
    now: dt.datetime | None = None,
) -> Entry:
    """A new entry, dated on the author's local day."""
    if author.space_id is None:
        raise JournalError("Join or create a space first.")
    if prompt_key and prompt_get(prompt_key) is None:
        prompt_key = ""
    now = now or timezone.now()
    with transaction.atomic():
        return Entry.objects.create(
            space_id=author.space_id,
            author=author,
            text=_clean_text(text),
            about_partner=about_partner,
            is_private=is_private,
            prompt_key=prompt_key,
            day=local_today(author.zone, now),
        )


def entry_update(
    *,
    entry: Entry,
    user,
    text: str,
    about_partner: bool,
    is_private: bool,
    keep_prompt: bool = True,
) -> Entry:
    """Change an entry; only its author may (views reach it through entries_editable_by).

    ``keep_prompt=False`` takes the prompt off; an entry never gains one on edit.
    """
    if entry.author_id != user.pk:
        raise JournalError("Only the author can change an entry.")
    with transaction.atomic():
        entry.text = _clean_text(text)
        entry.about_partner = about_partner
        entry.is_private = is_private
        if not keep_prompt:
            entry.prompt_key = ""
        entry.save(
            update_fields=["text", "about_partner", "is_private", "prompt_key", "updated_at"]
        )
    return entry


def entry_delete(*, entry: Entry, user) -> None:
    if entry.author_id != user.pk:
        raise JournalError("Only the author can delete an entry.")
    with transaction.atomic():
        entry.delete()


# --- Appreciation ------------------------------------------------------------------------------


def entry_appreciate(*, entry: Entry, user, heart: bool = True, reply: str = "") -> Appreciation:
    """The partner's heart and/or short reply to an entry; once per entry and partner.

    Sending again updates the one row; sending the same thing again changes nothing.
    """
    reply = (reply or "").strip()
    if entry.author_id == user.pk:
        raise JournalError("You cannot answer your own entry.")
    if not entries_visible_to(user).filter(pk=entry.pk).exists():
        raise JournalError("This entry is not shared with you.")
    if len(reply) > REPLY_MAX_CHARS:
        raise JournalError(f"A reply can be at most {REPLY_MAX_CHARS} characters.")
    if not heart and not reply:
        raise JournalError("Send a heart or write a short reply.")
    with transaction.atomic():
        appreciation, created = Appreciation.objects.select_for_update().get_or_create(
            entry=entry,
            from_user=user,
            defaults={"space_id": entry.space_id, "heart": heart, "reply": reply},
        )
        if not created and (appreciation.heart, appreciation.reply) != (heart, reply):
            appreciation.heart = heart
            appreciation.reply = reply
            appreciation.save(update_fields=["heart", "reply", "updated_at"])
    return appreciation


# --- Visits and settings -----------------------------------------------------------------------


def journal_visit_record(*, user, now: dt.datetime | None = None) -> dt.datetime | None:
    """Move the user's "last visit" marker to now; return where it was before.

    On a first visit, "before" is when they joined the space: what the partner
    wrote since then is new to them.
    """
    now = now or timezone.now()
    with transaction.atomic():
        profile, _ = JournalProfile.objects.select_for_update().get_or_create(user=user)
        previous = profile.last_visit_at or user.joined_space_at
        JournalProfile.objects.filter(pk=profile.pk).update(last_visit_at=now)
    return previous


def next_nudge_after(*, profile: JournalProfile, zone: str, after: dt.datetime):
    """The first nudge instant strictly after ``after``, or None when nudges are off."""
    if not profile.nudges_on:
        return None
    day = after.astimezone(get_zone(zone)).date()
    for i in range(8):
        candidate_day = day + dt.timedelta(days=i)
        if candidate_day.weekday() in profile.weekdays:
            at = local_to_utc(candidate_day, profile.nudge_time, zone)
            if at > after:
                return at
    return None  # unreachable with at least one weekday


def next_digest_after(*, zone: str, after: dt.datetime) -> dt.datetime:
    day = after.astimezone(get_zone(zone)).date()
    for i in range(8):
        candidate_day = day + dt.timedelta(days=i)
        if candidate_day.weekday() == DIGEST_WEEKDAY:
            at = local_to_utc(candidate_day, DIGEST_TIME, zone)
            if at > after:
                return at
    raise AssertionError("a week always has a Sunday")


def journal_settings_update(
    *,
    user,
    weekdays: list[int],
    nudge_time: dt.time | None,
    digest_enabled: bool,
    now: dt.datetime | None = None,
) -> JournalProfile:
    """Save a partner's nudge and digest choices and schedule the next of each."""
    now = now or timezone.now()
    mask = 0
    for day in weekdays:
        if not 0 <= int(day) <= 6:
            raise JournalError("Pick days from Monday to Sunday.")
        mask |= 1 << int(day)
    if mask and nudge_time is None:
        raise JournalError("Pick a time for the nudges.")
    with transaction.atomic():
        profile, _ = JournalProfile.objects.select_for_update().get_or_create(user=user)
        profile.nudge_weekdays = mask
        profile.nudge_time = nudge_time if mask else None
        profile.digest_enabled = digest_enabled
        profile.next_nudge_at = next_nudge_after(profile=profile, zone=user.zone, after=now)
        profile.next_digest_at = (
            next_digest_after(zone=user.zone, after=now) if digest_enabled else None
        )
        profile.save()
    return profile


# --- Account events (settings.KEEPSAKE_HOOKS) ---------------------------------------------------


def _reschedule(profile: JournalProfile, *, zone: str, now: dt.datetime) -> None:
    """Recompute the next nudge and digest from ``now`` in ``zone``.

    A slot already due is left alone: the pass sends it and then schedules the
    next one from the partner's current zone. Moving it past ``now`` would drop it.
    """
    fields = {}
    if profile.next_nudge_at is None or profile.next_nudge_at > now:
        fields["next_nudge_at"] = next_nudge_after(profile=profile, zone=zone, after=now)
    if profile.next_digest_at is None or profile.next_digest_at > now:
        # Not within six days of the last digest: moving west just after Sunday's would
        # otherwise bring a second one the same evening (the outbox would drop it as a
        # repeat, and its entries with it).
        after = now
        if profile.digest_covered_until is not None:
            after = max(now, profile.digest_covered_until + dt.timedelta(days=6))
        fields["next_digest_at"] = (
            next_digest_after(zone=zone, after=after) if profile.digest_enabled else None
        )
    if fields:
        JournalProfile.objects.filter(pk=profile.pk).update(**fields)


def nudges_sync_user(*, user, now: dt.datetime | None = None) -> None:
    """Recompute a partner's next nudge and digest after their time zone changed."""
    now = now or timezone.now()
    with transaction.atomic():
        # Wait for a pass holding the row, then read the slot it set: without the
        # lock we would see its due slot, leave it, and its old-zone next one would stand.
        profile = JournalProfile.objects.select_for_update().filter(user_id=user.pk).first()
        if profile is not None:
            _reschedule(profile, zone=user.zone, now=now)


def nudges_sync_space(*, space, now: dt.datetime | None = None) -> None:
    """After the space's zone changed: partners without a zone of their own follow it."""
    now = now or timezone.now()
    with transaction.atomic():
        profiles = (
            JournalProfile.objects.filter(user__space=space)
            .select_for_update(of=("self",))
            .select_related("user", "user__space")
            .order_by("pk")
        )
        for profile in profiles:
            _reschedule(profile, zone=profile.user.zone, now=now)


# --- The scheduler pass ------------------------------------------------------------------------


def _nudge_one(profile: JournalProfile, *, now: dt.datetime) -> bool:
    user = profile.user
    scheduled = profile.next_nudge_at
    zone = user.zone
    local_day = scheduled.astimezone(get_zone(zone)).date()
    sent = False
    if user.space_id is not None and user.is_active and now - scheduled <= NUDGE_GRACE:
        wrote_today = Entry.objects.filter(author=user, day=local_day).exists()
        if not wrote_today:
            prompt = prompt_for_day(
                space_id=user.space_id,
                day=local_today(user.space.time_zone or "UTC", scheduled),
            )
            email_enqueue(
                to_email=user.email,
                template="journal_nudge",
                context={"name": user.name, "prompt": prompt, "partner": partner_of(user)},
                dedupe_key=f"journal:nudge:{user.pk}:{local_day.isoformat()}",
                category=Category.JOURNAL,
                user=user,
            )
            sent = True
    elif now - scheduled > NUDGE_GRACE:
        logger.info("Journal nudge for user %s due %s missed (too late)", user.pk, scheduled)
    # From the later of the slot and now: after downtime, no flood of stale nudges.
    profile.next_nudge_at = next_nudge_after(profile=profile, zone=zone, after=max(scheduled, now))
    JournalProfile.objects.filter(pk=profile.pk).update(next_nudge_at=profile.next_nudge_at)
    return sent


def digest_window(*, end: dt.datetime, covered_until: dt.datetime | None) -> dt.datetime:
    """Where the digest ending at ``end`` starts: where the last one ended, when that was
    about a week before (a zone change makes it a few hours more or less); otherwise
    (the first digest, or one after a pause) the week before ``end``."""
    if covered_until is not None and end - dt.timedelta(days=8) <= covered_until < end:
        return covered_until
    return end - dt.timedelta(days=7)


def digest_entries(*, recipient, partner, start: dt.datetime, end: dt.datetime) -> list[Entry]:
    """The partner's entries the recipient may read, written from ``start`` until ``end``
    (``digest_window`` gives the start).

    Through ``entries_visible_to(recipient)``, so the partner's private entries never
    appear; and only shared ones even if the recipient were somehow the author.
    """
    return list(
        entries_visible_to(recipient)
        .filter(
            author=partner,
            is_private=False,
            created_at__gte=start,
            created_at__lt=end,
        )
        .order_by("created_at")[:DIGEST_MAX_ENTRIES]
    )


def _digest_one(profile: JournalProfile, *, now: dt.datetime) -> bool:
    user = profile.user
    scheduled = profile.next_digest_at
    zone = user.zone
    local_day = scheduled.astimezone(get_zone(zone)).date()
    sent = False
    partner = partner_of(user) if user.is_active else None
    if partner is not None and now - scheduled <= DIGEST_GRACE:
        start = digest_window(end=scheduled, covered_until=profile.digest_covered_until)
        entries = digest_entries(recipient=user, partner=partner, start=start, end=scheduled)
        if entries:
            email_enqueue(
                to_email=user.email,
                template="journal_digest",
                context={"name": user.name, "partner": partner, "entries": entries},
                dedupe_key=f"journal:digest:{user.pk}:{local_day.isoformat()}",
                category=Category.JOURNAL,
                user=user,
            )
            sent = True
    elif now - scheduled > DIGEST_GRACE:
        logger.info("Journal digest for user %s due %s missed (too late)", user.pk, scheduled)
    profile.next_digest_at = (
        next_digest_after(zone=zone, after=max(scheduled, now)) if profile.digest_enabled else None
    )
    profile.digest_covered_until = scheduled
    JournalProfile.objects.filter(pk=profile.pk).update(
        next_digest_at=profile.next_digest_at, digest_covered_until=scheduled
    )
    return sent


def nudges_schedule_due(*, now: dt.datetime | None = None) -> int:
    """Scheduler pass: queue the due nudges and weekly digests, each once.

    Due rows are found through the indexed ``next_*_at`` fields and claimed with
    ``SELECT … FOR UPDATE SKIP LOCKED``; each row's next time moves forward in the
    same transaction, and the outbox's dedupe key (per user and local day) makes a
    re-run or a concurrent pass a no-op. Returns how many e-mails were queued.
    """
    now = now or timezone.now()
    queued = 0
    for field, handle_one in (("next_nudge_at", _nudge_one), ("next_digest_at", _digest_one)):

        def handle(ids, field=field, handle_one=handle_one):
            nonlocal queued
            profiles = (
                JournalProfile.objects.filter(pk__in=ids)
                .select_related("user", "user__space")
                .order_by(field)
            )
            for profile in profiles:
                queued += bool(handle_one(profile, now=now))

        claim_due(
            JournalProfile.objects.all(), due=field, now=now, handle=handle, batch_size=BATCH_SIZE
        )
    return queued


__all__ = [
    "JournalError",
    "entry_appreciate",
    "entry_create",
    "entry_delete",
    "entry_update",
    "journal_settings_update",
    "journal_visit_record",
    "nudges_schedule_due",
    "nudges_sync_space",
    "nudges_sync_user",
]
