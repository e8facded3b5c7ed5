from django import template

from apps.journal.prompts import prompt_get

register = template.Library()


@register.simple_tag
def prompt_text(key):
    """The wording of a stored prompt key (blank for an unknown or retired key)."""
    prompt = prompt_get(key)
    return prompt.text if prompt else ""
