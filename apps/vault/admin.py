"""The admin shows letters' metadata only: never a title or body, not even as ciphertext."""

from django.contrib import admin

from .models import Letter, LetterRead, NudgeOptIn, OpeningPresence

METADATA_FIELDS = (
    "id",
    "space",
    "author",
    "recipient",
    "status",
    "key_id",
    "created_at",
    "updated_at",
    "sealed_at",
    "opens_on",
    "opens_at",
    "opened_at",
)


SECRET_FIELDS = ("wrapped_key", "title_nonce", "title_ciphertext", "body_nonce", "body_ciphertext")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Sealing is final for partners, and the admin is no way around it.
        return False


@admin.register(Letter)
class LetterAdmin(ReadOnlyAdmin):
    list_display = ("id", "space", "author", "recipient", "status", "opens_on", "opened_at")
    list_filter = ("status",)
    list_select_related = ("space", "author", "recipient")
    search_fields = ("id", "space__name", "author__email", "recipient__email")
    date_hierarchy = "opens_on"
    # An explicit allow-list: the title, body, nonces and wrapped key never render.
    fields = METADATA_FIELDS
    readonly_fields = METADATA_FIELDS
    ordering = ("-created_at",)

    def get_queryset(self, request):
        # Leave the ciphertext columns out of the query altogether.
        return super().get_queryset(request).defer(*SECRET_FIELDS)


@admin.register(LetterRead)
class LetterReadAdmin(ReadOnlyAdmin):
    list_display = ("letter_id", "user", "first_read_at")
    fields = readonly_fields = ("letter_id", "user", "first_read_at")


@admin.register(OpeningPresence)
class OpeningPresenceAdmin(ReadOnlyAdmin):
    list_display = ("space", "year", "user", "arrived_at")


@admin.register(NudgeOptIn)
class NudgeOptInAdmin(ReadOnlyAdmin):
    list_display = ("user", "next_nudge_at", "created_at")
