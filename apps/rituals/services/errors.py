"""The rituals app's one exception for refusals."""

from apps.core.errors import KeepsakeError


class RitualError(KeepsakeError):
    """Bad input for a ritual write; the message is safe to show."""
