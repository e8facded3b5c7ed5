"""When one partner leaves, the other is told: once by e-mail, and on the dashboard."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.utils.dateformat import format as date_format

from apps.accounts import services
from apps.accounts.models import Space, User
from apps.notifications.models import Category, OutboundEmail
from tests.factories import UserFactory
from tests.portability.conftest import (
    ALICE_DRAFT_BODY,
    ALICE_PRIVATE,
    BOB_DRAFT_BODY,
    BOB_PRIVATE,
    OPENED_BODY,
    SEALED_TO_ALICE_BODY,
    SEALED_TO_ALICE_TITLE,
    SEALED_TO_BOB_BODY,
    build_history,
)

from .conftest import mails_to

# Late evening in UTC: already the next day in Auckland, still this day in Berlin.
LEFT_AT = dt.datetime(2026, 3, 1, 22, 30, tzinfo=dt.UTC)


def local_day(instant: dt.datetime, zone: str) -> str:
    """The day an instant falls on in a zone, written the way the pages write it."""
    return date_format(instant.astimezone(zoneinfo.ZoneInfo(zone)), "j F Y")


def leave(user, capture):
    with time_machine.travel(LEFT_AT, tick=False), capture(execute=True):
        return services.space_leave(user=user)


def test_the_partner_who_stays_gets_one_kind_email(
    both_ways, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://keepsake.example"
    actor, partner = both_ways.actor, both_ways.partner
    partner.time_zone = "Pacific/Auckland"
    partner.save(update_fields=["time_zone"])
    space_name = actor.space.name

    leave(actor, django_capture_on_commit_callbacks)

    assert mails_to(actor.email) == []
    [message] = mails_to(partner.email)
    day = local_day(LEFT_AT, "Pacific/Auckland")
    assert day == "2 March 2026"  # the partner's own day, not UTC's or the leaver's
    assert message.subject == f"{actor.name} left {space_name}"
    html = message.alternatives[0][0]
    for part in (message.body, html):
        assert f"{actor.name} left your shared space" in part
        assert day in part
        assert "https://keepsake.example/space/" in part  # where to invite someone new
    assert "&amp;" not in message.body and "&amp;" not in message.subject
    # An account e-mail: it cannot be unsubscribed from, and it is the partner's.
    row = OutboundEmail.objects.get(template="partner_left")
    assert row.category == Category.ACCOUNT
    assert row.user_id == partner.pk
    assert row.status == OutboundEmail.Status.SENT
    assert "List-Unsubscribe" not in message.extra_headers


def test_the_email_is_queued_once_per_departure(both_ways, django_capture_on_commit_callbacks):
    actor, partner = both_ways.actor, both_ways.partner
    leave(actor, django_capture_on_commit_callbacks)
    # Leaving again is refused (already out) and sends nothing more.
    with pytest.raises(services.SpaceError, match="not in a space"):
        leave(actor, django_capture_on_commit_callbacks)
    rows = OutboundEmail.objects.filter(template="partner_left")
    assert rows.count() == 1
    assert rows.get().dedupe_key.startswith(f"partner-left:{partner.space_id}:{actor.pk}:")
    assert len(mails_to(partner.email)) == 1


def test_joining_again_and_leaving_again_tells_the_partner_again(
    both_ways, django_capture_on_commit_callbacks, invite
):
    actor, partner = both_ways.actor, both_ways.partner
    leave(actor, django_capture_on_commit_callbacks)
    _, token = invite(actor.email, space=partner.space, by=partner)
    with time_machine.travel(LEFT_AT + dt.timedelta(days=3), tick=False):
        services.invitation_accept(user=actor, token=token)
    with (
        time_machine.travel(LEFT_AT + dt.timedelta(days=9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.space_leave(user=User.objects.get(pk=actor.pk))
    assert OutboundEmail.objects.filter(template="partner_left").count() == 2
    assert len([m for m in mails_to(partner.email) if "left" in m.subject]) == 2


def test_the_email_holds_no_private_words(
    both_ways, space, alice, bob, django_capture_on_commit_callbacks
):
    # Both partners wrote private entries, drafts and sealed letters to each other.
    build_history(space, alice, bob)
    actor, partner = both_ways.actor, both_ways.partner
    leave(actor, django_capture_on_commit_callbacks)
    [row] = OutboundEmail.objects.filter(template="partner_left")
    [message] = mails_to(partner.email)
    everything = " ".join(
        [row.subject, row.body_text, row.body_html, message.body, message.alternatives[0][0]]
    )
    for secret in (
        ALICE_PRIVATE,
        BOB_PRIVATE,
        ALICE_DRAFT_BODY,
        BOB_DRAFT_BODY,
        OPENED_BODY,
        SEALED_TO_ALICE_BODY,
        SEALED_TO_ALICE_TITLE,
        SEALED_TO_BOB_BODY,
    ):
        assert secret not in everything


def test_the_last_one_leaving_is_told_nothing(founder, django_capture_on_commit_callbacks):
    assert leave(founder, django_capture_on_commit_callbacks) is None
    assert not Space.objects.exists()
    assert not OutboundEmail.objects.filter(template="partner_left").exists()
    assert mail.outbox == []


def test_deleting_the_account_tells_the_partner_too(both_ways, django_capture_on_commit_callbacks):
    actor, partner = both_ways.actor, both_ways.partner
    name = actor.name
    with time_machine.travel(LEFT_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.account_delete(user=actor)
    [message] = mails_to(partner.email)
    assert f"{name} left your shared space" in message.body
    assert OutboundEmail.objects.filter(template="partner_left").count() == 1


def test_a_partner_who_also_leaves_is_not_mailed_about_the_first(
    both_ways, django_capture_on_commit_callbacks
):
    actor, partner = both_ways.actor, both_ways.partner
    # Queued but not yet delivered (no on-commit run) when the partner leaves too.
    with time_machine.travel(LEFT_AT, tick=False):
        services.space_leave(user=actor)
        services.space_leave(user=User.objects.get(pk=partner.pk))
    row = OutboundEmail.objects.get(template="partner_left")
    assert row.status == OutboundEmail.Status.SKIPPED


# --- The dashboard ------------------------------------------------------------------------------


def test_the_dashboard_says_who_left_and_when(
    client, both_ways, django_capture_on_commit_callbacks
):
    actor, partner = both_ways.actor, both_ways.partner
    partner.time_zone = "Pacific/Auckland"
    partner.save(update_fields=["time_zone"])
    leave(actor, django_capture_on_commit_callbacks)

    client.force_login(User.objects.get(pk=partner.pk))
    with time_machine.travel(LEFT_AT + dt.timedelta(hours=1), tick=False):
        page = client.get("/home/").content.decode()
    assert (
        f"{actor.name} left your shared space on {local_day(LEFT_AT, 'Pacific/Auckland')}" in page
    )
    assert "has not joined yet" not in page
    # What it means, and the way forward.
    assert "stays here" in page
    assert 'href="/space/"' in page


def test_the_one_who_left_does_not_see_the_notice(
    client, both_ways, django_capture_on_commit_callbacks
):
    actor = both_ways.actor
    leave(actor, django_capture_on_commit_callbacks)
    client.force_login(User.objects.get(pk=actor.pk))
    # Out of the space: the dashboard sends them to start a new one.
    assert client.get("/home/")["Location"] == "/space/new/"
    page = client.get("/space/new/").content.decode()
    assert "left your shared space" not in page


def test_a_founder_still_waiting_sees_the_invitation_hint(client, founder):
    client.force_login(founder)
    page = client.get("/home/").content.decode()
    assert "Your partner has not joined yet" in page
    assert "left your shared space" not in page


def test_the_notice_ends_when_someone_new_joins(
    client, both_ways, django_capture_on_commit_callbacks, invite
):
    actor, partner = both_ways.actor, both_ways.partner
    leave(actor, django_capture_on_commit_callbacks)
    newcomer = UserFactory(email="cleo@example.com", display_name="Cleo")
    _, token = invite("cleo@example.com", space=partner.space, by=partner)
    services.invitation_accept(user=newcomer, token=token)

    space = Space.objects.get(pk=partner.space_id)
    assert space.partner_left_at is None and space.partner_left_name == ""
    client.force_login(User.objects.get(pk=partner.pk))
    page = client.get("/home/").content.decode()
    assert "left your shared space" not in page
    assert "Cleo" in page
