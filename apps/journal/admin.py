from django.contrib import admin

from .models import JournalProfile


@admin.register(JournalProfile)
class JournalProfileAdmin(admin.ModelAdmin):
    """Settings only: entries are private writing and are not browsable in the admin."""

    list_display = ["user", "nudge_weekdays", "nudge_time", "next_nudge_at", "next_digest_at"]
    raw_id_fields = ["user"]
