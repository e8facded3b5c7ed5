def test_dashboard_shows_both_partners(client, alice, bob):
    client.force_login(alice)
    response = client.get("/home/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Alice" in body and "Bob" in body


def test_user_without_space_goes_to_onboarding(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/home/")
    assert response.status_code == 302
    assert response["Location"] == "/space/new/"
