import datetime as dt

from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context as allauth_context
from django import forms
from django.conf import settings

from apps.core.tz import is_valid_zone, zone_choices
from apps.notifications.models import OPTIONAL_CATEGORIES


class ZoneField(forms.ChoiceField):
    def __init__(self, *args, blank_label=None, **kwargs):
        choices = zone_choices()
        if blank_label:
            choices = [("", blank_label), *choices]
        super().__init__(*args, choices=choices, **kwargs)

    def validate(self, value):
        if value and not is_valid_zone(value):
            raise forms.ValidationError("Pick a time zone from the list, e.g. Europe/Berlin.")
        super().validate(value)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class SpaceForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        label="Name of your space",
        help_text="Only the two of you see it, e.g. “Anna & Ben”.",
    )
    time_zone = ZoneField(
        label="Home time zone",
        help_text="Rituals happen and letters open by the clock of this zone.",
    )
    anniversary = forms.DateField(
        label="Anniversary",
        widget=DateInput(),
        help_text="The letter vault opens on this day every year.",
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give your space a name.")
        return name

    def clean_anniversary(self):
        value = self.cleaned_data["anniversary"]
        if not dt.date(1900, 1, 1) <= value <= dt.date(2200, 12, 31):
            raise forms.ValidationError("Enter a real date, e.g. 2019-06-14.")
        return value


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label="Your partner’s e-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=60,
        required=False,
        label="Your name",
        help_text="How Keepsake shows you to your partner.",
    )
    time_zone = ZoneField(
        required=False,
        label="Your time zone",
        blank_label="Same as our space",
        help_text="Times are shown, and reminders sent, by this clock.",
    )

    def clean_display_name(self):
        return self.cleaned_data["display_name"].strip()


class EmailPreferencesForm(forms.Form):
    categories = forms.MultipleChoiceField(
        choices=[(c.value, c.label) for c in OPTIONAL_CATEGORIES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="E-mails I want",
        help_text="Account e-mails (sign-in, password, invitations) are always sent.",
    )


class SignupForm(AllauthSignupForm):
    """allauth's sign-up, plus a display name; on an invite-only host, only the invited address."""

    display_name = forms.CharField(
        max_length=60,
        required=False,
        label="Your name",
        help_text="How Keepsake shows you to your partner. You can change it later.",
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )

    def clean_display_name(self):
        return self.cleaned_data["display_name"].strip()

    def clean_email(self):
        from .adapters import session_invitation

        email = super().clean_email()
        if not settings.KEEPSAKE_OPEN_SIGNUP:
            invitation = session_invitation(allauth_context.request)
            if invitation is None or invitation.email.lower() != email.lower():
                raise forms.ValidationError(
                    "This Keepsake is invite-only: sign up with the address your "
                    "invitation was sent to."
                )
        return email
