"""Browser journeys: Playwright drives Debian's Chromium against pytest-django's live server."""

import re

import pytest
from django.core import mail

from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(live_server, settings):
    """The live server's URL, also used for links in e-mails."""
    settings.SITE_URL = live_server.url
    settings.ALLOWED_HOSTS = ["*"]
    return live_server.url


@pytest.fixture
def new_page(browser, site):
    """Open a fresh browser context (a separate person) per call."""
    contexts = []

    def _open():
        context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=site)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def sign_in(page, email, password=PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def last_link_to(email: str, pattern: str) -> str:
    """The first link matching ``pattern`` in the newest e-mail sent to ``email``."""
    for message in reversed(mail.outbox):
        if email in message.to:
            match = re.search(pattern, message.body)
            if match:
                return match.group(0)
    raise AssertionError(f"no e-mail to {email} with a link like {pattern}")
