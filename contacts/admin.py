from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils import timezone
from django.utils.html import format_html
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.utils import bulk_update_with_history

from common.admin import AnnouncedAdmin, HistoryAdmin
from common.import_admin import NewsroomImportExportMixin
from contacts import phones, public
from contacts.models import MediaContact, verification_due_on_or_before
from contacts.resources import PHONE_HELP, MediaContactResource


class VerificationFilter(admin.SimpleListFilter):
    title = "verification"
    parameter_name = "verification"

    def lookups(self, request, model_admin):
        return [
            ("due", "Due: not verified for six months"),
            ("current", "Verified in the last six months"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "due":
            return queryset.needs_verifying()
        if self.value() == "current":
            return queryset.filter(last_verified__gt=verification_due_on_or_before())
        return queryset


@admin.register(MediaContact)
class MediaContactAdmin(AnnouncedAdmin, NewsroomImportExportMixin, HistoryAdmin):
    resource_classes = [MediaContactResource]

    def announce(self) -> None:
        public.contacts_changed()

    list_display = (
        "name",
        "organisation",
        "remit",
        "phone_number",
        "email",
        "verified",
        "display_order",
        "is_active",
    )
    list_editable = ("display_order", "is_active")
    list_filter = (VerificationFilter, "is_active", "organisation", "programmes")
    search_fields = ("name", "organisation", "remit", "email")
    ordering = ("display_order", "name")
    prepopulated_fields = {"slug": ("name",)}
    actions = ["mark_verified"]
    formfield_overrides = {
        # Programmes: a short list, ticked; every box is labelled with its programme (the two-list
        # chooser hides its filter boxes' help in an aria-label a screen reader does not read).
        models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple},
        models.URLField: {"assume_scheme": "https"},
        PhoneNumberField: {
            "error_messages": {"invalid": f"Enter a phone number that can be dialled: {PHONE_HELP}."}
        },
    }
    fieldsets = (
        (None, {"fields": ("name", "slug", "organisation", "remit", "note")}),
        ("How to reach them", {"fields": ("phone", "out_of_hours_phone", "email", "website")}),
        ("Listing", {"fields": ("programmes", "display_order", "is_active", "last_verified")}),
    )

    @admin.display(description="phone", ordering="phone")
    def phone_number(self, contact):
        return phones.display(contact.phone)

    @admin.display(description="last verified", ordering="last_verified")
    def verified(self, contact):
        if contact.last_verified is None:
            return format_html('<strong class="newsroom-flag">{}</strong>', "Never verified: check now")
        day = contact.last_verified.strftime("%-d %b %Y")
        if contact.needs_verifying:
            flag = "Over six months ago: check now"
            return format_html('{} <strong class="newsroom-flag">{}</strong>', day, flag)
        return day

    @admin.action(description="Mark selected contacts as verified today", permissions=["change"])
    def mark_verified(self, request, queryset):
        today = timezone.localdate()
        contacts = list(queryset)
        for contact in contacts:
            contact.last_verified = today
        bulk_update_with_history(
            contacts,
            MediaContact,
            ["last_verified"],
            default_user=request.user,
            default_change_reason="Marked as verified",
        )
        self.announce()  # "Details checked on" is on every page that shows them
        count = len(contacts)
        self.message_user(
            request,
            f"{count} contact{'s' if count != 1 else ''} marked as verified on {today:%-d %B %Y}.",
            messages.SUCCESS,
        )

    def has_import_permission(self, request):
        """Importing adds and changes contacts, so it needs both permissions."""
        return request.user.has_perms(["contacts.add_mediacontact", "contacts.change_mediacontact"])

    def has_export_permission(self, request):
        return request.user.has_perm("contacts.view_mediacontact")
