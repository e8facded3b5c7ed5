"""What a partner would take, leave behind and lose: the counts the pages show."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone

from apps.accounts.selectors import partner_of
from apps.journal.models import Entry
from apps.rituals.models import CalendarFeed, CheckIn, ReminderSchedule, Ritual
from apps.vault.models import Letter, open_at_q, sealed_at_q


def departure_summary(*, user, now: dt.datetime | None = None) -> dict:
    """Counts of what stays with the space and what goes, for ``user`` (a few queries)."""
    now = now or timezone.now()
    space_id = user.space_id
    partner = partner_of(user)
    entries = Entry.objects.filter(author=user).aggregate(
        private=Count("id", filter=Q(is_private=True)),
        shared=Count("id", filter=Q(is_private=False, space_id=space_id)),
    )
    sealed = sealed_at_q(now)
    letters = Letter.objects.filter(space_id=space_id).aggregate(
        drafts=Count("id", filter=Q(author=user, status=Letter.Status.DRAFT)),
        sealed_to_partner=Count("id", filter=sealed & Q(author=user)),
        sealed_for_you=Count("id", filter=sealed & Q(recipient=user)),
        opened=Count("id", filter=open_at_q(now) & (Q(author=user) | Q(recipient=user))),
    )
    return {
        "partner": partner,
        "alone": space_id is not None and partner is None,
        "rituals": Ritual.objects.filter(space_id=space_id).count(),
        "check_ins": CheckIn.objects.filter(space_id=space_id, user=user).count(),
        "reminders": ReminderSchedule.objects.filter(user=user).count(),
        "has_feed": CalendarFeed.objects.filter(user=user).exists(),
        **{f"entries_{k}": v for k, v in entries.items()},
        **letters,
    }
