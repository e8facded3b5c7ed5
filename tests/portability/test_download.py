"""A partner's download: what is in it, what never is, and how it is served."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from django.urls import reverse

from apps.portability.services import space_export
from tests.factories import UserFactory

from .conftest import (
    ALICE_DRAFT_BODY,
    ALICE_PRIVATE,
    ALICE_SHARED,
    BOB_DRAFT_BODY,
    BOB_PRIVATE,
    BOB_SHARED,
    OPENED_BODY,
    SEALED_TO_ALICE_BODY,
    SEALED_TO_ALICE_TITLE,
    SEALED_TO_BOB_BODY,
    build_history,
    make_ritual,
)

pytestmark = pytest.mark.django_db


def download(client, user) -> tuple[object, dict, str, bytes]:
    client.force_login(user)
    response = client.post(reverse("portability:download"))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["README.html", "data.json"]
    data = json.loads(archive.read("data.json"))
    return response, data, archive.read("README.html").decode(), response.content


def test_page_explains_what_is_included(client, alice, frozen):
    client.force_login(alice)
    page = client.get(reverse("portability:my_data")).content.decode()
    assert page.count("<h1") == 1
    assert "private ones" in page and "still" in page and "sealed" in page
    assert f'action="{reverse("portability:download")}"' in page
    assert 'method="post"' in page


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.post(reverse("portability:download"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_download_is_post_only(client, alice):
    client.force_login(alice)
    assert client.get(reverse("portability:download")).status_code == 405


def test_download_needs_csrf(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(reverse("portability:download")).status_code == 403


def test_alice_download(client, history, frozen):
    response, data, readme, _ = download(client, history.alice)
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="keepsake-2025-03-01')
    assert response["Cache-Control"] == "no-store"

    assert data["space"]["name"] == history.space.name
    assert {m["name"] for m in data["members"]} == {"Alice", "Bob"}
    assert "password" not in json.dumps(data)
    assert [r["title"] for r in data["rituals"]] == ["Evening talk"]
    assert len(data["rituals"][0]["check_ins"]) == 4
    assert data["rituals"][0]["reminder_preferences"] == [
        {"user": history.alice.email, "kind": "before", "minutes_before": 15}
    ]

    texts = {e["text"] for e in data["journal_entries"]}
    assert texts == {ALICE_PRIVATE, ALICE_SHARED, BOB_SHARED}
    alice_shared = next(e for e in data["journal_entries"] if e["text"] == ALICE_SHARED)
    assert alice_shared["appreciations"][0]["reply"] == "Always"

    by_status = {}
    for letter in data["letters"]:
        by_status.setdefault(letter["status"], []).append(letter)
    assert [ltr["body"] for ltr in by_status["opened"]] == [OPENED_BODY]
    assert [ltr["body"] for ltr in by_status["draft"]] == [ALICE_DRAFT_BODY]
    sealed = sorted(by_status["sealed"], key=lambda ltr: ltr["opens_on"])
    assert sealed == [
        {"status": "sealed", "opens_on": "2026-02-14"},
        {"status": "sealed", "opens_on": "2027-02-14"},
    ]
    # Not anywhere in the archive, in whatever form.
    for secret in (
        BOB_PRIVATE,
        BOB_DRAFT_BODY,
        SEALED_TO_ALICE_TITLE,
        SEALED_TO_ALICE_BODY,
        SEALED_TO_BOB_BODY,
    ):
        assert secret not in json.dumps(data, ensure_ascii=False)
        assert secret not in readme
    for forbidden in ("ciphertext", "wrapped_key", "nonce", "key_id"):
        assert forbidden not in json.dumps(data)

    assert OPENED_BODY in readme and ALICE_PRIVATE in readme
    assert "A sealed letter — it opens on 2026-02-14." in readme


def test_bob_download_has_his_private_entry_not_hers(client, history, frozen):
    _, data, readme, _ = download(client, history.bob)
    texts = {e["text"] for e in data["journal_entries"]}
    assert texts == {BOB_PRIVATE, ALICE_SHARED, BOB_SHARED}
    assert ALICE_PRIVATE not in readme
    assert [ltr.get("body") for ltr in data["letters"] if ltr["status"] == "draft"] == [
        BOB_DRAFT_BODY
    ]


def test_readme_escapes_html(client, alice, bob, frozen):
    from apps.journal.services import entry_create

    entry_create(author=alice, text="<script>alert(1)</script>")
    _, data, readme, _ = download(client, alice)
    assert "<script>alert(1)</script>" not in readme
    assert "&lt;script&gt;" in readme
    assert data["journal_entries"][0]["text"] == "<script>alert(1)</script>"


def test_a_stranger_downloads_only_their_own_space(client, history, stranger, frozen):
    _, data, readme, _ = download(client, stranger)
    assert data["members"][0]["email"] == stranger.email
    assert data["rituals"] == data["journal_entries"] == data["letters"] == []
    assert history.space.name not in readme


def _grow(space, alice, bob, n: int) -> None:
    from apps.journal.services import entry_appreciate, entry_create
    from apps.vault import services as vault

    from .conftest import NOW

    for i in range(n):
        ritual = make_ritual(space, alice, title=f"Ritual {i}", now=NOW)
        from apps.rituals.services import ritual_check_in

        ritual_check_in(
            ritual=ritual, user=bob, day=NOW.date() - dt.timedelta(days=1), status="kept", now=NOW
        )
        entry = entry_create(author=alice, text=f"Entry {i}")
        entry_appreciate(entry=entry, user=bob)
        entry_create(author=bob, text=f"Private {i}", is_private=True)
        vault.letter_create(author=alice, title=f"Draft {i}", body="…")
        letter = vault.letter_create(author=bob, title=f"Sealed {i}", body="…")
        vault.letter_seal(letter=letter, user=bob, now=NOW)


def test_export_query_count_does_not_grow(history, frozen, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    space, alice, bob = history.space, history.alice, history.bob
    with CaptureQueriesContext(connection) as small:
        space_export(space=space, viewer=alice)
    _grow(space, alice, bob, 12)
    with django_assert_num_queries(len(small.captured_queries)):
        data = space_export(space=space, viewer=alice)
    assert len(data["rituals"]) == 13 and len(data["letters"]) > 24
    # The operator export does not grow either.
    with CaptureQueriesContext(connection) as full:
        space_export(space=space, viewer=None)
    _grow(space, alice, bob, 3)
    with django_assert_num_queries(len(full.captured_queries)):
        space_export(space=space, viewer=None)


def test_a_partner_alone_can_download(client, db, frozen):
    from tests.factories import SpaceFactory

    solo = UserFactory(space=SpaceFactory())
    _, data, _, _ = download(client, solo)
    assert len(data["members"]) == 1 and data["members"][0]["is_you"] is True


def test_build_history_is_reusable(space, alice, bob):
    """The fixture's story can be told in any space (used by the round-trip tests)."""
    h = build_history(space, alice, bob)
    assert h.opened.status == "opened" and h.sealed_to_alice.status == "sealed"


def test_readme_names_people(client, history, frozen):
    _, _, readme, _ = download(client, history.alice)
    assert "Bob: kept" in readme and history.bob.email + ": kept" not in readme
