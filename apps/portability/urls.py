from django.urls import path

from . import views

app_name = "portability"

urlpatterns = [
    path("", views.my_data, name="my_data"),
    path("download/", views.download, name="download"),
    path("leave/", views.leave, name="leave"),
    path("delete-account/", views.delete_account, name="delete_account"),
]
