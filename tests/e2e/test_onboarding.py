"""The first journey: A signs up, verifies, creates the space, invites B; B joins."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from apps.accounts.models import User

from .conftest import last_link_to

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long and unusual passphrase"
FIRST_PASSWORD = re.compile(r"^\s*Password\s*\*?\s*$")


def _fill_signup(page, password=PASSWORD):
    page.get_by_label(FIRST_PASSWORD).fill(password)
    page.get_by_label("Password (again)").fill(password)
    page.get_by_role("button", name="Sign Up").click()


def test_two_partners_end_up_in_one_space(new_page, site):
    mail.outbox.clear()

    # Partner A signs up and verifies the address through the e-mailed link.
    anna = new_page()
    anna.goto("/accounts/signup/")
    expect(anna.get_by_role("heading", level=1)).to_have_count(1)
    anna.get_by_label("Email").fill("anna@example.com")
    anna.get_by_label("Your name").fill("Anna")
    _fill_signup(anna)
    expect(anna.get_by_role("heading", level=1)).to_contain_text("Verify")
    confirm = last_link_to("anna@example.com", r"https?://\S+/accounts/confirm-email/\S+/")
    anna.goto(confirm)
    anna.get_by_role("button", name="Confirm").click()

    # First sign-in: create the space.
    expect(anna).to_have_url(re.compile(r"/space/new/$"))
    anna.get_by_label("Name of your space").fill("Anna & Ben")
    anna.get_by_label("Home time zone").select_option("Europe/Lisbon")
    anna.get_by_label("Anniversary").fill("2019-06-14")
    anna.get_by_role("button", name="Create space").click()
    expect(anna).to_have_url(re.compile(r"/space/$"))

    # Invite B.
    anna.get_by_label("Your partner’s e-mail address").fill("ben@example.com")
    anna.get_by_role("button", name="Send invitation").click()
    expect(anna.get_by_role("status")).to_contain_text("Invitation sent to ben@example.com")
    invite_link = last_link_to("ben@example.com", r"https?://\S+/invite/[\w-]+/")
    assert invite_link.startswith(site)

    # B opens the link from the real e-mail in a fresh browser and signs up.
    sent_before = len(mail.outbox)
    ben = new_page()
    ben.goto(invite_link)
    expect(ben.get_by_role("heading", level=1)).to_contain_text("Anna invited you")
    ben.get_by_role("link", name="I am new here: sign up").click()
    expect(ben.get_by_label("Email")).to_have_value("ben@example.com")
    ben.get_by_label("Your name").fill("Ben")
    _fill_signup(ben)

    # B lands in the same space, with no second verification e-mail.
    expect(ben).to_have_url(re.compile(r"/home/$"))
    expect(ben.get_by_role("heading", level=1)).to_have_text("Anna & Ben")
    expect(ben.get_by_test_id("members")).to_contain_text("Anna")
    expect(ben.get_by_test_id("members")).to_contain_text("Ben")
    assert len(mail.outbox) == sent_before

    # A sees B on the dashboard too.
    anna.goto("/home/")
    expect(anna.get_by_role("heading", level=1)).to_have_text("Anna & Ben")
    expect(anna.get_by_test_id("members")).to_contain_text("Ben")
    anna_user = User.objects.get(email="anna@example.com")
    assert User.objects.get(email="ben@example.com").space_id == anna_user.space_id


def test_existing_account_signs_in_through_the_link_and_joins(new_page, site):
    from apps.accounts import services
    from tests.factories import SpaceFactory, UserFactory

    space = SpaceFactory(name="Cleo & Dan")
    cleo = UserFactory(email="cleo@example.com", display_name="Cleo", space=space)
    UserFactory(email="dan@example.com", display_name="Dan")
    services.invitation_create(space=space, invited_by=cleo, email="dan@example.com")
    link = last_link_to("dan@example.com", r"https?://\S+/invite/[\w-]+/")

    dan = new_page()
    dan.goto(link)
    dan.get_by_role("link", name="I have an account: sign in").click()
    dan.get_by_label("Email").fill("dan@example.com")
    dan.get_by_label("Password").fill("correct horse battery")
    dan.get_by_role("button", name="Sign In").click()
    # Back on the invitation: joining takes a deliberate click.
    dan.get_by_role("button", name="Join Cleo & Dan").click()
    expect(dan).to_have_url(re.compile(r"/home/$"))
    expect(dan.get_by_test_id("members")).to_contain_text("Cleo")
    expect(dan.get_by_test_id("members")).to_contain_text("Dan")


def test_sign_in_with_the_keyboard_only(new_page, alice, bob):
    page = new_page()
    page.goto("/accounts/login/")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_login":
            break
    else:
        pytest.fail("the e-mail field cannot be reached with Tab")
    page.keyboard.type(alice.email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/home/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(alice.space.name)
