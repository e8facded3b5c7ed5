from django.urls import path

from . import views

app_name = "rituals"

urlpatterns = [
    path("", views.ritual_list, name="list"),
    path("new/", views.ritual_create, name="create"),
    path("library/", views.library_list, name="library"),
    path("library/<slug:key>/add/", views.library_add, name="library_add"),
    path("reminders/", views.reminder_defaults, name="reminders"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("feed/<str:token>.ics", views.calendar_feed, name="feed"),
    path("answer/<str:token>/<str:action>/", views.email_check_in, name="email_check_in"),
    path("<int:pk>/", views.ritual_detail, name="detail"),
    path("<int:pk>/edit/", views.ritual_edit, name="edit"),
    path("<int:pk>/status/", views.ritual_status, name="status"),
    path("<int:pk>/check-in/", views.ritual_check_in, name="check_in"),
    path("<int:pk>/reminder/", views.ritual_reminder, name="reminder"),
]
