"""A space never gets a third member, also when two accepts race (PostgreSQL only)."""

import datetime as dt
import hashlib
import threading

import pytest
from django.db import connection
from django.utils import timezone

from apps.accounts import services
from apps.accounts.models import Invitation, User
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _invitation(space, by, email, token):
    return Invitation.objects.create(
        space=space,
        email=email,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        invited_by=by,
        expires_at=timezone.now() + dt.timedelta(days=7),
    )


def _race(jobs):
    """Run each job in its own thread (own DB connection) as close together as possible."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(i, job):
        try:
            barrier.wait(timeout=10)
            results[i] = job()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@pytest.mark.parametrize("round_", range(3))
def test_two_concurrent_accepts_of_one_space_admit_exactly_one(postgres, founder, round_):
    # Two usable invitations of one space (the service keeps only one open, so the
    # rows are written directly: the lock, not the revoke, must hold the line).
    ben = UserFactory(email="ben@example.com")
    cleo = UserFactory(email="cleo@example.com")
    _invitation(founder.space, founder, ben.email, "token-for-ben-0123456789abcdefghij")
    _invitation(founder.space, founder, cleo.email, "token-for-cleo-0123456789abcdefghij")

    results = _race(
        [
            lambda: services.invitation_accept(
                user=ben, token="token-for-ben-0123456789abcdefghij"
            ),
            lambda: services.invitation_accept(
                user=cleo, token="token-for-cleo-0123456789abcdefghij"
            ),
        ]
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1, results
    assert isinstance(errors[0], services.SpaceError)
    assert "two members" in str(errors[0])
    assert User.objects.filter(space=founder.space).count() == 2
    assert Invitation.objects.filter(accepted_at__isnull=False).count() == 1


def test_one_link_accepted_twice_at_once_is_used_once(postgres, founder):
    ben = UserFactory(email="ben@example.com")
    token = "token-for-ben-0123456789abcdefghij"
    _invitation(founder.space, founder, ben.email, token)

    results = _race([lambda: services.invitation_accept(user=ben, token=token)] * 2)

    assert sum(isinstance(r, Exception) for r in results) == 1, results
    assert User.objects.filter(space=founder.space).count() == 2


def test_double_click_on_send_me_a_test_email_queues_one(postgres, founder):
    from apps.notifications.models import OutboundEmail

    results = _race([lambda: services.email_test_send(user=founder)] * 2)

    assert sorted(results, key=str) == [False, True], results
    assert OutboundEmail.objects.filter(user=founder, template="test").count() == 1


def test_two_spaces_created_at_once_by_one_user_make_one(postgres, db):
    user = UserFactory(email="solo@example.com")

    def create():
        return services.space_create(
            user=user, name="Ours", time_zone="UTC", anniversary=dt.date(2020, 5, 1)
        )

    results = _race([create, create])

    assert sum(isinstance(r, services.SpaceError) for r in results) == 1, results
    from apps.accounts.models import Space

    assert Space.objects.count() == 1
    user.refresh_from_db()
    assert user.space is not None
