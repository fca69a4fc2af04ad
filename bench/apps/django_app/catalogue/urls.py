from django.urls import path

from . import views

urlpatterns = [
    path("page", views.page),
    path("json", views.json_view),
]
