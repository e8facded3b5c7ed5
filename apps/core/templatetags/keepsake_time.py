"""``{% local_time %}`` and ``{% countdown %}``: the page side of ``apps.core.humanize``.

The viewer's zone is the active one (``SpaceMiddleware`` activates the signed-in
partner's zone); pass ``zone=`` to override it, e.g. for an e-mail.

    {% load keepsake_time %}
    {% local_time at space.time_zone %}     Thu 3 Dec, 07:30 (home time: Wed 2 Dec, 21:30)
    {% local_time at home date="l j F" %}   Thursday 3 December, 07:30 (home time: …)
    {% local_time at home date="" %}        07:30 (home time: Wed 2 Dec, 21:30)
    {% countdown opening_at %}              in 35 minutes
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from apps.core import humanize

register = template.Library()


@register.simple_tag
def local_time(instant, home, *, zone=None, date="D j M", time="H:i", sep=", "):
    if not instant:
        return ""
    return humanize.local_and_home(
        instant,
        zone=zone or timezone.get_current_timezone(),
        home=home,
        date_format=date or None,
        time_format=time,
        sep=sep,
    )


@register.simple_tag
def countdown(instant, *, zone=None):
    if not instant:
        return ""
    return humanize.countdown(instant, timezone.now(), zone or timezone.get_current_timezone())
