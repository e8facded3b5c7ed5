"""Browser journey: Alice downloads her data, then leaves the space."""

import json
import zipfile

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import new_page, sign_in, site  # noqa: F401 (fixtures)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_download_then_leave(new_page, alice, bob):  # noqa: F811
    from apps.journal.services import entry_create

    entry_create(author=alice, text="A private note about the rain", is_private=True)
    entry_create(author=bob, text="Bob keeps this one to himself", is_private=True)

    page = new_page()
    sign_in(page, alice.email)
    page.goto("/settings/")
    page.get_by_role("link", name="Download a copy of your data").click()
    expect(page.get_by_role("heading", name="Your data", level=1)).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download my data (ZIP)").click()
    path = info.value.path()
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data.json"))
    texts = [e["text"] for e in data["journal_entries"]]
    assert texts == ["A private note about the rain"]

    page.get_by_role("link", name="Leave this space").click()
    expect(page.get_by_role("heading", name="What goes, for good")).to_be_visible()
    page.get_by_label("Your password").fill("not it")
    page.get_by_role("button", name="Leave the space").click()
    expect(page.get_by_text("That is not your password.")).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Leave the space").click()
    expect(page.get_by_text("You left")).to_be_visible()
    alice.refresh_from_db()
    assert alice.space_id is None
