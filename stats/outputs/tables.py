"""django-tables2 tables for the public pages."""

from __future__ import annotations

import datetime as dt

import django_tables2 as tables
from django.core.paginator import EmptyPage
from django.urls import reverse
from django.utils.html import format_html

from stats.models import Figure
from stats.wording import formatting, qualified

PER_PAGE = 25
DATE_MARK = dt.date(1900, 1, 1)
MAX_PER_PAGE = 100
# Far past any series (a million weekly releases); beyond it the SQL offset could overflow.
MAX_PAGE = 1_000_000


class SeriesPaginator(tables.LazyPaginator):
    """LazyPaginator that counts a page number past MAX_PAGE as past the end, like any other empty page."""

    def validate_number(self, number):
        number = super().validate_number(number)
        if number > MAX_PAGE:
            raise EmptyPage("That page contains no results")
        return number


class SeriesTable(tables.Table):
    """One metric's figures, one row per public release; sortable and paginated."""

    period = tables.Column(
        "Reporting period (w/c)",
        accessor="release__period_date",
        order_by=("release__period_date", "pk"),
    )
    value = tables.Column(
        "Figure",
        order_by=("value", "release__period_date"),
        attrs={
            "td": {"class": "nhsuk-table__cell--numeric"},
            "th": {"class": "nhsuk-table__header--numeric"},
        },
    )
    change = tables.Column("Change since previous release", empty_values=(), orderable=False)
    as_of = tables.Column("As of", order_by=("as_of", "release__period_date"))
    note = tables.Column("Note", orderable=False)

    class Meta:
        template_name = "statistics/includes/table.html"
        attrs = {"class": "nhsuk-table"}
        order_by = ("-period",)
        empty_text = "No public figures yet."

    def __init__(self, *args, previous: dict | None = None, caption: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        # The value before each period's (by period date): the change is worded for shown rows only.
        self.previous = previous or {}
        self.caption = caption
        # A release's address, reversed once a table and the date put in for each row.
        self.release_url = reverse("statistics:release-detail", args=[DATE_MARK]).replace(
            DATE_MARK.isoformat(), "{}"
        )

    def paginate(self, paginator_class=None, per_page=None, page=1, *args, **kwargs):
        """Paginate with ?per_page= clamped to 1..MAX_PER_PAGE."""
        per_page = min(max(int(per_page or PER_PAGE), 1), MAX_PER_PAGE)
        return super().paginate(paginator_class or SeriesPaginator, per_page, page, *args, **kwargs)

    def render_period(self, record: Figure, value):
        url = self.release_url.format(f"{value:%Y-%m-%d}")
        label = f"{value.day} {value:%B %Y}"
        if record.release.is_synthetic:
            return format_html(
                '<a href="{}">{}</a> <span class="nhsuk-tag nhsuk-tag--grey">Synthetic</span>', url, label
            )
        return format_html('<a href="{}">{}</a>', url, label)

    def render_value(self, record: Figure):
        """The figure as stated: a bound keeps its words ("over 20 million")."""
        return qualified.stated(record.value, record.qualifier, kind=record.kind)

    def render_change(self, record: Figure):
        before = self.previous.get(record.release.period_date)
        if before is None:
            return "–"
        return formatting.change(record.value, before, kind=record.kind) or "–"

    def render_as_of(self, value):
        return formatting.as_of(value)
