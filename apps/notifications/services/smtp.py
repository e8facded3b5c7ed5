"""The mail server, as the delivery pass sees it: one connection for a whole pass,
through the configured backend's public ``open()`` / ``send_messages()`` / ``close()``
(SMTP in production, the local Maildir by default, locmem in tests).
"""

from __future__ import annotations

import logging
import smtplib

from django.core.mail import EmailMessage, get_connection

from apps.core.errors import KeepsakeError

logger = logging.getLogger(__name__)


class PermanentFailure(KeepsakeError):
    """The server refused the message for good (5xx): retrying will not help. The
    message is the server's reply, shown in the admin and on the partner's settings."""


# What a send or a connection attempt raises when the server is the problem.
SEND_ERRORS = (smtplib.SMTPException, OSError)


def classify(exc: Exception) -> Exception:
    """An SMTP error as PermanentFailure (5xx), or as it is (temporary)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentFailure(f"Recipient refused: {exc.recipients}")
    elif isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        msg = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return PermanentFailure(f"{exc.smtp_code} {msg}")
    return exc


class SmtpSession:
    """One backend connection for a delivery pass, reopened after a failed message."""

    def __init__(self) -> None:
        self.connection = get_connection(fail_silently=False)
        self.opened = False
        # Set when the server could not be reached: the pass stops claiming rows.
        self.unreachable = False

    def open(self) -> None:
        if not self.opened:
            self.connection.open()
            self.opened = True

    def send(self, message: EmailMessage) -> None:
        """Send one message; raises what the backend raises (smtplib's errors)."""
        self.connection.send_messages([message])

    def reset(self) -> None:
        """After an error the connection may be broken: the next message opens a new one."""
        try:
            self.connection.close()
        except Exception:  # a failing QUIT on a broken link: nothing useful to do
            logger.debug("Closing the mail connection failed", exc_info=True)
        self.opened = False

    def close(self) -> None:
        if self.opened:
            self.reset()
