"""`make run` as a new user runs it: web, worker and beat on the embedded default (no
server of any kind), /healthz all "ok" once the first tick went through the filesystem
broker, and Ctrl-C stopping all three. A deployment's .env in the checkout is ignored."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
# What a deployment's .env holds: were honcho to read it, web and worker would refuse to
# start (no secret key with debug off).
DEPLOYMENT_ENV = "DJANGO_DEBUG=false\nDJANGO_SECRET_KEY=\nVAULT_KEYS=\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return json.loads(answer.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_starts_web_worker_and_beat_and_ctrl_c_stops_them(tmp_path):
    dotenv = ROOT / ".env"
    made_dotenv = not dotenv.exists()
    if made_dotenv:
        dotenv.write_text(DEPLOYMENT_ENV)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "KEEPSAKE_", "CELERY_"))
        and key not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "VAULT_KEYS"}
    }
    env.update(KEEPSAKE_VAR_DIR=str(tmp_path / "var"), KEEPSAKE_TICK_SECONDS="2")
    port = _free_port()
    venv = os.path.relpath(sys.prefix, ROOT)  # the Makefile puts $(CURDIR)/$(VENV) on PATH
    log = (tmp_path / "make-run.log").open("w")
    run = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}", f"VENV={venv}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output = lambda: (tmp_path / "make-run.log").read_text(errors="replace")  # noqa: E731
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline:
            assert run.poll() is None, "make run ended:\n" + output()[-3000:]
            health = _health(port)
            if health and health.get("status") == "ok":
                break
            time.sleep(0.5)
        assert health and health["status"] == "ok", (health, output()[-3000:])
        assert health["scheduler"] == health["broker"] == health["database"] == "ok"
        assert f"Keepsake is starting at  http://127.0.0.1:{port}/" in output()
        assert (tmp_path / "var" / "keepsake.sqlite3").exists()
        assert (tmp_path / "var" / "vault.key").stat().st_mode & 0o077 == 0

        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        run.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _group_alive(run.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _group_alive(run.pid), "a process of make run outlived Ctrl-C"
        for name in ("web", "worker", "beat"):
            assert f"{name}.1 stopped" in output(), output()[-3000:]
    finally:
        if _group_alive(run.pid):
            os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        log.close()
        if made_dotenv:
            dotenv.unlink(missing_ok=True)
