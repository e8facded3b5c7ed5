from django.conf import settings
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from apps.accounts.access import space_required
from apps.accounts.selectors import members_of, partner_of
from apps.journal.forms import QuickEntryForm
from apps.journal.selectors import dashboard_journal
from apps.rituals.selectors import dashboard_rituals
from apps.vault.selectors import dashboard_vault


@require_safe
def landing(request):
    if request.user.is_authenticated:
        return redirect("home:dashboard")
    return render(request, "home/landing.html", {"open_signup": settings.KEEPSAKE_OPEN_SIGNUP})


@space_required
@require_safe
def dashboard(request):
    """The space at a glance; each feature contributes one selector's worth."""
    space = request.space
    members = members_of(space)
    journal = dashboard_journal(space=space, user=request.user)
    context = {
        "space": space,
        "members": members,
        "partner": partner_of(request.user, members=members),
        "rituals": dashboard_rituals(space=space, user=request.user),
        "journal": journal,
        # The quick entry answers today's prompt (if the writer ticks the box).
        "journal_form": QuickEntryForm(initial={"prompt_key": journal["prompt"].key}),
        "vault": dashboard_vault(space=space, user=request.user),
    }
    return render(request, "home/dashboard.html", context)
