from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Invitation, Space, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "display_name", "space", "is_staff", "date_joined")
    search_fields = ("email", "display_name")
    # Joining a space goes through an invitation (which locks the space and keeps
    # it to two members), never through a form field here.
    readonly_fields = ("space", "joined_space_at", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "time_zone", "space", "joined_space_at")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Space)
class SpaceAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "anniversary", "created_at")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "space", "created_at", "expires_at", "accepted_at", "revoked_at")
    exclude = ("token_hash",)
    readonly_fields = (
        "space",
        "email",
        "invited_by",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    )

    def has_add_permission(self, request):
        # Every field is read-only: an added row had no expiry (a 500), no token and no
        # e-mail. Invitations are made by invitation_create, which holds the rules.
        return False
