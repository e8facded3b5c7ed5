"""The leak sweep: a sealed letter's text is nowhere until its opening day.

Every URL the project routes is requested (with real ids filled in) as the author,
the partner, a member of another space and a staff user, by GET and by POST; then
the outbox, the sent mail, every log record and every table of the database are
searched for a marker that was written into the letter's title and body. A ZIP that
a POST returns (the data download) is unpacked and each file in it searched too.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import logging
import re
import uuid
import zipfile

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, UUIDConverter

from apps.core.scheduling import run_passes
from apps.notifications.models import OutboundEmail
from apps.vault.models import Letter
from tests.factories import UserFactory

from .conftest import local

pytestmark = pytest.mark.django_db

SEALING = local("Europe/Berlin", 2026, 3, 1, 12)
OPENING = local("Europe/Berlin", 2027, 2, 14, 0, 0)
MAX_COMBINATIONS = 40


def _route_params(pattern) -> dict[str, str]:
    """{name: kind} of the parameters one pattern level takes."""
    converters = getattr(pattern, "converters", None)
    if converters is not None and hasattr(pattern, "_route"):
        return {
            name: "int"
            if isinstance(conv, IntConverter)
            else "uuid"
            if isinstance(conv, UUIDConverter)
            else "str"
            for name, conv in converters.items()
        }
    return dict.fromkeys(pattern.regex.groupindex, "str")


def named_routes(resolver=None, namespace="", params=None):
    """Yield (view name, {param: kind}) for every named URL pattern, recursively."""
    resolver = resolver or get_resolver()
    params = params or {}
    for entry in resolver.url_patterns:
        here = {**params, **_route_params(entry.pattern)}
        if isinstance(entry, URLResolver):
            prefix = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from named_routes(entry, prefix, here)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name, here


def every_url(candidates: dict[str, list]) -> list[str]:
    urls = set()
    for name, params in named_routes():
        names = list(params)
        choices = [candidates[params[p]] for p in names]
        for combo in itertools.islice(itertools.product(*choices), MAX_COMBINATIONS):
            try:
                urls.add(reverse(name, kwargs=dict(zip(names, combo, strict=True))))
            except NoReverseMatch:
                continue
    return sorted(urls)


def body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def database_dump() -> bytes:
    """Every cell of every table, as bytes (a stand-in for pg_dump)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for cell in row:
                    if isinstance(cell, bytes | bytearray | memoryview):
                        chunks.append(bytes(cell))
                    else:
                        chunks.append(str(cell).encode())
    return b"\n".join(chunks)


def mail_text() -> str:
    parts = []
    for message in mail.outbox:
        parts += [message.subject, message.body, str(message.extra_headers)]
        parts += [content for content, _ in getattr(message, "alternatives", [])]
    for row in OutboundEmail.objects.all():
        parts += [row.subject, row.body_text, row.body_html, str(row.headers), row.last_error]
    return "\n".join(parts)


def log_text(caplog) -> str:
    lines = [caplog.text]
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


def sweep(users: dict, urls: list[str], marker: bytes) -> dict[str, int]:
    """GET every URL as every user; fail on the first page that shows the marker."""
    seen = {}
    for label, user in users.items():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            seen[f"{label} {url}"] = response.status_code
            assert marker not in body_of(response), f"marker leaked to {label} at {url}"
            assert marker not in str(response.headers).encode(), f"{label} {url} headers"
    return seen


def test_sealed_letter_leaks_nowhere_until_its_opening_day(
    couple, alice, bob, stranger, seal, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    marker = f"LEAKMARK{uuid.uuid4().hex}"
    letter = seal(alice, title=f"Title {marker}", body=f"Body {marker}\nmore", now=SEALING)
    other = seal(bob, title="An ordinary title", body="An ordinary body", now=SEALING)
    staff = UserFactory(is_staff=True, is_superuser=True, display_name="Staff")
    users = {"author": alice, "partner": bob, "stranger": stranger, "staff": staff}

    letter_ct = ContentType.objects.get_for_model(Letter)
    candidates = {
        "int": [2027, 2026, letter_ct.pk, alice.pk],
        "uuid": [letter.pk, other.pk],
        "str": [str(letter.pk), str(other.pk), str(alice.pk), "vault", "x"],
    }
    urls = every_url(candidates)
    # The sweep really reaches the pages that matter.
    for must in (
        reverse("vault:year", args=[2027]),
        reverse("vault:edit", args=[letter.pk]),
        reverse("admin:vault_letter_change", args=[letter.pk]),
        reverse("admin:vault_letter_changelist"),
        reverse("home:dashboard"),
    ):
        assert must in urls
    assert len(urls) > 50

    # Before opening day (one minute before), with the scheduler running.
    just_before = OPENING - dt.timedelta(minutes=1)
    with time_machine.travel(just_before, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            run_passes(now=just_before)
        seen = sweep(users, urls, marker.encode())
    assert seen[f"staff {reverse('admin:vault_letter_change', args=[letter.pk])}"] == 200
    assert seen[f"author {reverse('vault:home')}"] == 200
    letter.refresh_from_db()
    assert letter.status == Letter.Status.SEALED
    assert marker not in mail_text()
    assert marker not in log_text(caplog)
    assert marker.encode() not in database_dump()

    # Opening day: the pass opens it, the e-mails go out (a link, no text).
    with time_machine.travel(OPENING, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            run_passes(now=OPENING)
        assert {m.to[0] for m in mail.outbox} >= {alice.email, bob.email}
        year_url = reverse("vault:year", args=[2027])
        for user in (alice, bob):
            client = Client()
            client.force_login(user)
            assert marker.encode() in client.get(year_url).content
        outsider = Client()
        outsider.force_login(stranger)
        assert outsider.get(year_url).status_code == 404
        admin = Client()
        admin.force_login(staff)
        change = admin.get(reverse("admin:vault_letter_change", args=[letter.pk]))
        assert change.status_code == 200
        assert marker.encode() not in change.content

    # Still never in mail, logs or the database.
    assert marker not in mail_text()
    assert marker not in log_text(caplog)
    assert marker.encode() not in database_dump()
    assert not re.search(r"Body LEAKMARK", mail_text())


# --- The same sweep by POST: forms, actions and the data download ---------------------------

# Two bodies per URL: an empty one (a form left unbound) and one with the fields the app's
# forms commonly read (a form bound, validated, maybe saved). No password: leaving the
# space and deleting the account stay refused.
POST_BODIES = (
    {},
    {
        "title": "Posted title",
        "body": "Posted body",
        "text": "Posted text",
        "confirm": "on",
        "years_later": "0",
        "nudge": "on",
        "heart": "on",
        "reply": "Hi",
        "status": "kept",
        "day": "2027-02-13",
        "next": "/vault/",
    },
)


def leaks_in(response, markers: list[bytes]) -> list[str]:
    """Which parts of a response show a marker: its body, its headers, or a file in the ZIP
    it returned (compressed, a marker would pass unseen in the body)."""
    body = body_of(response)
    parts = {"body": body, "headers": str(response.headers).encode()}
    if body.startswith(b"PK\x03\x04") or "zip" in response.get("Content-Type", ""):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for name in archive.namelist():
                parts[f"{name} in the ZIP"] = archive.read(name)
    return [where for where, data in parts.items() for m in markers if m in data]


def post_sweep(users: dict, urls: list[str], markers: list[bytes], bodies: dict) -> dict:
    """POST every URL as every user with each of ``bodies[label]``; fail on a marker or a
    500. Returns {label: ZIP files seen}."""
    zips = dict.fromkeys(users, 0)
    errors = []
    for label, user in users.items():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for url in urls:
            for data in bodies[label]:
                response = client.post(url, data)
                if not response.wsgi_request.user.is_authenticated:
                    client.force_login(user)  # allauth's logout is among the URLs
                where = leaks_in(response, markers)
                assert not where, f"a sealed letter leaked to {label} at POST {url}: {where}"
                if response.get("Content-Type") == "application/zip":
                    zips[label] += 1
                if response.status_code == 500:  # an error page would hide a leak
                    errors.append(f"{label}: POST {url} ({len(data)} fields) → 500")
    assert not errors, "\n".join(errors)
    return zips


def test_sealed_letters_leak_nowhere_by_post(
    couple, alice, bob, stranger, seal, caplog, django_capture_on_commit_callbacks
):
    """Each partner has sealed a letter to the other; POSTs to every route, as the author
    and the recipient of each, show neither in a page, a header, the ZIP or an e-mail."""
    caplog.set_level(logging.DEBUG)
    hers, his = f"HERS{uuid.uuid4().hex}", f"HIS{uuid.uuid4().hex}"
    letter = seal(alice, title=f"Title {hers}", body=f"Body {hers}", now=SEALING)
    other = seal(bob, title=f"Title {his}", body=f"Body {his}", now=SEALING)
    markers = [hers.encode(), his.encode()]
    staff = UserFactory(is_staff=True, is_superuser=True, display_name="Staff")
    users = {"alice": alice, "bob": bob, "stranger": stranger, "staff": staff}
    # The partners send both bodies. The others send the empty one: a staff member's
    # non-empty POST to an admin delete page would delete (a space, say), which is the
    # admin's job and would only spoil the rest of the sweep.
    bodies = {"alice": POST_BODIES, "bob": POST_BODIES, "stranger": [{}], "staff": [{}]}
    candidates = {
        "int": [2027, 2026, ContentType.objects.get_for_model(Letter).pk, alice.pk],
        "uuid": [letter.pk, other.pk],
        "str": [str(letter.pk), str(other.pk), str(alice.pk), "vault", "x"],
    }
    urls = every_url(candidates)
    assert reverse("portability:download") in urls
    assert reverse("vault:together", args=[2027]) in urls
    mail.outbox.clear()

    just_before = OPENING - dt.timedelta(minutes=1)
    with time_machine.travel(just_before, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            zips = post_sweep(users, urls, markers, bodies)
        with django_capture_on_commit_callbacks(execute=True):
            run_passes(now=just_before)  # and deliver what the POSTs queued
    # Both partners did get their data as a ZIP (once per body), sealed letters in it.
    assert zips["alice"] == zips["bob"] == len(POST_BODIES), zips
    assert any("test" in m.subject.lower() for m in mail.outbox), "the sweep sent no e-mail"
    for marker in (hers, his):
        assert marker not in mail_text()
        assert marker not in log_text(caplog)
        assert marker.encode() not in database_dump()
    for who in (alice, bob):
        who.refresh_from_db()
        assert who.is_active and who.space_id == couple.pk
    for sealed in (letter, other):  # still there, still sealed (the POSTs made drafts only)
        sealed.refresh_from_db()
        assert sealed.status == Letter.Status.SEALED

    # The control: once open, both letters are in each partner's ZIP, and leaks_in sees them.
    with time_machine.travel(OPENING, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            run_passes(now=OPENING)
        for who in (alice, bob):
            client = Client()
            client.force_login(who)
            response = client.post(reverse("portability:download"))
            assert response["Content-Type"] == "application/zip"
            assert marker_bytes_not_in_raw_zip(response, markers)
            where = leaks_in(response, markers)
            assert "data.json in the ZIP" in where and "README.html in the ZIP" in where, where


def marker_bytes_not_in_raw_zip(response, markers) -> bool:
    """A compressed ZIP hides its text from a plain search: why leaks_in unpacks it."""
    return not any(m in response.content for m in markers)


def test_error_reports_hide_letter_text_and_the_key(
    couple, alice, bob, seal, settings, monkeypatch
):
    """A crash while showing or saving letters keeps them (and VAULT_KEYS) out of the error
    report that Django mails to admins or logs in production (DEBUG off)."""
    import sys

    from django.core.signals import got_request_exception
    from django.views.debug import ExceptionReporter

    from apps.vault import views

    marker = f"CRASHMARK{uuid.uuid4().hex}"
    seal(alice, title=marker, body=marker, now=SEALING)
    key = settings.VAULT_KEYS.split(":")[1]
    reports = []

    def report(sender, request, **kwargs):
        reporter = ExceptionReporter(request, *sys.exc_info(), is_email=True)
        reports.append(reporter.get_traceback_text() + reporter.get_traceback_html())

    def broken_render(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(views, "render", broken_render)
    got_request_exception.connect(report)
    try:
        client = Client(raise_request_exception=False)
        with time_machine.travel(OPENING, tick=False):
            client.force_login(bob)
            assert client.get(reverse("vault:year", args=[2027])).status_code == 500
            # An invalid draft re-renders the form: the posted title is in the request.
            response = client.post(reverse("vault:write"), {"title": marker, "body": ""})
            assert response.status_code == 500
    finally:
        got_request_exception.disconnect(report)
    assert len(reports) == 2
    for text in reports:
        assert "template exploded" in text
        assert marker not in text
        assert key not in text
