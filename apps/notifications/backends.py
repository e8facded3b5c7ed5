"""The embedded default's mailbox: each message becomes a file in a Maildir."""

import mailbox
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class MaildirBackend(BaseEmailBackend):
    def __init__(self, *args, file_path=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.path = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        # Maildir(create=True) makes tmp/ new/ cur/ only for a folder it creates itself,
        # so make all three here: the folder may exist already (made by hand or a tool).
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(self.path, factory=None, create=False)
        count = 0
        for message in email_messages:
            box.add(message.message().as_bytes())
            count += 1
        return count
