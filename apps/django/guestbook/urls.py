from django.urls import path
from django.views.generic.base import RedirectView

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("hello/<str:name>", views.hello, name="hello"),
    path("api/items/<int:item_id>", views.item, name="item"),
    path("api/entries", views.entries, name="entries"),
    path("sign", views.sign, name="sign"),
    path("api/sign", views.api_sign, name="api_sign"),
    path("upload", views.upload, name="upload"),
    path("visit", views.visit, name="visit"),
    path("old", RedirectView.as_view(pattern_name="hello", permanent=False), {"name": "old"}),
    path("boom", views.boom, name="boom"),
]
