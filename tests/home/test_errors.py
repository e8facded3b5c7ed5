import pytest
from django.test import Client


@pytest.mark.django_db
def test_unknown_url_gets_the_apps_404_page(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


@pytest.mark.django_db
def test_csrf_failure_page_is_friendly_and_changes_nothing(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(
        "/space/", {"name": "Changed", "time_zone": "UTC", "anniversary": "2020-01-01"}
    )
    assert response.status_code == 403
    assert "Please try again" in response.content.decode()
    alice.space.refresh_from_db()
    assert alice.space.name != "Changed"
