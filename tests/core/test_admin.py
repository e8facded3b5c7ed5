import pytest

from apps.core.models import PassRun
from apps.core.scheduling import run_pass
from tests.factories import UserFactory


@pytest.mark.django_db
def test_staff_see_each_pass_and_its_last_error_in_the_admin(client):
    run_pass("tests.core.passes.broken")
    assert PassRun.objects.get(name="tests.core.passes.broken").last_error
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get("/admin/core/passrun/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "tests.core.passes.broken" in body
    assert "RuntimeError" in body
