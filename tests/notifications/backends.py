"""A mail backend for tests that need something to happen while a message goes out."""

from __future__ import annotations

from django.core.mail.backends.smtp import EmailBackend


class HookedSmtpBackend(EmailBackend):
    """Django's SMTP backend that calls ``before_send(message)`` first, if set (a slow
    server, another pass stepping in, a worker dying mid-batch)."""

    before_send = None

    def send_messages(self, email_messages):
        for message in email_messages:
            if HookedSmtpBackend.before_send is not None:
                HookedSmtpBackend.before_send(message)
        return super().send_messages(email_messages)
