from django.contrib import admin

from .models import PassRun


@admin.register(PassRun)
class PassRunAdmin(admin.ModelAdmin):
    """When each scheduler pass last ran and how it ended: the host's first look when
    reminders seem not to arrive."""

    list_display = ("name", "last_finished_at", "last_ok_at", "last_count", "short_error")
    readonly_fields = [f.name for f in PassRun._meta.fields]
    ordering = ("name",)

    @admin.display(description="Last error")
    def short_error(self, obj):
        return obj.last_error[:120]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
