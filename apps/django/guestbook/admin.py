from django.contrib import admin

from .models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["content", "created", "approved", "rating"]
    list_filter = ["approved", "created"]
    search_fields = ["content"]
