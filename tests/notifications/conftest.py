"""Fixtures for the outbox: an SMTP server that hangs (tests/conftest.py has the real one),
and the real one with a hook run before each message."""

from __future__ import annotations

import pytest

from tests.conftest import silent_listener

from .backends import HookedSmtpBackend


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


@pytest.fixture
def before_send(smtp_server, settings):
    """``before_send(hook)``: the real test server, with ``hook(row_id)`` called before each
    message goes out. Returns the server."""
    settings.EMAIL_BACKEND = "tests.notifications.backends.HookedSmtpBackend"

    def install(hook):
        HookedSmtpBackend.before_send = lambda message: hook(
            int(message.extra_headers["X-Keepsake-Id"])
        )
        return smtp_server

    yield install
    HookedSmtpBackend.before_send = None
