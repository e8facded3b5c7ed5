"""Rendering an e-mail: ``templates/emails/<name>_subject.txt``, ``_message.txt`` and
``_message.html``, with a plain Django context (healthchecks' ``hc/lib/emails.py``).

The subject is one line: whatever the template's line breaks, they fold into spaces.
"""

from __future__ import annotations

from django.template.loader import render_to_string


def subject_render(template: str, context: dict) -> str:
    text = render_to_string(f"emails/{template}_subject.txt", context)
    return " ".join(text.split())[:255]


def body_render(template: str, context: dict) -> tuple[str, str]:
    """(text part, HTML part)."""
    return (
        render_to_string(f"emails/{template}_message.txt", context),
        render_to_string(f"emails/{template}_message.html", context),
    )


def email_render(template: str, context: dict) -> tuple[str, str, str]:
    """(subject, text part, HTML part)."""
    return (subject_render(template, context), *body_render(template, context))
