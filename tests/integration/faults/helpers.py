"""Fault-test machinery: our own Redis processes, a Celery worker subprocess that can be
SIGKILLed, a scripted SMTP server that misbehaves on cue, and a way to cut a database
connection from another one.

Test modules import the fixtures they use from here (``from .faults_helpers import ...``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.conftest import need_service, silent_listener

ROOT = Path(__file__).resolve().parents[3]
QUEUE = "celery"  # Celery's default queue: the Redis list the tasks wait in


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, *, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# --- Our own Redis ----------------------------------------------------------------------------


class RedisProcess:
    """A private redis-server on a loopback port (6390-6399), stopped and started at will.

    No persistence: a restart empties it, as a crashed cache-only Redis would.
    """

    def __init__(self, binary: str, port: int, log: Path) -> None:
        self.binary, self.port, self.log = binary, port, log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self.ping, timeout=10, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except Exception:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_connect_timeout=1)


@pytest.fixture
def own_redis(tmp_path):
    binary = shutil.which("redis-server")
    need_service("redis-server (apt-get install redis-server)", binary is not None)
    port = next((p for p in range(6390, 6400) if port_is_free(p)), None)
    need_service("a free loopback port in 6390-6399 for Redis", port is not None)
    server = RedisProcess(binary, port, tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def publish_to(settings):
    """Point this process's Celery app (not eager) at a broker URL, as the web would."""
    from config.celery import app
    from tests.integration.conftest import _reset_connections

    keys = ("task_always_eager", "broker_url", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}

    def point(url: str) -> None:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.CELERY_BROKER_URL = url
        app.conf.update(
            task_always_eager=False,
            broker_url=url,
            # What config/settings.py gives a Redis broker.
            broker_transport_options=dict(settings.KEEPSAKE_REDIS_TRANSPORT_OPTIONS),
        )
        _reset_connections(app)

    yield point
    app.conf.update(saved)
    _reset_connections(app)


# --- A Celery worker subprocess ---------------------------------------------------------------


def worker_database_url() -> str:
    """The URL of the database pytest-django created (needs ``transaction=True``)."""
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@dataclass
class Worker:
    """A Celery worker (``kind="worker"``) or beat (``kind="beat"``) subprocess."""

    env: dict
    log: Path
    proc: subprocess.Popen | None = None
    starts: int = 0
    kind: str = "worker"

    def start(self) -> None:
        self.starts += 1
        with self.log.open("a") as out:
            out.write(f"\n===== start {self.starts} =====\n")
        if self.kind == "beat":
            args = ["beat", "--loglevel=INFO", f"--schedule={self.log.with_suffix('.schedule')}"]
            ready = "beat: Starting..."
        else:
            args = [
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                f"--hostname=faults{self.starts}@%h",
            ]
            ready = " ready."
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(
            lambda: self._ready(ready),
            timeout=60,
            what=f"the Celery {self.kind} to be ready",
            interval=0.1,
        )

    def _ready(self, marker: str) -> bool:
        assert self.proc.poll() is None, f"the {self.kind} died:\n" + self.output()[-3000:]
        return marker in self.output().split(f"===== start {self.starts} =====")[-1]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, no warning: the process and anything it started."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive():
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def start_worker(tmp_path):
    """start_worker(broker_url=, smtp=, email_timeout=) -> a running Worker, stopped after
    the test. ``smtp`` is anything with ``host`` and ``port``. With ``kind="beat"`` and
    ``tick_seconds``, a beat that sends the tick that often."""
    workers: list[Worker] = []

    def _start(
        *,
        broker_url: str,
        smtp=None,
        email_timeout: int = 5,
        kind: str = "worker",
        tick_seconds: float = 60,
    ) -> Worker:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "KEEPSAKE_", "CELERY_", "EMAIL_"))
            and k not in {"DATABASE_URL", "REDIS_URL"}
        }
        env.update(
            DJANGO_SETTINGS_MODULE="tests.integration.faults.settings",
            CELERY_TASK_ALWAYS_EAGER="false",
            DATABASE_URL=worker_database_url(),
            REDIS_URL=broker_url,
            CELERY_BROKER_URL=broker_url,
            EMAIL_TIMEOUT=str(email_timeout),
            KEEPSAKE_TICK_SECONDS=str(tick_seconds),
            KEEPSAKE_VAR_DIR=str(tmp_path / "var"),
            PYTHONPATH=str(ROOT),
            PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        )
        if smtp is not None:
            env["EMAIL_URL"] = f"smtp://{smtp.host}:{smtp.port}"
        worker = Worker(env=env, log=tmp_path / f"{kind}{len(workers)}.log", kind=kind)
        workers.append(worker)
        worker.start()
        return worker

    yield _start
    for worker in workers:
        worker.stop()


# --- A scripted SMTP server -------------------------------------------------------------------


@dataclass
class ScriptedSmtp:
    """A small SMTP server whose answer to each message's DATA follows ``script``.

    Actions, one per message (then "ok" for the rest): "ok" (250), any reply line such
    as "421 4.3.2 Shutting down" or "550 5.1.1 No such user", "drop" (close the
    connection in the middle of the message) and "silent" (take the message, never
    answer).
    """

    host: str = "127.0.0.1"
    port: int = 0
    script: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _socket: socket.socket | None = None
    _held: list = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._socket = socket.socket()
        self._socket.bind((self.host, 0))
        self._socket.listen(16)
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        for conn in self._held:
            with contextlib.suppress(OSError):
                conn.close()
        self._socket.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except OSError:
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _next_action(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else "ok"

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        reader = conn.makefile("rb")

        def say(line: str) -> None:
            conn.sendall(line.encode() + b"\r\n")

        try:
            say("220 faults.test ESMTP")
            while True:
                line = reader.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    say("250-faults.test")
                    say("250 8BITMIME")
                elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    say("250 OK")
                elif verb == b"QUIT":
                    say("221 Bye")
                    return
                elif verb == b"DATA":
                    action = self._next_action()
                    say("354 Go ahead")
                    if action == "drop":
                        reader.readline()  # the first header line, then hang up
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                    data = bytearray()
                    while True:
                        chunk = reader.readline()
                        if not chunk:
                            return
                        if chunk == b".\r\n":
                            break
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    if action == "silent":
                        self._held.append(conn)
                        self._stop.wait()
                        return
                    if action == "ok":
                        with self.lock:
                            self.messages.append(
                                message_from_bytes(bytes(data), policy=policy.default)
                            )
                        say("250 OK queued")
                    else:
                        say(action)
                        if action.startswith("421"):
                            return
                else:
                    say("502 Not implemented")
        except OSError:
            return
        finally:
            if conn not in self._held:
                conn.close()


@pytest.fixture
def scripted_smtp(settings):
    server = ScriptedSmtp()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 1
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def silent_smtp():
    """Accepts TCP connections and never says a word (a stuck relay): host and port."""
    with silent_listener() as (host, port, _held):
        yield ScriptedSmtp(host=host, port=port)


def keepsake_ids(messages) -> list[str]:
    return [m["X-Keepsake-Id"] for m in messages]


# --- Cutting a database connection ------------------------------------------------------------


def terminate_backend(pid: int) -> None:
    """Kill one PostgreSQL backend from another connection (as a DBA or a failover would)."""
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    with psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"],
        password=s.get("PASSWORD") or None,
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
