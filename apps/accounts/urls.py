from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("space/new/", views.space_create, name="space_create"),
    path("space/", views.space_detail, name="space"),
    path("space/invite/", views.invitation_send, name="invitation_send"),
    path("space/invite/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invite/", views.invitation_pending, name="invitation_pending"),
    path("invite/<str:token>/", views.invitation, name="invitation"),
    path("settings/", views.user_settings, name="settings"),
    path("settings/test-email/", views.test_email, name="test_email"),
]
