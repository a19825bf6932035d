"""django-import-export, checked: resources that refuse a whole file, naming each problem.

`CheckedResource` checks the headers and every row with its own widgets before anything is
written, and reports each problem by row, column and value; the widgets here read cells as people
type them. Every export passes each cell through `common.cells.safe_cell`. Knows no app.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal

from import_export import resources, widgets
from import_export.results import Error

from common.cells import safe_cell, unescape_cell
from common.spreadsheets import ImportRefused

_HEADER_JUNK = re.compile(r"[\s\-./]+")


class Refusal(Error):
    """A problem with the file, not with the program: shown without a traceback."""

    traceback = ""


@dataclass(frozen=True)
class Problem:
    message: str
    row: int | None = None  # as the spreadsheet shows it: the heading is row 1

    def __str__(self):
        return f"Row {self.row}: {self.message}" if self.row else self.message


def normalise_header(header) -> str:
    """“Metric slug”, “metric-slug” and “ METRIC_SLUG ” all become “metric_slug”."""
    if header is None:
        return ""
    return _HEADER_JUNK.sub("_", str(header).strip().lower()).strip("_")


def sheet_row(row_number: int) -> int:
    """The spreadsheet row of the n-th data row (the heading is row 1)."""
    return row_number + 1


def where(column: str, kwargs: dict) -> str:
    number = kwargs.get("row_number")
    return f"Row {sheet_row(number)}, column “{column}”" if number else f"Column “{column}”"


def shown(value) -> str:
    return str(value).strip() if value is not None else ""


# -- Widgets: clear messages naming the row, the column and the value --------------------------------


class TextWidget(widgets.CharWidget):
    """Text up to a length; a leading apostrophe added on export is taken off again."""

    def __init__(self, column, max_length=None, required=False):
        super().__init__(coerce_to_string=True, allow_blank=True)
        self.column = column
        self.max_length = max_length
        self.required = required

    def clean(self, value, row=None, **kwargs):
        text = unescape_cell(shown(value)) if value is not None else ""
        if self.required and not text:
            raise ValueError(f"{where(self.column, kwargs)}: this cell must not be empty.")
        if self.max_length and len(text) > self.max_length:
            raise ValueError(
                f"{where(self.column, kwargs)}: the text is {len(text)} characters long; "
                f"the limit is {self.max_length}."
            )
        return text


class ChoiceWidget(widgets.Widget):
    """One of a set of choices, by key or label; an empty cell gives None (keep what is there)."""

    def __init__(self, column, choices, *, aliases=None, empty_label="none"):
        super().__init__(coerce_to_string=True)
        self.column = column
        self.choices = dict(choices)
        self.empty_label = empty_label
        self.words = {key.lower(): key for key in self.choices if key}
        self.words.update({str(label).lower(): key for key, label in self.choices.items()})
        self.words.update(aliases or {})

    def clean(self, value, row=None, **kwargs):
        text = shown(value).lower().replace("_", " ")
        if not text:
            return None
        for candidate in (text, text.replace(" ", "_")):
            if candidate in self.words:
                return self.words[candidate]
        allowed = ", ".join(sorted({k or self.empty_label for k in self.choices}))
        raise ValueError(f"{where(self.column, kwargs)}: “{shown(value)}” is not one of: {allowed}.")

    def render(self, value, obj=None, **kwargs):
        return value or self.empty_label


class FlagWidget(widgets.BooleanWidget):
    """Yes or no; an empty cell gives None, so a field with saves_null_values=False keeps what is there."""

    def __init__(self, column):
        super().__init__(coerce_to_string=False)
        self.column = column

    def clean(self, value, row=None, **kwargs):
        text = shown(value).lower()
        if text in {"1", "true", "yes", "y"} or value is True:
            return True
        if text in {"0", "false", "no", "n"} or value is False:
            return False
        if not text:
            return None
        raise ValueError(f"{where(self.column, kwargs)}: “{shown(value)}” is not yes or no.")


class OrderWidget(widgets.IntegerWidget):
    def __init__(self, column):
        super().__init__(coerce_to_string=False)
        self.column = column

    def clean(self, value, row=None, **kwargs):
        if value is None or shown(value) == "":
            return 0
        try:
            number = int(Decimal(shown(value)))
        except Exception:
            raise ValueError(
                f"{where(self.column, kwargs)}: “{shown(value)}” is not a whole number."
            ) from None
        if number < 0:
            raise ValueError(f"{where(self.column, kwargs)}: {number} is negative.")
        return number


# -- The shared behaviour: header check, whole-file check first, safe export -----------------------


class CheckedResource(resources.ModelResource):
    """A resource that refuses a whole file, naming each problem, before writing anything."""

    required_columns: tuple[str, ...] = ()
    # Columns read but not imported (e.g. names shown beside a slug).
    informational_columns: tuple[str, ...] = ()

    def known_columns(self) -> list[str]:
        columns = [f.column_name for f in self.get_import_fields()]
        return columns + [c for c in self.informational_columns if c not in columns]

    def check_headers(self, dataset) -> list[Problem]:
        """Normalise the headings in place and report unknown, missing or repeated columns."""
        headers = [normalise_header(h) for h in (dataset.headers or [])]
        dataset.headers = headers
        known = self.known_columns()
        problems = []
        if not headers:
            return [Problem("The file has no heading row.")]
        if not any(h in known for h in headers):
            return [
                Problem(
                    "The first row must hold the column headings, e.g. "
                    f"{', '.join(self.required_columns)}; this file’s first row is "
                    f"“{', '.join(str(h) for h in (headers[:5]))}”. Remove any title rows above the headings."
                )
            ]
        for index, header in enumerate(headers, 1):
            if not header:
                problems.append(Problem(f"Column {index} has no heading. Every column needs one."))
            elif header not in known:
                close = difflib.get_close_matches(header, known, n=1)
                hint = f" Did you mean “{close[0]}”?" if close else ""
                problems.append(
                    Problem(
                        f"Column “{header}” is not a column we know.{hint} Known columns: {', '.join(known)}."
                    )
                )
        for header in sorted({h for h in headers if h and headers.count(h) > 1}):
            problems.append(Problem(f"Column “{header}” appears more than once."))
        for column in self.required_columns:
            if column not in headers:
                problems.append(Problem(f"The file has no “{column}” column; it is required."))
        if not problems and not len(dataset):
            problems.append(Problem("The file has a heading row but no data rows."))
        return problems

    def check_rows(self, dataset, **kwargs) -> list[Problem]:
        """Clean every cell of every row with the resource's own widgets; report every failure.

        Two rows for the same record (the same key columns) are refused too: the second would
        silently overwrite the first.
        """
        problems = []
        fields = [f for f in self.get_import_fields() if not f.readonly and f.column_name in dataset.headers]
        key_fields = [self.fields[name] for name in self.get_import_id_fields()]
        seen: dict[tuple, int] = {}
        for number, values in enumerate(dataset, 1):
            row = dict(zip(dataset.headers, values, strict=False))
            cleaned = {}
            for f in fields:
                try:
                    cleaned[f.column_name] = f.clean(row, row_number=number)
                except ValueError as error:
                    problems.append(Problem(str(error)))
            key = tuple(cleaned.get(f.column_name) for f in key_fields)
            if any(part is None or part == "" for part in key):
                continue
            if key in seen:
                named = ", ".join(f"{f.column_name} “{shown(row.get(f.column_name))}”" for f in key_fields)
                problems.append(
                    Problem(
                        f"{named} is already given in row {seen[key]}. Keep one of the two rows.",
                        row=sheet_row(number),
                    )
                )
            else:
                seen[key] = sheet_row(number)
        return problems

    def check_dataset(self, dataset, **kwargs) -> list[Problem]:
        return self.check_headers(dataset) or self.check_rows(dataset, **kwargs)

    def import_data_inner(
        self, dataset, dry_run, raise_errors, using_transactions, collect_failed_rows, **kwargs
    ):
        problems = self.check_dataset(dataset, **kwargs)
        if problems:
            result = self.get_result_class()()
            result.total_rows = len(dataset)
            for problem in problems:
                result.append_base_error(Refusal(ImportRefused(str(problem))))
            result.problems = problems
            if raise_errors:
                raise ImportRefused("; ".join(str(p) for p in problems))
            return result
        result = super().import_data_inner(
            dataset, dry_run, raise_errors, using_transactions, collect_failed_rows, **kwargs
        )
        result.problems = []
        return result

    def export_field(self, field, instance, **kwargs):
        return safe_cell(super().export_field(field, instance, **kwargs))
