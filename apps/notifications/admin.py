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
    # The parts as the row would send them: rendered from its context on demand, or as
    # stored. A sent account e-mail shows none (its links were secrets, cleared on send).
    readonly_fields = [
        *(f.name for f in OutboundEmail._meta.fields if not f.name.startswith("stored_")),
        "text_part",
        "html_part",
    ]
    ordering = ("-created_at",)

    @admin.display(description="Text part")
    def text_part(self, obj):
        return obj.body_text

    @admin.display(description="HTML part")
    def html_part(self, obj):
        return obj.body_html

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
