"""Shared fixtures: people and spaces, real services, a real SMTP server, a browser."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from dataclasses import dataclass, field

import pytest
from django.utils import timezone
from hypothesis import settings as hypothesis_settings

from .factories import SpaceFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# CI (REQUIRE_SERVICES=1) draws the same hypothesis examples on every run, so a red build
# means a change in the code, never the luck of the draw; local runs keep exploring.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if REQUIRE_SERVICES:
    hypothesis_settings.load_profile("ci")


def need_service(what: str, available: bool) -> None:
    """Skip when a real service is missing, or fail under REQUIRE_SERVICES=1 (CI)."""
    if available:
        return
    message = f"{what} is not available"
    if REQUIRE_SERVICES:
        pytest.fail(message + " but REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def postgres(db):
    """For tests about row locks and concurrency, which only PostgreSQL can show."""
    from django.db import connection

    need_service("PostgreSQL (set DATABASE_URL)", connection.vendor == "postgresql")


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL")
    if not url or not url.startswith("redis"):
        return None
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return url


@pytest.fixture
def redis_broker():
    url = redis_url()
    need_service("Redis (set REDIS_URL)", url is not None)
    return url


# --- People and spaces --------------------------------------------------------------------


@pytest.fixture
def space(db):
    return SpaceFactory()


@pytest.fixture
def alice(space):
    return UserFactory(space=space, display_name="Alice", joined_space_at=timezone.now())


@pytest.fixture
def bob(space, alice):
    return UserFactory(space=space, display_name="Bob", joined_space_at=timezone.now())


@pytest.fixture
def stranger(db):
    """A member of another space."""
    other = SpaceFactory(name="Elsewhere")
    return UserFactory(space=other, display_name="Stranger", joined_space_at=timezone.now())


@dataclass(frozen=True)
class Pair:
    """Two partners seen from one side: ``actor`` does the thing, ``partner`` is checked."""

    actor: object
    partner: object


@pytest.fixture(params=["alice-acts", "bob-acts"])
def both_ways(request, alice, bob) -> Pair:
    """Run a test once with Alice acting and Bob checked, once the other way round.

    The two are equals (DESIGN.md): a test that only ever acts as the founder is half a
    test, and the bug where one partner's action switched off the other's reminders was
    exactly the half nobody looked at.
    """
    return Pair(alice, bob) if request.param == "alice-acts" else Pair(bob, alice)


def live_apart(pair: Pair, *, away: str = "Europe/Berlin"):
    """The acting partner lives in ``away``, the other at home (the space's zone):
    (traveller, homebody). The zone scenarios of issue 10 start here."""
    traveller, homebody = pair.actor, pair.partner
    traveller.time_zone = away
    traveller.save()
    homebody.time_zone = ""
    homebody.save()
    return traveller, homebody


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


# --- A real SMTP server ----------------------------------------------------------------------


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list = field(default_factory=list)
    # Codes to answer DATA with, one per message, before accepting (e.g. ["451 Try later"]).
    refusals: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # SMTP sessions opened (one EHLO each): shows whether a connection was reused.
    connections: int = 0

    def wait_for(self, count: int, timeout: float = 20.0) -> list:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} e-mails, got {len(self.messages)}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def silent_listener():
    """A TCP server that accepts connections and never says a word (a stuck relay or a
    hung Redis). Yields (host, port, held connections)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()
    held: list = []

    def serve():
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    host, port = listener.getsockname()
    try:
        yield host, port, held
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


@pytest.fixture
def smtp_server(settings):
    """An aiosmtpd server on loopback; Django's SMTP backend points at it."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    server = SmtpServer(host="127.0.0.1", port=_free_port())

    class Handler:
        async def handle_EHLO(self, smtp, session, envelope, hostname, responses):
            session.host_name = hostname
            with server.lock:
                server.connections += 1
            return responses

        async def handle_DATA(self, smtp, session, envelope):
            with server.lock:
                if server.refusals:
                    return server.refusals.pop(0)
                server.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    controller = Controller(Handler(), hostname=server.host, port=server.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        controller.stop()


# --- The browser -------------------------------------------------------------------------------

CHROMIUM = "/usr/lib/chromium/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded one (this machine cannot download browsers)."""
    need_service("Chromium (apt-get install chromium)", os.path.exists(CHROMIUM))
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
