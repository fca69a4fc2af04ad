"""URL configuration for mysite: the admin, the guestbook's REST API and the guestbook app."""

from django.contrib import admin
from django.urls import include, path

from guestbook.api import router

urlpatterns = [
    path("admin/", admin.site.urls),
    path("rest/", include(router.urls)),
    path("", include("guestbook.urls")),
]
