from django.contrib import admin
from django.db import models
from simple_history.admin import SimpleHistoryAdmin

from .models import MediaContact


@admin.register(MediaContact)
class MediaContactAdmin(SimpleHistoryAdmin):
    list_display = ("name", "organisation", "remit", "phone", "email", "display_order", "is_active")
    list_editable = ("display_order", "is_active")
    list_filter = ("is_active", "organisation", "programmes")
    search_fields = ("name", "organisation", "remit", "email")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("programmes",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("name", "slug", "organisation", "remit", "note")}),
        ("How to reach them", {"fields": ("phone", "out_of_hours_phone", "email", "website")}),
        ("Listing", {"fields": ("programmes", "display_order", "is_active", "last_verified")}),
    )
