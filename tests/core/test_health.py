"""/healthz and the staff banner: a stopped scheduler never goes unnoticed."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.utils import timezone

from apps.core import scheduling
from apps.core.models import PassRun

BANNER = "The scheduler is not running."


def record_tick(age: dt.timedelta) -> None:
    when = timezone.now() - age
    PassRun.objects.update_or_create(
        name=scheduling.TICK,
        defaults={"last_started_at": when, "last_finished_at": when, "last_ok_at": when},
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def working_broker(settings, tmp_path):
    """A broker that is there: Redis when the run has one, else the filesystem transport."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = tmp_path / "broker"
        (folder / "queue").mkdir(parents=True)
        (folder / "processed").mkdir()
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
        }


def test_healthy_with_a_fresh_tick(client, db, working_broker):
    scheduling.run_passes()

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == body["broker"] == body["scheduler"] == "ok"
    assert 0 <= body["last_tick_seconds_ago"] < 60
    assert "no-cache" in response["Cache-Control"]


def test_unhealthy_when_the_scheduler_never_ran(client, db, working_broker):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["scheduler"] == "never ran"
    assert response.json()["last_tick_seconds_ago"] is None


def test_unhealthy_when_the_last_tick_is_old(client, db, settings, working_broker):
    settings.SCHEDULER_MAX_AGE = 300
    record_tick(dt.timedelta(minutes=4))
    assert client.get("/healthz").status_code == 200

    record_tick(dt.timedelta(minutes=6))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["scheduler"] == "late"
    assert response.json()["last_tick_seconds_ago"] >= 360


def test_unhealthy_when_the_broker_is_unreachable(client, db, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    record_tick(dt.timedelta(seconds=10))

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == "unreachable"
    assert body["database"] == "ok" and body["scheduler"] == "ok"


def test_healthz_answers_get_and_head_only(client, db, working_broker):
    scheduling.run_passes()
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


# --- The staff banner ---------------------------------------------------------------------


@pytest.fixture
def staff_alice(alice):
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    return alice


def test_staff_see_the_banner_when_the_tick_is_late(client, staff_alice, settings):
    settings.SCHEDULER_MAX_AGE = 300
    client.force_login(staff_alice)

    body = client.get("/home/").content.decode()
    assert BANNER in body and "It has never ticked." in body

    record_tick(dt.timedelta(minutes=12))
    body = client.get("/home/").content.decode()
    assert BANNER in body and "Its last tick was 12 minutes ago." in body

    record_tick(dt.timedelta(seconds=30))
    assert BANNER not in client.get("/home/").content.decode()


def test_partners_never_see_the_banner(client, alice, bob):
    assert not alice.is_staff
    client.force_login(alice)

    assert BANNER not in client.get("/home/").content.decode()


# --- The web container's healthcheck script ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_container_healthcheck_script_follows_healthz(live_server, monkeypatch, working_broker):
    import importlib.util
    from pathlib import Path
    from urllib.parse import urlsplit

    path = Path(__file__).resolve().parents[2] / "docker" / "healthcheck.py"
    spec = importlib.util.spec_from_file_location("container_healthcheck", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setenv("PORT", str(urlsplit(live_server.url).port))
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", "*,.example.org,testserver")
    assert script.probe_host() == "example.org"
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", "testserver")

    assert script.main() == 1  # never ticked
    scheduling.run_passes()
    assert script.main() == 0


def test_unhealthy_when_the_database_is_unreachable(client, db, monkeypatch, working_broker):
    from apps.core import views

    monkeypatch.setattr(views, "_check_database", lambda: "unreachable")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert response.json()["scheduler"] == "unknown"


def test_the_banner_costs_staff_pages_at_most_two_queries(client, staff_alice):
    client.force_login(staff_alice)
    client.get("/home/")  # warm up the session and caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as with_banner:
        client.get("/home/")
    staff_alice.is_staff = False
    staff_alice.save(update_fields=["is_staff"])
    with CaptureQueriesContext(connection) as without_banner:
        client.get("/home/")

    extra = [q["sql"] for q in with_banner.captured_queries if "core_passrun" in q["sql"]]
    assert 1 <= len(extra) <= 2
    assert not [q for q in without_banner.captured_queries if "core_passrun" in q["sql"]]
