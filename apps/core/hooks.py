"""Tell feature apps about account events without accounts importing them.

Dependencies point from the features to accounts, so accounts cannot call
``apps.rituals`` directly. Instead it names an event, and ``settings.KEEPSAKE_HOOKS``
lists the callables (dotted paths) that follow it, called with keyword arguments
inside the caller's transaction: if a hook fails, the change it followed rolls back.
"""

from django.conf import settings
from django.utils.module_loading import import_string


def hooks_run(event: str, **kwargs) -> None:
    for path in settings.KEEPSAKE_HOOKS.get(event, []):
        import_string(path)(**kwargs)
