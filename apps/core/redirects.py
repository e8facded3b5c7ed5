"""The one way a view follows a ``next`` it was given: only to a path on this site."""

from __future__ import annotations

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, fallback: str = "") -> str:
    """The posted ``next`` if it is a path on this host, else ``fallback``.

    Only a path: ``redirect()`` would take any other string for a view name (a 500),
    and Django's check keeps out ``//host``, ``/\\host`` and other schemes.
    """
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
