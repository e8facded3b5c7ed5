from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.access import space_required
from apps.accounts.selectors import members_of
from apps.core.redirects import safe_next
from apps.notifications.models import Category
from apps.notifications.services import is_subscribed

from . import selectors, services
from .forms import (
    AppreciationForm,
    EntryEditForm,
    EntryForm,
    JournalFilterForm,
    JournalSettingsForm,
)
from .prompts import prompt_get


@space_required
@require_http_methods(["GET", "HEAD"])
def journal_index(request):
    user = request.user
    members = members_of(request.space)
    filters = JournalFilterForm(request.GET or None, members=members)
    author_id = month = None
    query = ""
    if filters.is_bound:
        filters.is_valid()  # invalid fields show an error and are ignored
        data = filters.cleaned_data
        author_id = data.get("author")
        month = data.get("month")
        query = (data.get("q") or "").strip()
    is_first_page = request.GET.get("page") in (None, "", "1")
    new_since = services.journal_visit_record(user=user) if is_first_page else None
    result = selectors.journal_page(
        user=user,
        author_id=author_id,
        month=month,
        query=query,
        page_number=request.GET.get("page") or 1,
        new_since=new_since,
    )
    today = selectors.space_today(request.space)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "journal/index.html",
        {
            "filters": filters,
            "result": result,
            "page_obj": result.page,
            "entries": result.page.object_list,
            "query": query,
            "filtered": bool(author_id or month or query),
            "querystring": params.urlencode(),
            "on_this_day": selectors.on_this_day(user=user, today=today),
            "chart": selectors.monthly_counts(user=user, members=members, today=today),
            "prompt": selectors.today_prompt(space=request.space),
        },
    )


@space_required
@require_http_methods(["GET", "HEAD", "POST"])
def entry_write(request):
    try:
        offset = max(0, min(int(request.GET.get("another", 0)), 1000))
    except ValueError:
        offset = 0
    prompt = selectors.today_prompt(space=request.space, offset=offset)
    # "Answer it" under a prompt is the writer's choice: the box comes ticked.
    answer = request.GET.get("answer") == "1"
    form = EntryForm(
        request.POST or None, initial={"prompt_key": prompt.key, "answer_prompt": answer}
    )
    # Where the writer came from (the dashboard's quick entry), if it is on this site.
    back = safe_next(request, "") if request.method == "POST" else ""
    if request.method == "POST":
        prompt = prompt_get(request.POST.get("prompt_key")) or None
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = services.entry_create(
                    author=request.user,
                    text=data["text"],
                    about_partner=data["about_partner"],
                    is_private=data["is_private"],
                    prompt_key=data["prompt_key"],
                )
            except services.JournalError as exc:
                form.add_error("text", str(exc))
            else:
                messages.success(
                    request,
                    "Saved, just for you." if entry.is_private else "Saved and shared.",
                )
                return redirect(back or reverse("journal:index"))
    return render(
        request,
        "journal/write.html",
        {
            "form": form,
            "prompt": prompt,
            "next_offset": offset + 1,
            "answer": answer,
            "next": back,
        },
    )


def _entry_context(request, entry, appreciation_form=None):
    mine = entry.author_id == request.user.pk
    own_appreciation = None
    if not mine:
        own_appreciation = next(
            (a for a in entry.appreciations.all() if a.from_user_id == request.user.pk), None
        )
    if appreciation_form is None and not mine:
        initial = {"heart": True}
        if own_appreciation:
            initial = {"heart": own_appreciation.heart, "reply": own_appreciation.reply}
        appreciation_form = AppreciationForm(initial=initial)
    return {
        "entry": entry,
        "mine": mine,
        "prompt": prompt_get(entry.prompt_key),
        "appreciation_form": appreciation_form,
        "own_appreciation": own_appreciation,
    }


def _visible_entry_or_404(request, pk):
    qs = selectors.entries_visible_to(request.user).select_related("author")
    qs = qs.prefetch_related("appreciations__from_user")
    return get_object_or_404(qs, pk=pk)


@space_required
@require_http_methods(["GET", "HEAD"])
def entry_detail(request, pk):
    entry = _visible_entry_or_404(request, pk)
    return render(request, "journal/entry.html", _entry_context(request, entry))


@space_required
@require_http_methods(["GET", "HEAD", "POST"])
def entry_edit(request, pk):
    entry = get_object_or_404(selectors.entries_editable_by(request.user), pk=pk)
    form = EntryEditForm(request.POST or None, instance=entry)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.entry_update(
                entry=entry,
                user=request.user,
                text=data["text"],
                about_partner=data["about_partner"],
                is_private=data["is_private"],
                keep_prompt=data.get("answer_prompt", False),
            )
        except services.JournalError as exc:
            form.add_error("text", str(exc))
        else:
            messages.success(request, "Entry updated.")
            return redirect("journal:entry", pk=entry.pk)
    return render(request, "journal/edit.html", {"form": form, "entry": entry})


@space_required
@require_http_methods(["GET", "HEAD", "POST"])
def entry_delete(request, pk):
    entry = get_object_or_404(selectors.entries_editable_by(request.user), pk=pk)
    if request.method == "POST":
        services.entry_delete(entry=entry, user=request.user)
        messages.success(request, "Entry deleted.")
        return redirect("journal:index")
    return render(request, "journal/delete.html", {"entry": entry})


@space_required
@require_POST
def entry_appreciate(request, pk):
    entry = _visible_entry_or_404(request, pk)
    if entry.author_id == request.user.pk:
        # Your own entry has no reply form; a forged post changes nothing.
        return render(request, "journal/entry.html", _entry_context(request, entry), status=400)
    form = AppreciationForm(request.POST)
    if form.is_valid():
        try:
            services.entry_appreciate(
                entry=entry,
                user=request.user,
                heart=form.cleaned_data["heart"],
                reply=form.cleaned_data["reply"],
            )
        except services.JournalError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Sent to {entry.author.name}.")
            fallback = reverse("journal:entry", args=[entry.pk])
            return redirect(safe_next(request, fallback))
    return render(request, "journal/entry.html", _entry_context(request, entry, form), status=400)


@space_required
@require_http_methods(["GET", "HEAD", "POST"])
def journal_settings(request):
    profile = selectors.journal_profile_of(request.user)
    initial = {}
    if profile:
        initial = {
            "weekdays": profile.weekdays,
            "nudge_time": profile.nudge_time,
            "digest_enabled": profile.digest_enabled,
        }
    form = JournalSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.journal_settings_update(
                user=request.user,
                weekdays=data["weekdays"],
                nudge_time=data["nudge_time"],
                digest_enabled=data["digest_enabled"],
            )
        except services.JournalError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Journal e-mail settings saved.")
            return redirect("journal:settings")
    return render(
        request,
        "journal/settings.html",
        {
            "form": form,
            "profile": profile,
            "nudge": selectors.nudge_outlook(user=request.user, profile=profile),
            "journal_mail_on": is_subscribed(user=request.user, category=Category.JOURNAL),
        },
    )
