"""The signed-out landing page offers what this host allows."""

import pytest


@pytest.mark.parametrize("open_signup", [True, False])
def test_landing_offers_sign_up_only_where_it_is_open(client, db, settings, open_signup):
    settings.KEEPSAKE_OPEN_SIGNUP = open_signup
    page = client.get("/").content.decode()
    assert "Sign in" in page
    assert ("Create your space" in page) is open_signup
    assert ("by invitation" in page) is not open_signup


def test_signed_in_partners_go_to_their_dashboard(alice_client):
    response = alice_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/home/"


def test_pages_name_their_icon_so_browsers_do_not_ask_for_favicon_ico(client, db):
    from django.contrib.staticfiles import finders

    page = client.get("/").content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page
    assert finders.find("favicon.svg")
