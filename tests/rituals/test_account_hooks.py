"""Account events (joining, zone changes) recompute the partners' reminders."""

import datetime as dt

import pytest
import time_machine

from apps.accounts import services as account_services
from apps.rituals.models import ReminderSchedule
from tests.factories import SpaceFactory, UserFactory

from .conftest import make_ritual

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 1, 10, 6, 0, tzinfo=dt.UTC)


@time_machine.travel(NOW, tick=False)
def test_partner_who_joins_later_gets_reminders():
    space = SpaceFactory(time_zone="Europe/Berlin")
    alice = UserFactory(space=space)
    ritual = make_ritual(space, alice, now=NOW, at=dt.time(20, 0))
    _, token = account_services.invitation_create(
        space=space, invited_by=alice, email="late@example.com"
    )
    bob = UserFactory(email="late@example.com")
    assert not ReminderSchedule.objects.filter(ritual=ritual, user=bob).exists()
    account_services.invitation_accept(user=bob, token=token)
    schedule = ReminderSchedule.objects.get(ritual=ritual, user=bob)
    assert schedule.next_remind_at is not None


@time_machine.travel(NOW, tick=False)
def test_changing_a_partners_zone_recomputes_their_reminder():
    space = SpaceFactory(time_zone="Europe/Berlin")
    alice = UserFactory(space=space)
    ritual = make_ritual(space, alice, now=NOW, at=dt.time(20, 0))
    schedule = ReminderSchedule.objects.get(ritual=ritual, user=alice)
    correct = schedule.next_remind_at
    # Knock the row off so only a recompute can bring it back.
    ReminderSchedule.objects.filter(pk=schedule.pk).update(
        next_remind_at=correct + dt.timedelta(days=300)
    )
    account_services.profile_update(user=alice, display_name="A", time_zone="Asia/Tokyo")
    schedule.refresh_from_db()
    assert schedule.next_remind_at == correct
    # Saving without a zone change does not recompute (nothing to do).
    ReminderSchedule.objects.filter(pk=schedule.pk).update(
        next_remind_at=correct + dt.timedelta(days=300)
    )
    account_services.profile_update(user=alice, display_name="B", time_zone="Asia/Tokyo")
    schedule.refresh_from_db()
    assert schedule.next_remind_at == correct + dt.timedelta(days=300)


@time_machine.travel(NOW, tick=False)
def test_changing_the_spaces_zone_moves_the_ritual_instant():
    space = SpaceFactory(time_zone="Europe/Berlin")
    alice = UserFactory(space=space)
    ritual = make_ritual(space, alice, now=NOW, at=dt.time(20, 0))
    before = ReminderSchedule.objects.get(ritual=ritual, user=alice).next_remind_at
    account_services.space_update(
        space=space,
        name=space.name,
        time_zone="America/New_York",
        anniversary=space.anniversary,
    )
    after = ReminderSchedule.objects.get(ritual=ritual, user=alice).next_remind_at
    # 20:00 in New York is six hours after 20:00 in Berlin in January.
    assert after - before == dt.timedelta(hours=6)
