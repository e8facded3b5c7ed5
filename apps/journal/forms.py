import datetime as dt
import re

from django import forms

from .models import ENTRY_MAX_CHARS, REPLY_MAX_CHARS, Entry
from .prompts import prompt_get

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class EntryForm(forms.ModelForm):
    text = forms.CharField(
        label="What are you grateful for?",
        max_length=ENTRY_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto", "maxlength": ENTRY_MAX_CHARS}),
        error_messages={
            "required": "Write a few words first.",
            "max_length": "An entry can be at most %(limit_value)s characters "
            "(this one has %(show_value)s).",
        },
    )
    # The prompt on show travels with the form (it may be "another prompt"), but it
    # belongs to the entry only when the writer ticks ``answer_prompt``.
    prompt_key = forms.CharField(required=False, widget=forms.HiddenInput)
    answer_prompt = forms.BooleanField(
        label="I'm answering this prompt",
        required=False,
        help_text="Leave it unticked to write about anything else; "
        "then the prompt stays off your entry.",
    )

    class Meta:
        model = Entry
        fields = ["answer_prompt", "text", "about_partner", "is_private", "prompt_key"]

    def clean(self):
        data = super().clean()
        key = data.get("prompt_key") or ""
        data["prompt_key"] = key if data.get("answer_prompt") and prompt_get(key) else ""
        return data


class EntryEditForm(forms.ModelForm):
    text = EntryForm.base_fields["text"]
    # Only for an entry that has a prompt: untick to take it off.
    answer_prompt = forms.BooleanField(label="This entry answers the prompt", required=False)

    class Meta:
        model = Entry
        fields = ["answer_prompt", "text", "about_partner", "is_private"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        prompt = prompt_get(self.instance.prompt_key)
        if prompt is None:
            del self.fields["answer_prompt"]
        else:
            self.initial.setdefault("answer_prompt", True)
            self.fields["answer_prompt"].help_text = f"“{prompt.text}” Untick to take it off."


class QuickEntryForm(EntryForm):
    """The dashboard's small box: the same fields, a shorter text area."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["answer_prompt"].label = "I'm answering today's prompt"
        self.fields["answer_prompt"].widget.attrs["id"] = "id_quick_answer"
        self.fields["text"].widget.attrs["rows"] = 3
        self.fields["text"].widget.attrs["id"] = "id_quick_text"
        self.fields["is_private"].widget.attrs["id"] = "id_quick_private"
        self.fields["about_partner"].widget.attrs["id"] = "id_quick_about"


class AppreciationForm(forms.Form):
    heart = forms.BooleanField(label="Send a heart", required=False, initial=True)
    reply = forms.CharField(
        label="A short reply",
        required=False,
        max_length=REPLY_MAX_CHARS,
        widget=forms.TextInput(attrs={"dir": "auto", "maxlength": REPLY_MAX_CHARS}),
        error_messages={"max_length": "A reply can be at most %(limit_value)s characters."},
    )

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("heart") and not data.get("reply", "").strip():
            raise forms.ValidationError("Send a heart or write a short reply.")
        return data


MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# The month filter's range: wide enough for any journal (imported ones included),
# narrow enough that month arithmetic never nears the edges of Python's dates.
MONTH_MIN_YEAR = 1900
MONTH_MAX_YEAR = 2999


class JournalFilterForm(forms.Form):
    author = forms.TypedChoiceField(
        label="Written by", required=False, coerce=int, empty_value=None
    )
    month = forms.CharField(
        label="Month",
        required=False,
        widget=forms.DateInput(
            attrs={
                "type": "month",
                "placeholder": "YYYY-MM",
                "min": f"{MONTH_MIN_YEAR}-01",
                "max": f"{MONTH_MAX_YEAR}-12",
            }
        ),
    )
    q = forms.CharField(label="Search", required=False, max_length=200)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["author"].choices = [("", "Both of us")] + [(m.pk, m.name) for m in members]

    def clean_month(self):
        value = (self.cleaned_data.get("month") or "").strip()
        if not value:
            return None
        match = MONTH_RE.match(value)
        if not match:
            raise forms.ValidationError("Pick a month as YYYY-MM.")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise forms.ValidationError("Pick a month as YYYY-MM.")
        if not MONTH_MIN_YEAR <= year <= MONTH_MAX_YEAR:
            raise forms.ValidationError(f"Pick a month from {MONTH_MIN_YEAR} to {MONTH_MAX_YEAR}.")
        return dt.date(year, month, 1)


class JournalSettingsForm(forms.Form):
    weekdays = forms.TypedMultipleChoiceField(
        label="Nudge me on",
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="A short e-mail inviting you to write. We skip the nudge on a day "
        "you've already written; the next one still comes on your next chosen day. "
        "Leave all unticked for none.",
    )
    nudge_time = forms.TimeField(
        label="At (your local time)",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    digest_enabled = forms.BooleanField(
        label="Send me a weekly digest of my partner's shared entries (Sunday evening)",
        required=False,
    )

    def clean(self):
        data = super().clean()
        missing_time = data.get("nudge_time") is None and "nudge_time" not in self.errors
        if data.get("weekdays") and missing_time:
            self.add_error("nudge_time", "Pick a time for the nudges.")
        return data
