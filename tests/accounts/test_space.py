"""Onboarding: the first sign-in creates a space (name, home zone, anniversary)."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.models import Space
from tests.factories import UserFactory

VALID = {"name": "Anna & Ben", "time_zone": "Europe/Berlin", "anniversary": "2019-06-14"}


@pytest.fixture
def newcomer_client(client, db):
    user = UserFactory(email="new@example.com")
    client.force_login(user)
    client.user = user
    return client


def test_create_space_makes_the_user_its_first_member(newcomer_client):
    response = newcomer_client.post("/space/new/", VALID)

    assert response.status_code == 302
    assert response["Location"] == "/space/"
    space = Space.objects.get()
    assert (space.name, space.time_zone, space.anniversary) == (
        "Anna & Ben",
        "Europe/Berlin",
        dt.date(2019, 6, 14),
    )
    user = newcomer_client.user
    user.refresh_from_db()
    assert user.space == space
    assert user.joined_space_at is not None


def test_onboarding_form_is_offered_with_the_users_zone(newcomer_client):
    response = newcomer_client.get("/space/new/")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<h1") == 1
    for field in ("id_name", "id_time_zone", "id_anniversary"):
        assert f'for="{field}"' in body  # every field is labelled


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Pick a time zone from the list"),
        ({"time_zone": ""}, "time_zone", "This field is required"),
        ({"name": ""}, "name", "This field is required"),
        ({"name": "   "}, "name", "This field is required"),
        ({"name": "x" * 81}, "name", "at most 80 characters"),
        ({"anniversary": "2019-02-30"}, "anniversary", "Enter a valid date"),
        ({"anniversary": "yesterday"}, "anniversary", "Enter a valid date"),
        ({"anniversary": "0001-01-01"}, "anniversary", "Enter a real date"),
        ({"anniversary": ""}, "anniversary", "This field is required"),
    ],
)
def test_bad_space_input_is_a_clear_error_and_writes_nothing(
    newcomer_client, changes, field, message
):
    response = newcomer_client.post("/space/new/", {**VALID, **changes})

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not Space.objects.exists()
    newcomer_client.user.refresh_from_db()
    assert newcomer_client.user.space_id is None


def test_a_member_cannot_create_a_second_space(alice_client, alice):
    response = alice_client.post("/space/new/", VALID)
    assert response.status_code == 302
    assert Space.objects.count() == 1
    alice.refresh_from_db()
    assert alice.space.name != "Anna & Ben"


def test_signed_out_visitor_is_sent_to_sign_in(client, db):
    response = client.get("/space/new/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_space_settings_can_be_changed_and_bad_zone_is_refused(alice_client, space):
    ok = alice_client.post(
        "/space/",
        {"name": "Us", "time_zone": "America/New_York", "anniversary": "2020-02-29"},
    )
    assert ok.status_code == 302
    space.refresh_from_db()
    assert (space.name, space.time_zone) == ("Us", "America/New_York")

    bad = alice_client.post(
        "/space/", {"name": "Them", "time_zone": "Nowhere/Land", "anniversary": "2020-02-29"}
    )
    assert bad.status_code == 200
    space.refresh_from_db()
    assert space.name == "Us"


def test_anniversary_of_29_february_falls_on_28_february_in_common_years(space):
    space.anniversary = dt.date(2020, 2, 29)
    assert space.anniversary_in(2023) == dt.date(2023, 2, 28)
    assert space.anniversary_in(2024) == dt.date(2024, 2, 29)


def test_member_sees_times_in_own_zone_else_the_spaces(alice, space):
    assert alice.zone == space.time_zone
    alice.time_zone = "Asia/Tokyo"
    assert alice.zone == "Asia/Tokyo"
    assert timezone.is_aware(timezone.now())
