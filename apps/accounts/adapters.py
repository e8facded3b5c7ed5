import uuid
from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from apps.notifications.services import email_enqueue_message

from . import services
from .models import Invitation

INVITATION_SESSION_KEY = "keepsake_invitation"


def session_invitation(request) -> Invitation | None:
    """The still-usable invitation whose link this browser opened, if any."""
    if request is None or not hasattr(request, "session"):
        return None
    invitation = services.invitation_find(request.session.get(INVITATION_SESSION_KEY))
    if services.invitation_problem(invitation):
        return None
    return invitation


def _links_on_site_url(context: dict, request) -> dict:
    """allauth builds its links (confirm, reset, sign up) from the request's host; every
    other e-mail links to ``KEEPSAKE_BASE_URL``. Rebase them on it, so a request that
    came in by another name (an internal host, a proxy that rewrote the Host header)
    never sends a partner a link they cannot open."""
    if request is None:
        return context
    origin = request.build_absolute_uri("/")
    return {
        key: settings.SITE_URL + "/" + value[len(origin) :]
        if isinstance(value, str) and value.startswith(origin)
        else value
        for key, value in context.items()
    }


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        """Invite-only hosts still let the holder of a valid invitation sign up."""
        if settings.KEEPSAKE_OPEN_SIGNUP:
            return True
        return session_invitation(request) is not None

    def send_mail(self, template_prefix, email, context):
        """allauth's e-mails go through the outbox like every other e-mail."""
        request = allauth_context.request
        ctx = {
            "request": request,
            "email": email,
            # allauth's texts greet with the site's name and domain.
            "current_site": SimpleNamespace(
                name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc
            ),
            "site_url": settings.SITE_URL,
            **_links_on_site_url(context, request),
        }
        message = self.render_mail(template_prefix, email, ctx)
        user = get_user_model().objects.filter(email__iexact=email).first()
        email_enqueue_message(
            message=message,
            dedupe_key=f"allauth:{template_prefix.rsplit('/', 1)[-1]}:{uuid.uuid4().hex}",
            template=template_prefix.rsplit("/", 1)[-1],
            user=user,
        )

    def save_user(self, request, user, form, commit=True):
        user.display_name = form.cleaned_data.get("display_name", "")
        user = super().save_user(request, user, form, commit=commit)
        token = request.session.get(INVITATION_SESSION_KEY)
        if commit and token:
            invitation = services.invitation_find(token)
            if not services.invitation_problem(invitation, user=user):
                # Signing up through the link is the intent to join.
                try:
                    services.invitation_accept(user=user, token=token)
                except services.SpaceError:
                    # Lost a race (e.g. the space filled up): the account stays,
                    # and the invitation page explains what happened.
                    return user
                request.session.pop(INVITATION_SESSION_KEY, None)
                # The link arrived at this address, so it is verified: allauth
                # marks it so and sends no second e-mail.
                self.stash_verified_email(request, invitation.email)
        return user

    def get_login_redirect_url(self, request):
        if request.session.get(INVITATION_SESSION_KEY):
            return reverse("accounts:invitation_pending")
        return super().get_login_redirect_url(request)
