"""Writes of the rituals app, one module per concern:

- ``rituals``: create, edit, pause or archive a ritual, add one from the library;
- ``preferences``: each partner's reminder choice (which one applies is the model's rule,
  ``ReminderPreference.objects.effective``);
- ``schedules``: each partner's next reminder of each ritual (``Ritual.next_reminder``);
- ``reminder_pass``: the scheduler pass that records and queues due reminders;
- ``emails``: the reminder and "moved" e-mails, their dedupe keys and links;
- ``check_ins``: kept/skipped answers and the signed links that record them;
- ``calendar_feed``: the secret calendar address (stored hashed);
- ``conversation``: the question of a conversation ritual's occurrence.

Callers use ``from apps.rituals import services`` and ``services.<name>``.
"""

from .calendar_feed import (
    calendar_feed_find,
    calendar_feed_ics,
    calendar_feed_made_at,
    calendar_feed_reset,
)
from .check_ins import (
    CHECKIN_SALT,
    checkin_opens_text,
    checkin_token,
    checkin_token_read,
    checkin_url,
    ritual_check_in,
)
from .conversation import question_for, questions_for
from .errors import RitualError
from .preferences import (
    DEFAULT_KIND,
    DEFAULT_MINUTES,
    Pref,
    preference_effective,
    reminder_preference_set,
)
from .reminder_pass import BATCH_SIZE, grace, reminders_record, reminders_schedule_due
from .rituals import (
    RITUAL_FIELDS,
    ritual_add_from_library,
    ritual_create,
    ritual_set_status,
    ritual_update,
)
from .schedules import schedules_sync, schedules_sync_space, schedules_sync_user

__all__ = [
    "BATCH_SIZE",
    "CHECKIN_SALT",
    "DEFAULT_KIND",
    "DEFAULT_MINUTES",
    "RITUAL_FIELDS",
    "Pref",
    "RitualError",
    "calendar_feed_find",
    "calendar_feed_ics",
    "calendar_feed_made_at",
    "calendar_feed_reset",
    "checkin_opens_text",
    "checkin_token",
    "checkin_token_read",
    "checkin_url",
    "grace",
    "preference_effective",
    "question_for",
    "questions_for",
    "reminder_preference_set",
    "reminders_record",
    "reminders_schedule_due",
    "ritual_add_from_library",
    "ritual_check_in",
    "ritual_create",
    "ritual_set_status",
    "ritual_update",
    "schedules_sync",
    "schedules_sync_space",
    "schedules_sync_user",
]
