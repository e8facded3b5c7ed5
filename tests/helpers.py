"""Assertions shared across the suite."""

from __future__ import annotations

import email.message
from collections.abc import Iterable


def email_parts(message_or_row) -> tuple[str, str, str]:
    """(subject, text part, HTML part) of an e-mail, whichever form it is in: a message
    Django sent (``mail.outbox``), one the test SMTP server received, or an outbox row."""
    if isinstance(message_or_row, email.message.EmailMessage):  # what a server received
        text = message_or_row.get_body(("plain",))
        html = message_or_row.get_body(("html",))
        return (
            str(message_or_row["Subject"]),
            text.get_content() if text else "",
            html.get_content() if html else "",
        )
    if hasattr(message_or_row, "alternatives"):  # a Django message
        html = next((c for c, mime in message_or_row.alternatives if mime == "text/html"), "")
        return message_or_row.subject, message_or_row.body, html
    return message_or_row.subject, message_or_row.body_text, message_or_row.body_html


def assert_email(
    message_or_row,
    *,
    subject: str | None = None,
    text: Iterable[str] = (),
    html: Iterable[str] = (),
    absent: Iterable[str] = (),
) -> None:
    """Check an e-mail's subject, text part and HTML part in one go (healthchecks'
    ``assertEmailContains``): ``subject`` exactly, each of ``text`` in the text part,
    each of ``html`` in the HTML part, and none of ``absent`` anywhere."""
    got_subject, got_text, got_html = email_parts(message_or_row)
    problems = []
    if subject is not None and got_subject != subject:
        problems.append(f"subject is {got_subject!r}, not {subject!r}")
    problems += [f"text part lacks {s!r}" for s in text if s not in got_text]
    problems += [f"HTML part lacks {s!r}" for s in html if s not in got_html]
    everything = "\n".join((got_subject, got_text, got_html))
    problems += [f"{s!r} is in the e-mail" for s in absent if s in everything]
    assert not problems, "; ".join(problems) + f"\n--- text part:\n{got_text}"
