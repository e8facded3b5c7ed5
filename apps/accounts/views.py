from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.notifications.services import failed_emails_for, preferences_set

from . import selectors, services
from .access import space_required
from .adapters import INVITATION_SESSION_KEY
from .forms import EmailPreferencesForm, InvitationForm, ProfileForm, SpaceForm
from .models import MAX_MEMBERS


@login_required
@require_http_methods(["GET", "POST"])
def space_create(request):
    if request.user.space_id:
        return redirect("home:dashboard")
    form = SpaceForm(request.POST or None, initial={"time_zone": request.user.zone})
    if request.method == "POST" and form.is_valid():
        try:
            services.space_create(user=request.user, **form.cleaned_data)
        except services.SpaceError as exc:
            messages.error(request, str(exc))
            return redirect("home:dashboard")
        messages.success(request, "Your space is ready. Now invite your partner.")
        return redirect("accounts:space")
    return render(request, "accounts/space_create.html", {"form": form})


def _space_form(request, data=None):
    space = request.space
    return SpaceForm(
        data,
        initial={
            "name": space.name,
            "time_zone": space.time_zone,
            "anniversary": space.anniversary,
        },
    )


def _space_page(request, *, form, invite_form=None):
    space = request.space
    members = selectors.members_of(space)
    room = len(members) < MAX_MEMBERS
    return render(
        request,
        "accounts/space.html",
        {
            "form": form,
            "members": members,
            "invitation": selectors.pending_invitation(space) if room else None,
            "invite_form": (invite_form or InvitationForm()) if room else None,
        },
    )


@space_required
@require_http_methods(["GET", "POST"])
def space_detail(request):
    form = _space_form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.space_update(space=request.space, **form.cleaned_data)
        messages.success(request, "Space settings saved.")
        return redirect("accounts:space")
    return _space_page(request, form=form)


@space_required
@require_POST
def invitation_send(request):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            services.invitation_create(
                space=request.space, invited_by=request.user, email=form.cleaned_data["email"]
            )
        except services.SpaceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
        return redirect("accounts:space")
    # The error goes next to the address field, on the page the form came from.
    return _space_page(request, form=_space_form(request), invite_form=form)


@space_required
@require_POST
def invitation_revoke(request, pk):
    invitation = get_object_or_404(selectors.invitations_visible_to(request.user), pk=pk)
    services.invitation_revoke(space=request.space, invitation_id=invitation.pk)
    messages.info(request, "Invitation withdrawn; its link no longer works.")
    return redirect("accounts:space")


@require_http_methods(["GET", "POST"])
def invitation(request, token):
    """The link from the invitation e-mail. GET only shows; joining is a POST."""
    found = services.invitation_find(token)
    user = request.user if request.user.is_authenticated else None
    if found is not None and user is not None and user.space_id == found.space_id:
        # Clicking the link again after joining: nothing to do, no error to show.
        request.session.pop(INVITATION_SESSION_KEY, None)
        return redirect("home:dashboard")
    problem = services.invitation_problem(found, user=user)
    if problem:
        # Unknown link: 404. Used, withdrawn or expired: 410. Usable, but not by
        # the account signed in (another address, already in a space): 403.
        status = 404 if found is None else 410 if not found.is_usable() else 403
        if user is not None and request.session.get(INVITATION_SESSION_KEY) == token:
            # Shown once; later sign-ins should not keep landing here.
            del request.session[INVITATION_SESSION_KEY]
        return render(
            request,
            "accounts/invitation_problem.html",
            {"problem": problem, "invitation": found, "can_switch_account": status == 403},
            status=status,
        )
    if user is None:
        # Remember the invitation through sign-up or sign-in. Signing up with the
        # invited address needs no second verification e-mail (see the adapter).
        request.session[INVITATION_SESSION_KEY] = token
        return render(request, "accounts/invitation.html", {"invitation": found})
    if request.method == "POST":
        try:
            space = services.invitation_accept(user=user, token=token)
        except services.SpaceError as exc:
            messages.error(request, str(exc))
            return redirect("home:dashboard")
        request.session.pop(INVITATION_SESSION_KEY, None)
        messages.success(request, f"Welcome to {space.name}.")
        return redirect("home:dashboard")
    return render(request, "accounts/invitation.html", {"invitation": found})


@login_required
@require_safe
def invitation_pending(request):
    token = request.session.get(INVITATION_SESSION_KEY)
    if not token:
        return redirect("home:dashboard")
    return redirect("accounts:invitation", token=token)


@login_required
@require_http_methods(["GET", "POST"])
def user_settings(request):
    user = request.user
    profile_form = ProfileForm(
        request.POST if request.POST.get("form") == "profile" else None,
        initial={"display_name": user.display_name, "time_zone": user.time_zone},
    )
    prefs_form = EmailPreferencesForm(
        request.POST if request.POST.get("form") == "emails" else None,
        initial={"categories": selectors.email_categories_of(user)},
    )
    if request.method == "POST":
        if profile_form.is_bound and profile_form.is_valid():
            services.profile_update(user=user, **profile_form.cleaned_data)
            messages.success(request, "Your settings are saved.")
            return redirect("accounts:settings")
        if prefs_form.is_bound and prefs_form.is_valid():
            preferences_set(user=user, enabled=prefs_form.cleaned_data["categories"])
            messages.success(request, "Your e-mail choices are saved.")
            return redirect("accounts:settings")
    return render(
        request,
        "accounts/settings.html",
        {
            "profile_form": profile_form,
            "prefs_form": prefs_form,
            "failed_emails": failed_emails_for(user=user),
        },
    )


@login_required
@require_POST
def test_email(request):
    if services.email_test_send(user=request.user):
        messages.success(request, f"A test e-mail is on its way to {request.user.email}.")
    else:
        messages.info(request, "A test e-mail was sent less than a minute ago.")
    return redirect("accounts:settings")
