from django import forms
from django.contrib import admin

from . import services
from .models import CheckIn, Reminder, ReminderSchedule, Ritual
from .recurrence import rule_problem


class RitualAdminForm(forms.ModelForm):
    """The app's rule checks apply here too: a rule that never fires, or too often, is
    refused rather than parked later by the reminder pass."""

    class Meta:
        model = Ritual
        # What the app's forms edit (services.RITUAL_FIELDS), plus what only the admin sets.
        fields = ["space", *services.RITUAL_FIELDS, "status", "library_key", "created_by"]

    def clean(self):
        cleaned = super().clean()
        rrule, starts_on = cleaned.get("rrule"), cleaned.get("starts_on")
        if rrule and starts_on:
            problem = rule_problem(rrule, starts_on)
            if problem:
                self.add_error("rrule", problem)
        return cleaned


@admin.register(Ritual)
class RitualAdmin(admin.ModelAdmin):
    form = RitualAdminForm
    list_display = ["title", "space", "status", "rrule", "time_of_day"]
    list_filter = ["status"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # As after an edit in the app: both partners' next reminders follow the change.
        services.schedules_sync(ritual=obj)


@admin.register(ReminderSchedule)
class ReminderScheduleAdmin(admin.ModelAdmin):
    list_display = ["ritual", "user", "next_remind_at", "next_occurrence"]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["ritual", "occurrence", "recipient", "status", "due_at"]
    list_filter = ["status"]


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = ["ritual", "occurrence", "user", "status"]
