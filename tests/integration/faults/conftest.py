"""Fixtures of the fault tests (defined in helpers.py)."""

from .helpers import own_redis, publish_to, scripted_smtp, silent_smtp, start_worker  # noqa: F401
