"""Admin behaviour shared by the apps' model admins."""

from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin


class HistoryAdmin(SimpleHistoryAdmin):
    """SimpleHistoryAdmin that answers a forged address or filter as a bad request, never a crash."""

    def history_view(self, request, object_id, extra_context=None):
        """404 for an id that cannot name a row ("abc", "1.5"); the library would look it up and fail."""
        try:
            self.model._meta.pk.to_python(unquote(object_id))
        except ValidationError:
            raise Http404(f"There is no {self.model._meta.verbose_name} with the id “{object_id}”.") from None
        return super().history_view(request, object_id, extra_context)

    def lookup_allowed(self, lookup, value, request=None):
        """A filter value with a NUL character is refused (400): PostgreSQL cannot compare text with it."""
        if "\x00" in str(value):
            return False
        return super().lookup_allowed(lookup, value, request)
