from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.access import space_required
from apps.accounts.selectors import members_of
from apps.core.humanize import local_and_home
from apps.core.redirects import safe_next
from apps.core.tz import get_zone, local_to_utc, local_today

from . import selectors, services
from .forms import CheckInForm, ReminderPreferenceForm, RitualForm
from .library import BY_KEY, LIBRARY
from .models import CheckIn, ReminderPreference, Ritual
from .recurrence import describe

PREVIEW_COUNT = 5
# The detail page offers check-ins for the last CHECKIN_RECENT occurrences within
# CHECKIN_WINDOW_DAYS (a year and a day: last year's date of a yearly ritual included).
CHECKIN_RECENT = 6
CHECKIN_WINDOW_DAYS = 366


def _preview(ritual: Ritual, members: list, now: dt.datetime, *, zone: str) -> list[dict]:
    """The next occurrences: in the viewer's ``zone`` with home time beside (``when``),
    and in each partner's own zone (``zones``, the form's preview table)."""
    start = max(now, dt.datetime.combine(ritual.starts_on, dt.time(0, 0), tzinfo=dt.UTC))
    home = ritual.space.time_zone
    rows = []
    for occ in ritual.occurrences_after(start, count=PREVIEW_COUNT):
        zones = []
        for member in members:
            local = occ.at.astimezone(get_zone(member.zone))
            # Formatted here: the template's date filter would convert to the viewer's zone.
            zones.append(
                {"name": member.name, "zone": member.zone, "local": f"{local:%a %-d %b, %H:%M}"}
            )
        when = local_and_home(occ.at, zone=zone, home=home)
        rows.append({"day": occ.day, "at": occ.at, "zones": zones, "when": when})
    return rows


def _ritual(request, pk):
    return get_object_or_404(selectors.rituals_visible_to(request.user), pk=pk)


@space_required
@require_GET
def ritual_list(request):
    members = members_of(request.space)
    rituals = list(selectors.rituals_for_space(space=request.space, include_archived=True))
    now = timezone.now()
    zone, home = request.user.zone, request.space.time_zone
    for ritual in rituals:
        ritual.when = describe(ritual.recurrence, ritual.starts_on)
        ritual.next_when = ""
        if ritual.is_active:
            nxt = next(ritual.occurrences_iter(now), None)
            if nxt is not None:
                ritual.next_when = local_and_home(nxt.at, zone=zone, home=home)
    context = {
        "active": [r for r in rituals if r.status != Ritual.Status.ARCHIVED],
        "archived": [r for r in rituals if r.status == Ritual.Status.ARCHIVED],
        "progress": selectors.space_progress(space=request.space, members=members),
    }
    return render(request, "rituals/list.html", context)


def _ritual_form_page(request, *, ritual: Ritual | None):
    members = members_of(request.space)
    now = timezone.now()
    preview = None
    if request.method == "POST":
        form = RitualForm(
            request.POST, space=request.space, starts_on_was=ritual.starts_on if ritual else None
        )
        if form.is_valid():
            if "preview" in request.POST:
                preview = _preview(form.preview_ritual(), members, now, zone=request.user.zone)
            else:
                try:
                    if ritual is None:
                        ritual = services.ritual_create(
                            space=request.space, user=request.user, now=now, **form.ritual_fields()
                        )
                        messages.success(request, f"“{ritual.title}” is now one of your rituals.")
                    else:
                        services.ritual_update(ritual=ritual, now=now, **form.ritual_fields())
                        messages.success(request, "Saved. Reminders follow the new schedule.")
                except services.RitualError as exc:
                    form.add_error(None, str(exc))
                else:
                    return redirect("rituals:detail", pk=ritual.pk)
    else:
        initial = (
            RitualForm.initial_for(ritual)
            if ritual
            else {"starts_on": local_today(request.space.time_zone, now), "interval": 1}
        )
        form = RitualForm(initial=initial, space=request.space)
    return render(
        request,
        "rituals/form.html",
        {"form": form, "ritual": ritual, "preview": preview, "members": members},
    )


@space_required
@require_http_methods(["GET", "POST"])
def ritual_create(request):
    return _ritual_form_page(request, ritual=None)


@space_required
@require_http_methods(["GET", "POST"])
def ritual_edit(request, pk):
    return _ritual_form_page(request, ritual=_ritual(request, pk))


@space_required
@require_GET
def ritual_detail(request, pk):
    ritual = _ritual(request, pk)
    members = members_of(request.space)
    now = timezone.now()
    today = local_today(ritual.space.time_zone, now)
    # The last few occurrences however rare the ritual (a yearly one included), from
    # within a year back.
    recent = ritual.days_between(today - dt.timedelta(days=CHECKIN_WINDOW_DAYS), today)
    recent = recent[-CHECKIN_RECENT:]
    answers = selectors.check_ins_for(ritual=ritual, days=recent)
    # Each occurrence keeps its home day (what a check-in records) and is headed by its
    # instant in the viewer's zone, home time beside, like "Next times" (docs/time.md).
    zone, home = request.user.zone, ritual.space.time_zone
    occurrences = []
    for day in reversed(recent):
        at = local_to_utc(day, ritual.time_of_day, home)
        occurrences.append(
            {
                "day": day,
                "at": at,
                "when": local_and_home(at, zone=zone, home=home, date_format="l j F"),
                "local_day": at.astimezone(get_zone(zone)).date(),
                "started": at <= now,  # a check-in opens when the occurrence starts
                "answers": [(m, answers.get(day, {}).get(m.pk)) for m in members],
                "mine": answers.get(day, {}).get(request.user.pk),
            }
        )
    override = selectors.reminder_override_of(user=request.user, ritual=ritual)
    pref_form = ReminderPreferenceForm(
        initial={
            "kind": override.kind if override else "",
            "minutes_before": override.minutes_before if override else 30,
        },
        allow_default=True,
    )
    context = {
        "ritual": ritual,
        "when": describe(ritual.recurrence, ritual.starts_on),
        "members": members,
        "occurrences": occurrences,
        "progress": selectors.ritual_progress(ritual=ritual, members=members, now=now),
        "upcoming": _preview(ritual, members, now, zone=zone) if ritual.is_active else [],
        "pref_form": pref_form,
        "effective": services.preference_effective(user=request.user, ritual=ritual),
        "effective_label": "",
        "checkin_form": CheckInForm(),
    }
    context["effective_label"] = ReminderPreference.Kind(context["effective"].kind).label
    return render(request, "rituals/detail.html", context)


@space_required
@require_POST
def ritual_status(request, pk):
    ritual = _ritual(request, pk)
    status = request.POST.get("status", "")
    if status not in Ritual.Status.values:
        messages.error(request, "Choose active, paused or archived.")
        return redirect("rituals:detail", pk=ritual.pk)
    services.ritual_set_status(ritual=ritual, status=status)
    messages.success(request, f"“{ritual.title}” is now {Ritual.Status(status).label.lower()}.")
    return redirect("rituals:detail", pk=ritual.pk)


@space_required
@require_POST
def ritual_check_in(request, pk):
    ritual = _ritual(request, pk)
    form = CheckInForm(request.POST)
    target = safe_next(request)
    if not form.is_valid():
        messages.error(request, "That check-in was incomplete: choose kept or skipped.")
    else:
        try:
            services.ritual_check_in(
                ritual=ritual,
                user=request.user,
                day=form.cleaned_data["day"],
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
                feeling=form.cleaned_data["feeling"],
            )
        except services.RitualError as exc:
            messages.error(request, str(exc))
        else:
            kept = form.cleaned_data["status"] == CheckIn.Status.KEPT
            messages.success(request, "Lovely, noted." if kept else "Skipped this time: noted.")
    if target:
        return redirect(target)
    return redirect("rituals:detail", pk=ritual.pk)


@space_required
@require_POST
def ritual_reminder(request, pk):
    ritual = _ritual(request, pk)
    form = ReminderPreferenceForm(request.POST, allow_default=True)
    if form.is_valid():
        services.reminder_preference_set(
            user=request.user,
            ritual=ritual,
            kind=form.cleaned_data["kind"],
            minutes_before=form.cleaned_data["minutes_before"],
        )
        messages.success(request, "Your reminder for this ritual is saved.")
    else:
        messages.error(request, "Choose when to be reminded (0 minutes to 7 days before).")
    return redirect("rituals:detail", pk=ritual.pk)


@space_required
@require_http_methods(["GET", "POST"])
def reminder_defaults(request):
    current = selectors.reminder_default_of(user=request.user)
    if request.method == "POST":
        form = ReminderPreferenceForm(request.POST)
        if form.is_valid():
            services.reminder_preference_set(
                user=request.user,
                kind=form.cleaned_data["kind"],
                minutes_before=form.cleaned_data["minutes_before"],
            )
            messages.success(request, "Your reminder default is saved.")
            return redirect("rituals:reminders")
    else:
        form = ReminderPreferenceForm(
            initial={
                "kind": current.kind if current else services.DEFAULT_KIND,
                "minutes_before": current.minutes_before if current else services.DEFAULT_MINUTES,
            }
        )
    return render(request, "rituals/reminders.html", {"form": form})


@space_required
@require_GET
def library_list(request):
    items = [{**vars(item), "when": describe(item.answers)} for item in LIBRARY]
    return render(request, "rituals/library.html", {"library": items})


@space_required
@require_POST
def library_add(request, key):
    if key not in BY_KEY:
        raise Http404("No such ritual in the library")
    ritual = services.ritual_add_from_library(space=request.space, user=request.user, key=key)
    messages.success(request, f"“{ritual.title}” added. Adjust the day and time here if you like.")
    return redirect("rituals:detail", pk=ritual.pk)


# The session's one-shot copy of an address just made: shown on the next page, then gone.
FEED_SHOW_ONCE = "rituals_feed_token"


@space_required
@require_http_methods(["GET", "POST"])
def calendar_page(request):
    """The calendar address is shown once, right after it is made or reset (only its hash
    is stored); otherwise the page says there is one and offers a new one."""
    if request.method == "POST":
        had = services.calendar_feed_made_at(user=request.user) is not None
        request.session[FEED_SHOW_ONCE] = services.calendar_feed_reset(user=request.user)
        if had:
            messages.success(
                request, "A new calendar address is ready; the old one stopped working."
            )
        else:
            messages.success(request, "Your private calendar address is ready.")
        return redirect("rituals:calendar")
    token = request.session.pop(FEED_SHOW_ONCE, None)
    context = {
        "feed_url": request.build_absolute_uri(reverse("rituals:feed", args=[token]))
        if token
        else "",
        "made_at": services.calendar_feed_made_at(user=request.user),
    }
    return render(request, "rituals/calendar.html", context)


@never_cache
@require_GET
def calendar_feed(request, token):
    body = services.calendar_feed_ics(token=token)
    if body is None:
        raise Http404("No such calendar")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="keepsake.ics"'
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def email_check_in(request, token, action):
    """From the reminder e-mail: GET shows a button, the POST records the answer."""
    if action not in CheckIn.Status.values:
        raise Http404("Unknown answer")
    try:
        ritual_id, day, user_id = services.checkin_token_read(token)
    except signing.SignatureExpired:
        return render(request, "rituals/answer_invalid.html", {"expired": True}, status=404)
    except signing.BadSignature:
        return render(request, "rituals/answer_invalid.html", status=404)
    found = selectors.check_in_link_target(ritual_id=ritual_id, user_id=user_id)
    if found is None:
        return render(request, "rituals/answer_invalid.html", status=404)
    ritual, user = found
    context = {
        "ritual": ritual,
        "day": day,
        "action": action,
        "label": CheckIn.Status(action).label,
        "partner_name": user.name,
        "done": False,
        "error": "",
    }
    if request.method == "POST":
        try:
            services.ritual_check_in(ritual=ritual, user=user, day=day, status=action)
        except services.RitualError as exc:
            context["error"] = str(exc)
            return render(request, "rituals/answer.html", context, status=400)
        context["done"] = True
    return render(request, "rituals/answer.html", context)
