from django import forms
from django.utils.dateformat import format as date_format

from .models import BODY_MAX, TITLE_MAX


class LetterForm(forms.Form):
    title = forms.CharField(
        label="Title",
        max_length=TITLE_MAX,
        help_text="Only you can see it until the letter opens.",
    )
    body = forms.CharField(
        label="Your letter",
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text="Write as much as you like. A draft stays yours until you seal it.",
    )


_LATER = {
    0: "your next anniversary",
    1: "one anniversary later",
    2: "two anniversaries later",
    5: "five anniversaries later",
    10: "ten anniversaries later",
}


class SealForm(forms.Form):
    years_later = forms.TypedChoiceField(
        label="Open it on",
        coerce=int,
        widget=forms.RadioSelect,
        initial=0,
    )
    confirm = forms.BooleanField(
        label=(
            "I understand that sealing cannot be undone: nobody, not even I, can read, "
            "change or delete this letter before that day."
        ),
        error_messages={"required": "Tick this box to seal the letter."},
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["years_later"].choices = [
            (n, f"{date_format(day, 'j F Y')} — {_LATER[n]}") for n, day in choices
        ]
