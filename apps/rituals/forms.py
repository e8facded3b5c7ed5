from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.tz import local_today

from .models import CheckIn, ReminderPreference, Ritual
from .recurrence import FREQUENCIES, ORDINALS, WEEKDAYS, rrule_from_answers, rrule_validate
from .reminding import DEFAULT_MINUTES, MAX_LEAD_MINUTES

# How far from today a start date may lie: dateutil walks a monthly or yearly rule from
# its start on every question, so a start in year 1 costs thousands of steps each time.
STARTS_ON_YEARS = 10


def _years_from(day: dt.date, years: int) -> dt.date:
    """The same date ``years`` later (or earlier); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class RitualForm(forms.Form):
    title = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    participation = forms.ChoiceField(
        choices=Ritual.Participation.choices, initial=Ritual.Participation.BOTH
    )
    giver = forms.ModelChoiceField(
        queryset=None, required=False, label="Who gives", help_text="Only for “one gives”."
    )
    freq = forms.ChoiceField(label="How often", choices=FREQUENCIES, initial="weekly")
    interval = forms.IntegerField(
        label="Every how many (days, weeks, months or years)",
        min_value=1,
        max_value=52,
        initial=1,
    )
    weekdays = forms.MultipleChoiceField(
        label="On these weekdays (weekly)",
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    month_day = forms.IntegerField(
        label="Day of the month (monthly on a day)", min_value=1, max_value=31, required=False
    )
    nth = forms.TypedChoiceField(
        label="Which one (monthly on a weekday)",
        choices=ORDINALS,
        coerce=int,
        required=False,
        initial=1,
    )
    nth_weekday = forms.ChoiceField(
        label="Weekday (monthly on a weekday)", choices=WEEKDAYS, required=False
    )
    starts_on = forms.DateField(
        label="Starting on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    time_of_day = forms.TimeField(
        label="At (your space's time)",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    duration_minutes = forms.IntegerField(
        label="Duration in minutes (optional)", min_value=1, max_value=24 * 60, required=False
    )
    is_conversation = forms.BooleanField(
        label="A conversation ritual (reminders bring a question to talk about)", required=False
    )
    custom_rule = forms.CharField(
        label="Advanced: a recurrence rule (RRULE) instead of the choices above",
        required=False,
        max_length=300,
        help_text="For example FREQ=MONTHLY;BYDAY=-1FR (the last Friday of each month).",
    )

    def __init__(self, *args, space, starts_on_was: dt.date | None = None, **kwargs):
        """``starts_on_was``: the edited ritual's start, kept even when it is now old."""
        super().__init__(*args, **kwargs)
        self.space = space
        self.starts_on_was = starts_on_was
        self.fields["giver"].queryset = space.members.all()
        self.fields["giver"].label_from_instance = lambda u: u.name

    @classmethod
    def initial_for(cls, ritual: Ritual) -> dict:
        answers = ritual.recurrence or {}
        initial = {
            "title": ritual.title,
            "description": ritual.description,
            "participation": ritual.participation,
            "giver": ritual.giver_id,
            "starts_on": ritual.starts_on,
            "time_of_day": ritual.time_of_day,
            "duration_minutes": ritual.duration_minutes,
            "is_conversation": ritual.is_conversation,
        }
        if answers.get("freq"):
            initial.update({k: v for k, v in answers.items() if k != "custom"})
        if answers.get("custom") or not answers.get("freq"):
            initial["custom_rule"] = ritual.rrule
        return initial

    def clean_starts_on(self):
        starts_on = self.cleaned_data["starts_on"]
        if starts_on == self.starts_on_was:
            return starts_on
        today = local_today(self.space.time_zone, timezone.now())
        earliest, latest = _years_from(today, -STARTS_ON_YEARS), _years_from(today, STARTS_ON_YEARS)
        if not earliest <= starts_on <= latest:
            raise ValidationError(
                f"Choose a start date within {STARTS_ON_YEARS} years of today "
                f"(between {earliest:%-d %B %Y} and {latest:%-d %B %Y})."
            )
        return starts_on

    def clean(self):
        data = super().clean()
        if data.get("participation") == Ritual.Participation.GIVES and not data.get("giver"):
            self.add_error("giver", "Choose which of you gives.")
        starts_on = data.get("starts_on")
        if starts_on is None or self.errors.get("freq") or self.errors.get("interval"):
            return data
        custom = (data.get("custom_rule") or "").strip()
        answers = {
            "freq": data.get("freq"),
            "interval": data.get("interval") or 1,
            "weekdays": data.get("weekdays") or [],
            "month_day": data.get("month_day"),
            "nth": data.get("nth"),
            "nth_weekday": data.get("nth_weekday"),
        }
        field = "custom_rule" if custom else "freq"
        try:
            if custom:
                rule = rrule_validate(custom, starts_on)
                answers = {"custom": True}
            else:
                if answers["freq"] == "weekly" and not answers["weekdays"]:
                    self.add_error("weekdays", "Choose at least one weekday.")
                    return data
                if answers["freq"] == "monthly_day" and not answers["month_day"]:
                    self.add_error("month_day", "Choose a day of the month.")
                    return data
                if answers["freq"] == "monthly_nth" and not answers["nth_weekday"]:
                    self.add_error("nth_weekday", "Choose a weekday.")
                    return data
                rule = rrule_validate(rrule_from_answers(answers, starts_on), starts_on)
        except ValidationError as exc:
            self.add_error(field, exc)
            return data
        data["rrule"] = rule
        data["recurrence"] = answers
        return data

    def ritual_fields(self) -> dict:
        d = self.cleaned_data
        return {
            "title": d["title"].strip(),
            "description": d["description"].strip(),
            "participation": d["participation"],
            "giver": d.get("giver"),
            "rrule": d["rrule"],
            "recurrence": d["recurrence"],
            "starts_on": d["starts_on"],
            "time_of_day": d["time_of_day"].replace(second=0, microsecond=0),
            "duration_minutes": d.get("duration_minutes"),
            "is_conversation": d.get("is_conversation", False),
        }

    def preview_ritual(self) -> Ritual:
        """An unsaved ritual from the answers, for the occurrence preview."""
        return Ritual(space=self.space, **{**self.ritual_fields(), "giver": None})


class ReminderPreferenceForm(forms.Form):
    kind = forms.ChoiceField(label="Remind me", choices=ReminderPreference.Kind.choices)
    minutes_before = forms.IntegerField(
        label="Minutes before (for “some minutes before”)",
        min_value=0,
        max_value=MAX_LEAD_MINUTES,
        initial=DEFAULT_MINUTES,
        required=False,
    )

    def __init__(self, *args, allow_default: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if allow_default:
            self.fields["kind"].choices = [
                ("", "As in my default"),
                *ReminderPreference.Kind.choices,
            ]
            self.fields["kind"].required = False

    def clean_minutes_before(self):
        value = self.cleaned_data.get("minutes_before")
        return DEFAULT_MINUTES if value is None else value


class CheckInForm(forms.Form):
    day = forms.DateField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=CheckIn.Status.choices, widget=forms.RadioSelect)
    note = forms.CharField(label="A note (optional)", required=False, max_length=500)
    feeling = forms.ChoiceField(
        label="How did it feel?", choices=CheckIn.Feeling.choices, required=False
    )

    def clean_day(self):
        day = self.cleaned_data["day"]
        if not isinstance(day, dt.date):
            raise ValidationError("Choose a day.")
        return day
