from django.contrib import admin

from .models import CheckIn, Reminder, ReminderSchedule, Ritual


@admin.register(Ritual)
class RitualAdmin(admin.ModelAdmin):
    list_display = ["title", "space", "status", "rrule", "time_of_day"]
    list_filter = ["status"]


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
