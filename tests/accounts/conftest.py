"""Fixtures for the accounts tests: a founder alone in a space, invitations, mail."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from apps.accounts import services
from tests.factories import SpaceFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_cache(db):
    """allauth keeps its rate limits in the (database) cache: start every test afresh."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def founder(db):
    """Alone in a new space, waiting for a partner."""
    space = SpaceFactory(name="Anna & Ben")
    return UserFactory(
        email="anna@example.com",
        display_name="Anna",
        space=space,
        joined_space_at=timezone.now(),
    )


@pytest.fixture
def invite(founder, django_capture_on_commit_callbacks):
    """Invite an address to the founder's space; returns (invitation, token)."""

    def _invite(email="ben@example.com", space=None, by=None):
        by = by or founder
        with django_capture_on_commit_callbacks(execute=True):
            return services.invitation_create(space=space or by.space, invited_by=by, email=email)

    return _invite


def link_in(message) -> str:
    match = re.search(r"https?://\S+/invite/[\w-]+/", message.body)
    assert match, message.body
    return match.group(0)


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]
