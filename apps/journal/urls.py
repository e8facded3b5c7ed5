from django.urls import path

from . import views

app_name = "journal"

urlpatterns = [
    path("", views.journal_index, name="index"),
    path("write/", views.entry_write, name="write"),
    path("settings/", views.journal_settings, name="settings"),
    path("<int:pk>/", views.entry_detail, name="entry"),
    path("<int:pk>/edit/", views.entry_edit, name="edit"),
    path("<int:pk>/delete/", views.entry_delete, name="delete"),
    path("<int:pk>/appreciate/", views.entry_appreciate, name="appreciate"),
]
