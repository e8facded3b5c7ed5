"""Reading the embedded default's local mailbox (var/mail/)."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from django.conf import settings


@dataclass
class LocalMessage:
    key: str
    to: str
    subject: str
    date: object
    text: str
    html: str


def local_messages(path: str | None = None) -> list[LocalMessage]:
    folder = Path(path or settings.EMAIL_FILE_PATH)
    if not (folder / "cur").exists() and not (folder / "new").exists():
        return []
    box = mailbox.Maildir(folder, factory=None, create=False)
    out = []
    for key in box.iterkeys():
        with box.get_file(key) as fh:
            msg = BytesParser(policy=policy.default).parse(fh)
        text_part = msg.get_body(preferencelist=("plain",))
        html_part = msg.get_body(preferencelist=("html",))
        try:
            date = parsedate_to_datetime(msg["Date"])
        except (TypeError, ValueError):
            date = None
        out.append(
            LocalMessage(
                key=key,
                to=str(msg["To"]),
                subject=str(msg["Subject"]),
                date=date,
                text=text_part.get_content() if text_part else "",
                html=html_part.get_content() if html_part else "",
            )
        )
    out.sort(key=lambda m: (m.date is None, m.date), reverse=True)
    return out
