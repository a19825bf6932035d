import django_filters
from django import forms

from contacts.models import MediaContact
from stats.models import Programme


def organisation_choices():
    return [(name, name) for name in MediaContact.objects.active().organisations()]


class MediaContactFilter(django_filters.FilterSet):
    """Search and filters for the public directory; plain GET parameters, so they work without JavaScript."""

    q = django_filters.CharFilter(
        label="Search by office, organisation or programme",
        method="filter_search",
        widget=forms.TextInput(attrs={"type": "search", "class": "nhsuk-input", "autocomplete": "off"}),
    )
    programme = django_filters.ModelChoiceFilter(
        label="Programme",
        queryset=Programme.objects.active().order_by("display_order", "name"),
        to_field_name="slug",
        method="filter_programme",
        empty_label="All programmes",
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
    )
    organisation = django_filters.ChoiceFilter(
        label="Organisation",
        choices=organisation_choices,
        empty_label="All organisations",
        widget=forms.Select(attrs={"class": "nhsuk-select"}),
    )

    class Meta:
        model = MediaContact
        fields = ["q", "programme", "organisation"]

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_programme(self, queryset, name, value):
        return queryset.for_programme(value)
