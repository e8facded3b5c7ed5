"""What partners type reaches e-mails escaped in HTML, and verbatim (not as entities)
in the plain-text part and the subject."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import timezone

from apps.accounts import services as accounts_services
from apps.journal import services as journal_services
from apps.journal.models import JournalProfile
from apps.notifications.models import OutboundEmail
from apps.rituals import services as ritual_services
from apps.rituals.models import ReminderSchedule
from apps.vault import services as vault_services
from tests.factories import SpaceFactory, UserFactory
from tests.rituals.conftest import make_ritual

from .hostile import RAW_MARKERS

pytestmark = pytest.mark.django_db

NAME = "Zoë & <b>Co</b>"
SPACE = "Anna & Ben <script>alert(1)</script>"
TITLE = "Tea & talk <script>alert(1)</script>"
ENTITIES = ("&amp;", "&lt;", "&gt;", "&#x27;", "&quot;")


@pytest.fixture
def hostile_couple(db):
    space = SpaceFactory(name=SPACE, anniversary=dt.date(2019, 2, 14))
    now = timezone.now()
    first = UserFactory(space=space, display_name=NAME, joined_space_at=now)
    return space, first


def _check(rows):
    assert rows
    problems = set()
    for row in rows:
        for marker in RAW_MARKERS:
            if marker in row.body_html:
                problems.add(f"{row.template}: unescaped {marker!r} in the HTML part")
        for part, text in (("subject", row.subject), ("text part", row.body_text)):
            for entity in ENTITIES:
                if entity in text:
                    problems.add(f"{row.template}: HTML entity {entity} in the {part}")
    assert not problems, "\n".join(sorted(problems))


def test_every_kind_of_email_escapes_html_and_keeps_text_verbatim(
    hostile_couple, django_capture_on_commit_callbacks
):
    space, first = hostile_couple
    with django_capture_on_commit_callbacks(execute=True):
        accounts_services.invitation_create(
            space=space, invited_by=first, email="partner@example.com"
        )
        accounts_services.email_test_send(user=first)
    second = UserFactory(space=space, display_name=NAME + " 2", joined_space_at=timezone.now())

    # A ritual reminder.
    start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    ritual = make_ritual(
        space,
        first,
        now=start,
        starts_on=dt.date(2026, 3, 1),
        title=TITLE,
        description=TITLE,
        participation="gives",
        giver=second,
        is_conversation=True,
    )
    due = ReminderSchedule.objects.filter(ritual=ritual).order_by("next_remind_at").first()
    with time_machine.travel(due.next_remind_at, tick=False):
        ritual_services.reminders_schedule_due(now=due.next_remind_at)

    # A journal nudge and digest carrying an entry.
    journal_services.entry_create(author=second, text=TITLE)
    journal_services.journal_settings_update(
        user=first, weekdays=list(range(7)), nudge_time=dt.time(20, 0), digest_enabled=True
    )
    profile = JournalProfile.objects.get(user=first)
    for moment in sorted({profile.next_nudge_at, profile.next_digest_at}):
        with time_machine.travel(moment, tick=False):
            journal_services.nudges_schedule_due(now=moment)

    # A letter that opens.
    past = dt.datetime(2022, 3, 1, 12, tzinfo=dt.UTC)
    letter = vault_services.letter_create(author=first, title=TITLE, body=TITLE)
    vault_services.letter_seal(letter=letter, user=first, now=past)
    vault_services.letters_open_due(now=timezone.now())

    # A reminder to write before the next opening day.
    opt_in = vault_services.nudge_set(user=second, enabled=True, now=timezone.now())
    with time_machine.travel(opt_in.next_nudge_at, tick=False):
        vault_services.nudges_send_due(now=opt_in.next_nudge_at)

    rows = list(OutboundEmail.objects.all())
    templates = {row.template for row in rows}
    assert {
        "invitation",
        "test",
        "ritual_reminder",
        "journal_nudge",
        "journal_digest",
        "vault_opened",
        "vault_nudge",
    } <= templates, templates
    _check(rows)
    # What was actually sent, too: a sent account e-mail keeps no body at rest, so its
    # delivered message is the one to read.
    from django.core import mail

    template_of = {str(row.pk): row.template for row in rows}
    sent = [
        SimpleNamespace(
            template=template_of.get(m.extra_headers.get("X-Keepsake-Id"), "?"),
            subject=m.subject,
            body_text=m.body,
            body_html=m.alternatives[0][0] if m.alternatives else "",
        )
        for m in mail.outbox
    ]
    assert {"invitation", "test"} <= {m.template for m in sent}
    _check(sent)


def test_the_downloaded_copy_escapes_what_partners_wrote(hostile_couple):
    import io
    import zipfile

    from django.urls import reverse

    from .conftest import client_for

    space, first = hostile_couple
    second = UserFactory(space=space, display_name=NAME + " 2", joined_space_at=timezone.now())
    journal_services.entry_create(author=second, text=TITLE)
    journal_services.entry_create(author=first, text=TITLE, is_private=True)
    make_ritual(
        space,
        first,
        now=timezone.now(),
        starts_on=dt.date(2026, 3, 1),
        title=TITLE,
        description=TITLE,
    )
    response = client_for(first).post(reverse("portability:download"))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    html_files = [n for n in archive.namelist() if n.endswith(".html")]
    assert html_files
    for name in html_files:
        html = archive.read(name).decode()
        assert "Tea &amp; talk" in html
        for marker in RAW_MARKERS:
            assert marker not in html, name
