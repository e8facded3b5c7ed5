"""Vault pages. Every letter is found through the viewer's space; text only via letter_read."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.access import space_required
from apps.accounts.models import MAX_MEMBERS
from apps.accounts.selectors import members_of, partner_of

from . import selectors, services
from .forms import LetterForm, SealForm
from .models import Letter

MIN_YEAR, MAX_YEAR = 1900, 9000


def _own_letter(request, pk) -> Letter:
    """A letter the viewer wrote, in their space; anything else is a 404."""
    return get_object_or_404(selectors.letters_written_by(request.user), pk=pk)


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Http404("No such year")


@never_cache
@space_required
@sensitive_variables()  # every frame below holds draft titles: keep them out of error reports
@require_GET
def home(request):
    now = timezone.now()
    user = request.user
    drafts = []
    for letter in selectors.drafts_of(user=user):
        try:
            title = services.letter_read(letter=letter, user=user, now=now).title
        except services.VaultError:
            title = None
        drafts.append({"letter": letter, "title": title})
    context = {
        "drafts": drafts,
        "waiting": selectors.waiting_for(user=user, now=now),
        "sealed": selectors.sealed_by(user=user, now=now),
        "years": selectors.opened_years(space=request.space, now=now),
        "opening": selectors.vault_opening(space=request.space, user=user, now=now),
        "partner": partner_of(user),
        "nudge": selectors.nudge_of(user=user),
    }
    return render(request, "vault/home.html", context)


@space_required
@require_POST
def nudge(request):
    enabled = request.POST.get("nudge") == "on"
    services.nudge_set(user=request.user, enabled=enabled, now=timezone.now())
    if enabled:
        messages.success(request, "We'll e-mail you three weeks before each opening day.")
    else:
        messages.success(request, "No more reminders to write.")
    return redirect("vault:home")


@never_cache
@space_required
@sensitive_post_parameters("title", "body")
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def letter_write(request):
    partner = partner_of(request.user)
    form = LetterForm(request.POST or None)
    if partner is not None and request.method == "POST" and form.is_valid():
        try:
            letter = services.letter_create(author=request.user, **form.cleaned_data)
        except services.VaultError as exc:
            messages.error(request, str(exc))
            return redirect("vault:home")
        if "seal" in request.POST:
            return redirect("vault:seal", pk=letter.pk)
        messages.success(request, "Draft saved. Only you can see it.")
        return redirect("vault:edit", pk=letter.pk)
    return render(request, "vault/write.html", {"form": form, "partner": partner, "letter": None})


@never_cache
@space_required
@sensitive_post_parameters("title", "body")
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def letter_edit(request, pk):
    letter = _own_letter(request, pk)
    if not letter.is_draft:
        messages.info(request, "This letter is sealed: it can no longer be changed.")
        return redirect("vault:home")
    if request.method == "POST":
        form = LetterForm(request.POST)
        if form.is_valid():
            try:
                services.letter_update(letter=letter, user=request.user, **form.cleaned_data)
            except services.VaultError as exc:
                messages.error(request, str(exc))
                return redirect("vault:home")
            if "seal" in request.POST:
                return redirect("vault:seal", pk=letter.pk)
            messages.success(request, "Draft saved. Only you can see it.")
            return redirect("vault:edit", pk=letter.pk)
    else:
        try:
            text = services.letter_read(letter=letter, user=request.user, now=timezone.now())
        except services.LetterUnreadable as exc:
            messages.error(request, str(exc))
            form = None
        else:
            form = LetterForm(initial={"title": text.title, "body": text.body})
    return render(
        request,
        "vault/write.html",
        {"form": form, "partner": letter.recipient, "letter": letter},
    )


@never_cache
@space_required
@require_http_methods(["GET", "POST"])
def letter_seal(request, pk):
    letter = _own_letter(request, pk)
    if not letter.is_draft:
        messages.info(request, "This letter is already sealed.")
        return redirect("vault:home")
    now = timezone.now()
    choices = services.opening_choices(space=request.space, now=now)
    form = SealForm(request.POST or None, choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            sealed = services.letter_seal(
                letter=letter,
                user=request.user,
                years_later=form.cleaned_data["years_later"],
                now=now,
            )
        except services.LetterNotFound:
            raise Http404("No such letter") from None
        except services.VaultError as exc:
            messages.error(request, str(exc))
            return redirect("vault:home")
        messages.success(
            request,
            f"Sealed. It will open on {date_format(sealed.opens_on, 'j F Y')}.",
        )
        return redirect("vault:home")
    return render(
        request,
        "vault/seal.html",
        {"form": form, "letter": letter, "partner": letter.recipient},
    )


@never_cache
@space_required
@require_http_methods(["GET", "POST"])
def letter_delete(request, pk):
    letter = _own_letter(request, pk)
    if not letter.is_draft:
        messages.info(request, "A sealed letter cannot be deleted.")
        return redirect("vault:home")
    if request.method == "POST":
        try:
            services.letter_delete(letter=letter, user=request.user)
        except services.VaultError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Draft deleted.")
        return redirect("vault:home")
    return render(request, "vault/delete.html", {"letter": letter})


@space_required
@require_POST
def letter_mark_read(request, pk):
    now = timezone.now()
    letter = selectors.open_letter_for(user=request.user, pk=pk, now=now)
    if letter is None:
        raise Http404("No such letter")
    services.letter_mark_read(letter=letter, user=request.user, now=now)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"read": True})
    return redirect(f"{letter_year_url(letter)}#letter-{letter.pk}")


def letter_year_url(letter: Letter) -> str:
    return reverse("vault:year", args=[letter.opens_on.year])


@sensitive_variables()
def _year_groups(request, letters, now) -> list[dict]:
    """Letters grouped by author, each with its text (or the unreadable notice)."""
    reads = selectors.reads_of(letters)
    groups: dict[int, dict] = {}
    for letter in letters:
        try:
            text = services.letter_read(letter=letter, user=request.user, now=now)
        except services.LetterUnreadable:
            text = None
        except services.VaultError:
            continue
        group = groups.setdefault(letter.author_id, {"author": letter.author, "letters": []})
        group["letters"].append(
            {
                "letter": letter,
                "text": text,
                "read_by_me": reads.get((letter.pk, request.user.pk)),
                "read_by_recipient": reads.get((letter.pk, letter.recipient_id)),
                "mine": letter.author_id == request.user.pk,
            }
        )
    return list(groups.values())


def _not_open_yet(request, year, now):
    waiting = selectors.year_still_sealed(space=request.space, year=year, now=now)
    if waiting:
        return render(request, "vault/year_waiting.html", {"year": year, "waiting": waiting})
    return render(request, "vault/year_empty.html", {"year": year}, status=404)


@never_cache
@space_required
@sensitive_variables()
@require_GET
def year(request, year):
    _check_year(year)
    now = timezone.now()
    letters = selectors.letters_of_year(space=request.space, year=year, now=now)
    if not letters:
        return _not_open_yet(request, year, now)
    context = {
        "year": year,
        "groups": _year_groups(request, letters, now),
        "partner": partner_of(request.user),
    }
    return render(request, "vault/year.html", context)


def _together_state(request, year) -> dict:
    here = set(selectors.presence_in(space=request.space, year=year))
    members = members_of(request.space)
    return {
        "members": [
            {"name": m.name, "here": m.pk in here, "me": m == request.user} for m in members
        ],
        "me_here": request.user.pk in here,
        "both_here": len(members) == MAX_MEMBERS and all(m.pk in here for m in members),
    }


@never_cache
@space_required
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def together(request, year):
    """Open the year's letters together: they show once both partners pressed 'I'm here'."""
    _check_year(year)
    now = timezone.now()
    letters = selectors.letters_of_year(space=request.space, year=year, now=now)
    if not letters:
        return _not_open_yet(request, year, now)
    if request.method == "POST":
        services.presence_arrive(space=request.space, user=request.user, year=year, now=now)
        return redirect("vault:together", year=year)
    state = _together_state(request, year)
    context = {
        "year": year,
        "state": state,
        "groups": _year_groups(request, letters, now) if state["both_here"] else None,
    }
    return render(request, "vault/together.html", context)


@never_cache
@space_required
@require_GET
def together_status(request, year):
    _check_year(year)
    if not selectors.year_has_opened(space=request.space, year=year, now=timezone.now()):
        # Like the page it serves: a year without opened letters is a 404.
        raise Http404("No such year")
    state = _together_state(request, year)
    return JsonResponse(
        {
            "here": [m["name"] for m in state["members"] if m["here"]],
            "me_here": state["me_here"],
            "both_here": state["both_here"],
        }
    )


@never_cache
@space_required
@require_GET
def archive(request):
    years = selectors.archive_of(space=request.space, now=timezone.now())
    return render(request, "vault/archive.html", {"years": years})
