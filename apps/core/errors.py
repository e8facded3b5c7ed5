"""The one exception base of Keepsake's own errors.

Each app raises its own subclass (``RitualError``, ``JournalError``, …) for bad input or a
refused action; the message is written for the person and safe to show. Views catch the
app's class and show the message; nothing below a view catches ``KeepsakeError`` broadly.
"""


class KeepsakeError(ValueError):
    """A refusal whose message is safe to show to the person who asked."""
