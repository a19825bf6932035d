"""Form fields for the admin that read and show values as people write them.

Figures are shown grouped (22,725,621, not 22725621.0000) and accepted with commas,
spaces, a % or a £; publish times are UK wall-clock times, and a time the clocks skip
or repeat is refused with the choices that do exist.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.db.models.fields import BLANK_CHOICE_DASH
from django.utils import timezone
from django.utils.html import format_html

from stats.wording import formatting, ukclock
from stats.wording.parsing import parse_number


class GroupedNumberInput(forms.TextInput):
    """A text box showing a number with thousands separators: 22,725,621."""

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", "size": 14, **(attrs or {})})

    def format_value(self, value):
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = Decimal(value)
            except InvalidOperation:
                return value  # what the person typed, shown back with its error
        return formatting.grouped(value)


class FigureValueField(forms.DecimalField):
    """A figure typed as a person writes it: 22,810,000 / 22 810 000 / 85% / £900m."""

    widget = GroupedNumberInput

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The exact figure, e.g. 22,810,000, 85% or £900m.")
        kwargs["widget"] = GroupedNumberInput
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        # Not a number box: browsers refuse "22,810,000" in <input type=number> before we can read it.
        return {}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal | int):
            return Decimal(value)
        try:
            return parse_number(str(value), kind=None)
        except ValueError as error:
            message = str(error)
            raise ValidationError(message[:1].upper() + message[1:], code="invalid") from None


class LabelledSplitDateTime(widgets.AdminSplitDateTime):
    """The admin's date and time boxes, with "Date:" and "Time:" as their labels (a screen reader reads
    them as each box's name), not as loose text beside them."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        date, time = context["widget"]["subwidgets"][:2]
        context["date_label"] = format_html(
            '<label for="{}">{}</label>', date["attrs"]["id"], context["date_label"]
        )
        context["time_label"] = format_html(
            '<label for="{}">{}</label>', time["attrs"]["id"], context["time_label"]
        )
        return context


class UKSplitDateTimeField(forms.SplitDateTimeField):
    """A date and a UK time; a time the clocks skip or repeat that day is refused, with the choices."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", LabelledSplitDateTime)
        super().__init__(**kwargs)

    def compress(self, data_list):
        if data_list and all(part not in self.empty_values for part in data_list[:2]):
            day, at = data_list[0], data_list[1]
            problem = ukclock.wall_time_problem(day, at)
            if problem:
                raise ValidationError(problem + ".", code="clock_change")
            with timezone.override(ukclock.UK):
                return super().compress(data_list)
        return super().compress(data_list)


class RequiredAutocompleteSelect(widgets.AutocompleteSelect):
    """The admin's search-as-you-type list for a required choice, starting with the "---------"
    option of no value HTML asks of a required list (the admin leaves it out)."""

    def optgroups(self, name, value, attr=None):
        groups = super().optgroups(name, value, attr)
        if self.is_required and not self.allow_multiple_selected:
            (blank, label), *_ = BLANK_CHOICE_DASH
            groups[0][1].insert(0, self.create_option(name, blank, label, False, 0))
        return groups
