"""Widgets that read a figure file's cells: metrics, programmes and releases by their keys, figures
by their metric's kind, dates as suppliers write them. Each refuses with row, column and value."""

from __future__ import annotations

import difflib
from datetime import date
from decimal import Decimal

from import_export import widgets

from common.cells import unescape_cell
from common.resources import shown, where
from stats.models import Metric, Programme, Release
from stats.wording import formatting
from stats.wording.parsing import parse_date, parse_number


class LookupWidget(widgets.CachedForeignKeyWidget):
    """Finds a related object by one field, from a dictionary loaded once per import."""

    def __init__(self, model, field, *, column: str, what: str, **kwargs):
        super().__init__(model, field, **kwargs)
        self.column = column
        self.what = what

    def key(self, value):
        return shown(value)

    def lookup(self) -> dict:
        if not hasattr(self, "_lookup"):
            self._lookup = {self.key(getattr(obj, self.field)): obj for obj in self.model.objects.all()}
        return self._lookup

    def clean(self, value, row=None, **kwargs):
        text = shown(value)
        if not text:
            raise ValueError(f"{where(self.column, kwargs)}: the {self.what} is missing.")
        obj = self.lookup().get(self.key(value))
        if obj is None:
            raise ValueError(f"{where(self.column, kwargs)}: {self.unknown(text)}")
        return obj

    def unknown(self, text: str) -> str:
        close = difflib.get_close_matches(text, [str(k) for k in self.lookup()], n=1)
        hint = f" Did you mean “{close[0]}”?" if close else ""
        return f"“{text}” is not a known {self.what}.{hint}"


class MetricWidget(LookupWidget):
    def __init__(self, column="metric_slug"):
        super().__init__(Metric, "slug", column=column, what="metric slug")

    def key(self, value):
        return shown(value).lower()

    def render(self, value, obj=None, **kwargs):
        return value.slug if value else None


class ProgrammeWidget(LookupWidget):
    def __init__(self, column="programme"):
        super().__init__(Programme, "slug", column=column, what="programme slug")

    def key(self, value):
        return shown(value).lower()

    def render(self, value, obj=None, **kwargs):
        return value.slug if value else None


class ReleaseWidget(LookupWidget):
    """A release named by its period date, in any date form `parse_date` reads."""

    def __init__(self, column="period"):
        super().__init__(Release, "period_date", column=column, what="release")

    def key(self, value):
        return value if isinstance(value, date) else None

    def clean(self, value, row=None, **kwargs):
        try:
            period = parse_date(unescape_cell(value))
        except ValueError as error:
            raise ValueError(f"{where(self.column, kwargs)}: {error}") from None
        if period is None:
            raise ValueError(f"{where(self.column, kwargs)}: the release period is missing.")
        release = self.lookup().get(period)
        if release is None:
            raise ValueError(
                f"{where(self.column, kwargs)}: there is no release for {formatting.as_of(period)} "
                f"({period.isoformat()}). Create the release first, or check the date."
            )
        return release

    def render(self, value, obj=None, **kwargs):
        return value.period_date if value else None


class NumberWidget(widgets.DecimalWidget):
    """A figure's value, read for its metric's kind (percent, money or a count)."""

    def __init__(self, column="value", kind_from=None):
        super().__init__(coerce_to_string=False)
        self.column = column
        self.kind_from = kind_from  # callable(row) -> kind

    def clean(self, value, row=None, **kwargs):
        kind = self.kind_from(row) if self.kind_from and row is not None else formatting.TOTAL
        try:
            return parse_number(unescape_cell(value), kind=kind)
        except ValueError as error:
            raise ValueError(f"{where(self.column, kwargs)}: {error}") from None

    def render(self, value, obj=None, **kwargs):
        return plain_decimal(value)


def plain_decimal(value) -> Decimal | None:
    """A stored decimal as a plain spreadsheet number (no trailing zeros), or None."""
    return None if value is None else Decimal(formatting._plain(Decimal(value)))


class DateWidget(widgets.DateWidget):
    def __init__(self, column):
        super().__init__(coerce_to_string=False)
        self.column = column

    def clean(self, value, row=None, **kwargs):
        try:
            return parse_date(unescape_cell(value))
        except ValueError as error:
            raise ValueError(f"{where(self.column, kwargs)}: {error}") from None

    def render(self, value, obj=None, **kwargs):
        return value
