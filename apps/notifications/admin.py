from django.contrib import admin

from .models import EmailOptOut, OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "to_email",
        "template",
        "status",
        "attempts",
        "next_attempt_at",
        "error",
    )
    list_filter = ("status", "category", "template")
    search_fields = ("to_email", "dedupe_key")
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]
    ordering = ("-created_at",)

    @admin.display(description="Last error", ordering="last_error")
    def error(self, obj):
        """Why the last attempt failed (a bounce shows here without opening the row)."""
        text = obj.last_error.removeprefix("PermanentFailure: ")
        return text if len(text) <= 120 else text[:119] + "…"

    def has_add_permission(self, request):
        return False


@admin.register(EmailOptOut)
class EmailOptOutAdmin(admin.ModelAdmin):
    list_display = ("user", "category", "created_at")
