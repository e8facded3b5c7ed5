"""The embedded default (`make run`): no servers at all. A Celery worker on kombu's
filesystem broker delivers an outbox e-mail into the local mailbox under var/mail/."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

ENQUEUE = """
from django.db import transaction
from apps.notifications.services import email_enqueue
with transaction.atomic():
    email_enqueue(to_email="local@example.org", template="test", context={"name": "Local"},
                  dedupe_key="local-run:1", category="account")
"""


@pytest.fixture
def local_env(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "KEEPSAKE_", "CELERY_"))
        and key not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="true",
        KEEPSAKE_VAR_DIR=str(tmp_path / "var"),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    return env


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_worker_on_the_filesystem_broker_delivers_to_the_local_mailbox(local_env, tmp_path):
    manage("migrate", "--noinput", env=local_env)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=local_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        manage("shell", "-c", ENQUEUE, env=local_env)
        inbox = tmp_path / "var" / "mail" / "new"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (inbox.exists() and any(inbox.iterdir())):
            assert worker.poll() is None, "the worker died"
            time.sleep(0.25)
        assert inbox.exists() and len(list(inbox.iterdir())) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            log, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            log, _ = worker.communicate()

    assert "apps.notifications.tasks.deliver_email" in log
    # Every file of the broker stays under var/, none in the directory the worker ran in.
    assert any((tmp_path / "var" / "broker" / "control").glob("*.exchange"))
    assert "succeeded" in log
    listing = manage("mailbox", env=local_env).stdout
    assert "local@example.org" in listing and "Keepsake test e-mail" in listing
    assert "Hello Local," in manage("mailbox", "1", env=local_env).stdout
