"""Admin behaviour shared by the apps' model admins."""

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.boundfield import BoundField
from django.http import Http404
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper


class CheckedChangeList(ChangeList):
    """A change list whose date drill-down past the calendar's end is an invalid filter, not a crash.

    Django computes the end of the chosen year, month or day: for 9999 (or a year too large for a
    date) that raises before its own check, so it is turned into the "invalid filter" answer here.
    """

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error


class RowLabelledBoundField(BoundField):
    """A box in an editable list, with a label a screen reader reads: "Display order for NHS CFH press
    office" (the list's column heading alone does not name the box)."""

    def __str__(self):
        if self.is_hidden:  # the row's id: nothing to read, and a label may not name a hidden input
            return super().__str__()
        label = format_html(
            '<label class="visually-hidden" for="{}">{} for {}</label>',
            self.id_for_label,
            capfirst(self.label),
            self.form.instance,
        )
        return label + super().__str__()


class AnnouncedAdmin:
    """An admin for public records: every write it makes (the form and its inlines, the list's
    editable columns, a delete, a bulk delete) is said to the public with `announce()`, once made.
    Django saves a form's relations after the form, in the change form and the list alike, so
    `save_related` says it once for both."""

    def announce(self) -> None:
        raise NotImplementedError

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self.announce()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self.announce()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        self.announce()


class RowLabelledListForm(forms.ModelForm):
    bound_field_class = RowLabelledBoundField


class RowLabelledListMixin:
    """An editable list's boxes are named for their row and column."""

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", RowLabelledListForm)
        return super().get_changelist_form(request, **kwargs)


class CheckedLookupsMixin:
    """Filters, searches and drill-downs that a URL can forge answer as bad input, never a crash."""

    def get_changelist(self, request, **kwargs):
        return CheckedChangeList

    def lookup_allowed(self, lookup, value, request=None):
        """A filter value with a NUL character is refused (400): PostgreSQL cannot compare text with it."""
        if "\x00" in str(value):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(self, request, queryset, search_term):
        """No text holds a NUL character, and PostgreSQL refuses to look: nothing matches."""
        if "\x00" in search_term:
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)


class RecordAdmin(RowLabelledListMixin, CheckedLookupsMixin, admin.ModelAdmin):
    """A model admin without history."""


def readable(field, value) -> str:
    """A stored value as a person reads it: 22,725,621 (not 22725621.0000), a choice's label, Yes/No."""
    if value is None or value == "":
        return "(empty)"
    if getattr(field, "flatchoices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return format(value.normalize(), ",f")
    if isinstance(value, dt.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return f"{local.day} {local:%b %Y, %H:%M} {local.tzname() or ''}".strip()
    if isinstance(value, dt.date):
        return f"{value.day} {value:%b %Y}"
    return value


class ReadableHistoryHelper(HistoricalRecordContextHelper):
    """History changes named by the field's label, with values written as on the page."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if field.many_to_many:
            return super().prepare_delta_change_value(change, value)
        return readable(field, value)


def readable_changes(model, new_record, old_record, skip=()) -> list[tuple[str, str, str]]:
    """(field label, was, now) for each field that differs between two history records."""
    if old_record is None:
        return []
    delta = new_record.diff_against(old_record, foreign_keys_are_objs=True)
    helper = ReadableHistoryHelper(model, new_record)
    changes = [helper.format_delta_change(c) for c in delta.changes if c.field not in skip]
    return [(str(c.field), str(c.old), str(c.new)) for c in changes]


class HistoryAdmin(RowLabelledListMixin, CheckedLookupsMixin, SimpleHistoryAdmin):
    """SimpleHistoryAdmin whose history of an id that cannot exist is not found; changes read as text."""

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryHelper(self.model, historical_record)

    def history_view(self, request, object_id, extra_context=None):
        """404 for an id that cannot name a row ("abc", "1.5"); the library would look it up and fail."""
        try:
            self.model._meta.pk.to_python(unquote(object_id))
        except ValidationError:
            raise Http404(f"There is no {self.model._meta.verbose_name} with the id “{object_id}”.") from None
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """An old version, to read. Reverting is off (SIMPLE_HISTORY_REVERT_DISABLED), and the library
        only hides its button: a posted form is refused here, whoever sends it, so no change ever
        bypasses the workflow's rules."""
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied("Old versions can be read, not restored.")
        return super().history_form_view(request, object_id, version_id, extra_context)
