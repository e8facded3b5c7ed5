import pytest

from apps.journal import services


@pytest.fixture
def bob_client(client, bob):
    from django.test import Client

    c = Client()
    c.force_login(bob)
    return c


@pytest.fixture
def write():
    """Write an entry through the service, the way the views do."""

    def _write(author, text="Grateful for the tea you made.", **kwargs):
        return services.entry_create(author=author, text=text, **kwargs)

    return _write


@pytest.fixture
def run_pass(django_capture_on_commit_callbacks):
    """Run the nudge pass and deliver what it queued (on-commit callbacks executed)."""

    def _run(now):
        with django_capture_on_commit_callbacks(execute=True):
            return services.nudges_schedule_due(now=now)

    return _run


@pytest.fixture
def client_of(db):
    """A signed-in test client for any user: ``client_of(pair.actor)``."""
    from django.test import Client

    def _client(user):
        c = Client()
        c.force_login(user)
        return c

    return _client
