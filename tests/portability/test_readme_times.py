"""Every time the download's README prints is right and says which zone it is in."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from apps.portability.services import download_zip

from .conftest import make_ritual

pytestmark = pytest.mark.django_db

# 08:24 UTC is 09:24 in Berlin (winter), 03:24 in New York, 13:54 in Kolkata.
MORNING = dt.datetime(2026, 12, 2, 8, 24, tzinfo=dt.UTC)
# 23:30 UTC on 2 December is already 3 December in Berlin.
LATE = dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC)


def _readme(client, user) -> tuple[str, str]:
    client.force_login(user)
    response = client.post(reverse("portability:download"))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    name = re.search(r'filename="([^"]+)"', response["Content-Disposition"]).group(1)
    return unescape(archive.read("README.html").decode()), name


def _long_date(when: dt.datetime) -> str:
    return f"{when.day} {when:%B %Y}"


@pytest.mark.parametrize("instant", [MORNING, LATE])
@pytest.mark.parametrize(
    "own_zone", ["", "America/New_York", "Asia/Kolkata", "UTC"], ids=["space", "ny", "in", "utc"]
)
def test_copy_made_at_is_in_the_persons_zone_and_says_so(client, alice, own_zone, instant):
    alice.time_zone = own_zone
    alice.save()
    zone = own_zone or alice.space.time_zone  # Berlin, the space's
    local = instant.astimezone(ZoneInfo(zone))
    with time_machine.travel(instant, tick=False):
        readme, name = _readme(client, alice)
    made = re.search(r"A copy made on [^.]*\.", readme).group(0)
    if zone == "UTC":
        assert made == f"A copy made on {_long_date(instant)} at {instant:%H:%M} UTC."
    else:
        assert made == (
            f"A copy made on {_long_date(local)} at {local:%H:%M} {zone} time "
            f"({_long_date(instant)}, {instant:%H:%M} UTC)."
            if local.date() != instant.date()
            else f"A copy made on {_long_date(local)} at {local:%H:%M} {zone} time "
            f"({instant:%H:%M} UTC)."
        )
        assert f"{local:%H:%M} UTC" not in readme
    assert f"Keepsake copy of {_long_date(local)}" in readme
    # The file is named after the person's own day too.
    assert name == f"keepsake-{local.date().isoformat()}.zip"


def test_readme_is_the_same_outside_a_request(client, alice):
    """The zone comes from the person, not from whatever zone the process has active."""
    with time_machine.travel(MORNING, tick=False):
        from_view, _ = _readme(client, alice)
        _, payload = download_zip(space=alice.space, viewer=alice)
    archive = zipfile.ZipFile(io.BytesIO(payload))
    assert unescape(archive.read("README.html").decode()) == from_view
    assert "09:24 Europe/Berlin time (08:24 UTC)" in from_view


def test_ritual_time_is_labelled_with_the_space_zone(client, alice, bob):
    """A ritual's time is a wall-clock time in the space's zone, whoever reads it."""
    bob.time_zone = "America/New_York"
    bob.save()
    with time_machine.travel(MORNING, tick=False):
        make_ritual(alice.space, alice, now=MORNING)  # 19:30 every day
        for person in (alice, bob):
            readme, _ = _readme(client, person)
            assert "From 2025-01-01 at 19:30 Europe/Berlin time" in readme
            assert "19:30:00" not in readme


def test_json_keeps_the_exact_instant(client, alice):
    import json

    with time_machine.travel(MORNING, tick=False):
        client.force_login(alice)
        response = client.post(reverse("portability:download"))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    assert dt.datetime.fromisoformat(data["exported_at"]) == MORNING
