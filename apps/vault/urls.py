from django.urls import path

from . import views

app_name = "vault"

urlpatterns = [
    path("", views.home, name="home"),
    path("write/", views.letter_write, name="write"),
    path("archive/", views.archive, name="archive"),
    path("reminder/", views.nudge, name="nudge"),
    path("letters/<uuid:pk>/", views.letter_edit, name="edit"),
    path("letters/<uuid:pk>/seal/", views.letter_seal, name="seal"),
    path("letters/<uuid:pk>/delete/", views.letter_delete, name="delete"),
    path("letters/<uuid:pk>/read/", views.letter_mark_read, name="mark_read"),
    path("<int:year>/", views.year, name="year"),
    path("<int:year>/together/", views.together, name="together"),
    path("<int:year>/together/status/", views.together_status, name="together_status"),
]
