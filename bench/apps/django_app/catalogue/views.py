from django.http import JsonResponse
from django.shortcuts import render

from .models import Item

FIELDS = ("id", "name", "category", "price", "added")


def page(request):
    items = Item.objects.filter(price__gte=0).order_by("id")[:20]
    return render(request, "catalogue/page.html",
                  {"title": "Catalogue", "items": items, "user": "bench & co"})


def json_view(request):
    rows = list(Item.objects.order_by("id").values(*FIELDS)[:20])
    return JsonResponse({"count": len(rows), "items": rows})
