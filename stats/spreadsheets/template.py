"""The supplier template: an XLSX with one row per metric, last release's value, a value to fill in."""

from __future__ import annotations

import tablib

from common.cells import safe_cell
from stats.models import Metric, Release
from stats.selectors import previous_figure_values
from stats.spreadsheets.resources import FIGURE_COLUMNS
from stats.spreadsheets.widgets import plain_decimal

# The figure columns with last release's value just before the value to fill in.
_VALUE = FIGURE_COLUMNS.index("value")
TEMPLATE_COLUMNS = (*FIGURE_COLUMNS[:_VALUE], "previous_value", *FIGURE_COLUMNS[_VALUE:])


def supplier_template(release: Release) -> bytes:
    """An XLSX for `release`: one row per metric with last release's value and an empty value column."""
    _, previous_values = previous_figure_values(
        release, among=Release.objects.exclude(status=Release.Status.WITHDRAWN)
    )
    metrics = Metric.objects.filter(programme__is_active=True).select_related("programme")
    dataset = tablib.Dataset(headers=list(TEMPLATE_COLUMNS), title="Figures")
    for metric in metrics:
        before = previous_values.get(metric.pk)
        dataset.append(
            [
                safe_cell(value)
                for value in (
                    release.period_date,
                    metric.programme.name,
                    metric.slug,
                    metric.name,
                    metric.kind,
                    metric.unit,
                    plain_decimal(before),
                    None,  # the value: a row left empty keeps its figure as it is
                    None,  # as_of: only for a figure that stands at another day than the period
                    None,
                    None,
                )
            ]
        )
    return dataset.export("xlsx")
