"""URL configuration for mysite: the admin and the guestbook app."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("guestbook.urls")),
]
