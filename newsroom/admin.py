"""Admin behaviour shared by the apps' model admins."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin


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


class RecordAdmin(CheckedLookupsMixin, admin.ModelAdmin):
    """A model admin without history."""


class HistoryAdmin(CheckedLookupsMixin, SimpleHistoryAdmin):
    """SimpleHistoryAdmin whose history of an id that cannot exist is not found."""

    def history_view(self, request, object_id, extra_context=None):
        """404 for an id that cannot name a row ("abc", "1.5"); the library would look it up and fail."""
        try:
            self.model._meta.pk.to_python(unquote(object_id))
        except ValidationError:
            raise Http404(f"There is no {self.model._meta.verbose_name} with the id “{object_id}”.") from None
        return super().history_view(request, object_id, extra_context)
