from allauth.core import ratelimit
from django import forms


class PasswordConfirmForm(forms.Form):
    """Re-enter the password before an action that cannot be undone.

    Attempts count against allauth's "reauthenticate" rate limit (per user), so a
    session left open cannot be used to guess the password here.
    """

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = request.user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not ratelimit.consume(self.request, action="reauthenticate", user=self.user):
            raise forms.ValidationError("Too many tries. Wait a minute, then try again.")
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password
