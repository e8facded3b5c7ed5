import pytest
from playwright.sync_api import expect

from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_signed_in_partner_sees_dashboard(new_page, alice, bob):
    page = new_page()
    sign_in(page, alice.email)
    expect(page.get_by_role("heading", name=alice.space.name)).to_be_visible()
    expect(page.get_by_test_id("members")).to_contain_text("Bob")
