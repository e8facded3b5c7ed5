from django.contrib import admin
from django.urls import include, path

from apps.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("email/", include("apps.notifications.urls")),
    path("rituals/", include("apps.rituals.urls")),
    path("journal/", include("apps.journal.urls")),
    path("vault/", include("apps.vault.urls")),
    path("my-data/", include("apps.portability.urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.home.urls")),
]
