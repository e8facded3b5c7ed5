"""Fixtures for the outbox: an SMTP server that hangs (tests/conftest.py has the real one)."""

from __future__ import annotations

import pytest

from tests.conftest import silent_listener


@pytest.fixture
def silent_smtp_server(settings):
    """A server that accepts TCP connections and never says a word (a stuck relay)."""
    with silent_listener() as (host, port, accepted):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = host, port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 1
        yield accepted
