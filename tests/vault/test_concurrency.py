"""Two unlock passes at once (two beats by mistake): each letter opens once, one e-mail each."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core import mail

from apps.notifications.models import OutboundEmail
from apps.vault import services
from apps.vault.models import Letter
from tests.concurrency import run_at_once
from tests.factories import SpaceFactory, UserFactory

from .conftest import local

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SEALING = local("Europe/Berlin", 2026, 3, 1, 12)


def _space_with_letters(n: int):
    space = SpaceFactory(time_zone="Europe/Berlin")
    a = UserFactory(space=space)
    b = UserFactory(space=space)
    for i in range(n):
        author = a if i % 2 else b
        letter = services.letter_create(author=author, title=f"t{i}", body=f"b{i}")
        services.letter_seal(letter=letter, user=author, now=SEALING)
    return space, [a, b]


def test_two_passes_at_once_open_each_letter_once(postgres):
    spaces = [_space_with_letters(15) for _ in range(3)]
    partners = [user for _, users in spaces for user in users]
    mail.outbox.clear()
    assert Letter.objects.filter(status=Letter.Status.SEALED).count() == 45
    opening = Letter.objects.order_by("-opens_at").values_list("opens_at", flat=True).first()

    counts = run_at_once(lambda: services.letter_unlock_due(now=opening, batch_size=4))
    assert sum(counts) == 45
    assert Letter.objects.filter(status=Letter.Status.OPENED).count() == 45
    rows = OutboundEmail.objects.filter(template="vault_opened")
    assert Counter(rows.values_list("to_email", flat=True)) == {u.email: 1 for u in partners}
    assert Counter(m.to[0] for m in mail.outbox) == {u.email: 1 for u in partners}
    # And a third pass finds nothing left to do.
    assert services.letter_unlock_due(now=opening) == 0
