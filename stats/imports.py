"""Figure imports: reading an uploaded file safely, checking it, applying it, recording corrections.

`read_upload` turns bytes into a `tablib.Dataset` or refuses them with a
message; `import_figures` runs the same `FigureResource` the admin uses, as a
dry run for the preview or for real in one transaction; `supplier_template`
writes the XLSX a supplier fills in.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath

import tablib
from django.conf import settings
from django.db import transaction

from newsroom import caching

from . import formatting, services
from .checks import previous_figure_values
from .models import Correction, Figure, Metric, Release
from .resources import FIGURE_COLUMNS, Change, FigureResource, ImportRefused, needs_correction, plain_decimal
from .safe_cells import safe_cell

EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json"}
NOT_HELD = "The uploaded file is no longer held (it was imported already, or it expired). Upload it again."
FORMAT_NAMES = {"csv": "a CSV file", "xlsx": "an Excel workbook (.xlsx)", "json": "a JSON file"}
# The figure columns with last release's value just before the value to fill in.
_VALUE = FIGURE_COLUMNS.index("value")
TEMPLATE_COLUMNS = (*FIGURE_COLUMNS[:_VALUE], "previous_value", *FIGURE_COLUMNS[_VALUE:])


def max_upload_bytes() -> int:
    return int(settings.NEWSROOM_IMPORT_MAX_BYTES)


def size_label(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(size // 1024, 1)} KB"


def check_size(name: str, size: int) -> None:
    limit = max_upload_bytes()
    if size > limit:
        raise ImportRefused(
            f"{name} is {size_label(size)}; the limit is {size_label(limit)}. Split it into smaller files."
        )


def sniff(data: bytes) -> str:
    """What the bytes are, whatever the file is called: xlsx, json, csv, or a reason it is none."""
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if data.startswith(b"%PDF"):
        return "pdf"
    head = data[:4096]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith((b"[", b"{")):
        return "json"
    return "csv"


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Text from UTF-8 (with or without a BOM), UTF-16 with a BOM, or Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        raise ImportRefused(
            f"{name} is not readable text: save it as “CSV UTF-8” from your spreadsheet program."
        ) from None


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _tidy(headers: list, rows: list[list]) -> tablib.Dataset:
    """Drop empty trailing columns and empty rows, as spreadsheets leave them."""
    width = len(headers)
    while width and _blank(headers[width - 1]) and all(_blank(r[width - 1]) for r in rows if len(r) >= width):
        width -= 1
    dataset = tablib.Dataset(headers=list(headers[:width]))
    for row in rows:
        row = list(row[:width]) + [None] * (width - len(row))
        if not all(_blank(v) for v in row):
            dataset.append(row)
    return dataset


def as_read(cell):
    """A cell's value as the supplier sees it: a cell formatted as a percentage holds 0.125 for 12.5%."""
    value = getattr(cell, "value", None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "%" in (getattr(cell, "number_format", "") or ""):
            return f"{formatting._plain(Decimal(repr(value)) * 100)}%"
    return value


def _read_xlsx(data: bytes, name: str) -> tablib.Dataset:
    import openpyxl
    from openpyxl.utils import get_column_letter

    try:
        values_book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formula_book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise ImportRefused(
            f"{name} is not a readable Excel workbook: it may be damaged, or another kind of file renamed "
            "to .xlsx. Open it in your spreadsheet program and save it as an Excel workbook (.xlsx)."
        ) from None
    for ws in [*values_book.worksheets, *formula_book.worksheets]:
        ws.reset_dimensions()  # some programs write wrong sizes; read what is really there
    sheets = [
        ws
        for ws in values_book.worksheets
        if any(not _blank(v) for row in ws.iter_rows(values_only=True) for v in row)
    ]
    if len(sheets) > 1:
        names = ", ".join(f"“{ws.title}”" for ws in sheets)
        raise ImportRefused(
            f"{name} has {len(sheets)} sheets with data ({names}). Keep only the sheet with the figures."
        )
    if not sheets:
        raise ImportRefused(f"{name} is empty.")
    sheet = sheets[0]
    formulas = formula_book[sheet.title]
    rows = []
    problems = []
    for number, (cells, formula_row) in enumerate(
        zip(sheet.iter_rows(), formulas.iter_rows(values_only=True), strict=False), 1
    ):
        value_row = [as_read(cell) for cell in cells]
        for column, (value, formula) in enumerate(zip(value_row, formula_row, strict=False), 1):
            if value is None and isinstance(formula, str) and formula.startswith("="):
                problems.append(
                    f"Row {number}: cell {get_column_letter(column)}{number} holds a formula "
                    f"({formula[:40]}) with no saved result. Open the file in your spreadsheet program, "
                    "save it, and upload it again, or paste the values in place of the formulas."
                )
        rows.append(list(value_row))
    values_book.close()
    formula_book.close()
    if problems:
        raise ImportRefused("\n".join(problems))
    if not rows:
        raise ImportRefused(f"{name} is empty.")
    return _tidy(rows[0], rows[1:])


def _read_json(text: str, name: str) -> tablib.Dataset:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportRefused(f"{name} is not valid JSON (line {error.lineno}: {error.msg}).") from None
    except RecursionError:
        raise ImportRefused(f"{name} nests lists or objects too deeply to be a table of figures.") from None
    if isinstance(data, dict) and isinstance(data.get("figures"), list):
        data = data["figures"]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ImportRefused(f'{name} must hold a list of objects, one per row, e.g. [{{"period": …}}].')
    if not data:
        raise ImportRefused(f"{name} holds no rows.")
    headers = list(dict.fromkeys(key for item in data for key in item))
    if not headers:
        raise ImportRefused(f'{name} holds only empty objects: each row needs its columns, e.g. "value".')
    return _tidy(headers, [[item.get(h) for h in headers] for item in data])


def _read_csv(text: str, name: str) -> tablib.Dataset:
    import csv

    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ImportRefused(f"{name} is not a readable CSV file ({error}).") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ImportRefused(f"{name} is empty.")
    width = len(rows[0])
    if width == 1 and (";" in rows[0][0] or "\t" in rows[0][0]):
        separator = "semicolons" if ";" in rows[0][0] else "tabs"
        raise ImportRefused(
            f"{name} separates its columns with {separator}. Save it as “CSV (comma delimited)” "
            "or “CSV UTF-8”, with full stops for decimals."
        )
    for number, row in enumerate(rows[1:], 2):
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            raise ImportRefused(
                f"Row {number} has {len(row)} cells but the heading row has {width}. "
                "Check for a stray comma, or a number written with a comma that is not in quotes."
            )
    return _tidy(rows[0], [row[:width] for row in rows[1:]])


@dataclass
class Upload:
    name: str
    format: str
    dataset: tablib.Dataset
    encoding: str = ""


def dataset_from_bytes(data: bytes, name: str, expected: str) -> Upload:
    """Read `data` as `expected` (csv, xlsx or json), refusing it if its content says otherwise."""
    check_size(name, len(data))
    if not data.strip():
        raise ImportRefused(f"{name} is empty.")
    actual = sniff(data)
    if actual in ("xls", "pdf", "binary"):
        what = {
            "xls": "an old Excel 97–2003 workbook; save it as .xlsx",
            "pdf": "a PDF document, not a spreadsheet",
            "binary": "not a spreadsheet or a text file",
        }[actual]
        raise ImportRefused(f"{name} is {what}.")
    if actual != expected and not (expected == "json" and actual == "csv"):
        raise ImportRefused(
            f"{name} is named as {FORMAT_NAMES[expected]} but is {FORMAT_NAMES[actual]}. "
            "Save it again in the right format, or give it the right name."
        )
    if expected == "xlsx":
        upload = Upload(name, "xlsx", _read_xlsx(data, name))
    else:
        text, encoding = decode_text(data, name)
        read = _read_json if expected == "json" else _read_csv
        upload = Upload(name, expected, read(text, name), encoding)
    refuse_null_characters(upload.dataset)
    return upload


def refuse_null_characters(dataset: tablib.Dataset) -> None:
    """A NUL character is never meant, and PostgreSQL cannot store one: name each cell that holds one."""
    problems = [
        f"Column {column} has a heading with a null character (\\x00) in it. Type the heading again."
        for column, header in enumerate(dataset.headers or [], 1)
        if "\x00" in str(header)
    ]
    for number, row in enumerate(dataset, 2):
        for header, value in zip(dataset.headers or [], row, strict=False):
            if isinstance(value, str) and "\x00" in value:
                problems.append(
                    f"Row {number}, column “{header}”: the cell holds a null character (\\x00), which is "
                    "not text. Type the cell again."
                )
    if problems:
        raise ImportRefused("\n".join(problems[:20]))


def read_upload(data: bytes, name: str) -> Upload:
    """The rows of an uploaded CSV, XLSX or JSON file, or ImportRefused saying what is wrong."""
    name = PurePath(name or "file").name
    expected = EXTENSIONS.get(PurePath(name).suffix.lower())
    if expected is None:
        check_size(name, len(data))
        raise ImportRefused(f"{name} is not a file we can read: upload a .csv, .xlsx or .json file.")
    return dataset_from_bytes(data, name, expected)


# -- Running the import ------------------------------------------------------------------------


@dataclass
class FigureImport:
    """What an import would do (dry run) or did."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def summary(self) -> str:
        confirmed = self.count("confirmed")
        return (
            f"{len(self.changes)} rows: {self.count('new')} new, {self.count('changed')} changed, "
            + (f"{confirmed} confirmed as still right, " if confirmed else "")
            + f"{self.count('unchanged')} unchanged"
        )


def _result_problems(result) -> list[str]:
    problems = [str(p) for p in getattr(result, "problems", [])]
    if problems:
        return problems
    problems = [str(error.error) for error in result.base_errors]
    for row in result.invalid_rows:
        for messages in row.error_dict.values():
            problems.extend(f"Row {row.number + 1}: {m}" for m in messages)
    for number, errors in result.row_errors():
        problems.extend(f"Row {number + 1}: {error.error}" for error in errors)
    return problems


def import_figures(
    dataset: tablib.Dataset,
    *,
    release: Release | None = None,
    reason: str = "",
    user=None,
    dry_run: bool = True,
) -> FigureImport:
    """Check (dry run) or apply a file of figures: all rows in one transaction, or none."""
    resource = FigureResource(release=release, reason=reason, user=user)
    with transaction.atomic():
        result = resource.import_data(
            dataset,
            dry_run=dry_run,
            raise_errors=False,
            use_transactions=True,
            rollback_on_validation_errors=True,
            user=user,
        )
        outcome = FigureImport(
            problems=_result_problems(result)
            if result.has_errors() or result.has_validation_errors()
            else [],
            warnings=list(resource.warnings),
            changes=list(resource.changes),
        )
        if outcome.ok and not dry_run:
            record_import_corrections(changes=outcome.changes, reason=reason, user=user)
            record_import_explanations(changes=outcome.changes, reason=reason, user=user)
            touched = {c.release.pk for c in outcome.changes if c.writes}
            services.record_edits(touched, by=user, reason="Imported figures")
            explained = Correction.objects.filter(
                release__in=touched, release__status=Release.Status.DRAFT, figure__isnull=False
            ).values_list("release_id", flat=True)
            for release in Release.objects.filter(pk__in=set(explained)):
                services.refresh_explanations(release)
            outcome.applied = True
            caching.invalidate()  # bulk writes send no signals
    return outcome


def record_import_explanations(*, changes: list[Change], reason: str, user=None) -> list[Correction]:
    """One note per fall the import's explanation explains in a draft, published with the release."""
    falls = [c for c in changes if c.needs_explanation]
    if not falls:
        return []
    figures = {
        (f.release_id, f.metric_id): f
        for f in Figure.objects.filter(
            release__in={c.release.pk for c in falls}, metric__in={c.metric.pk for c in falls}
        ).select_related("metric")
    }
    by = user if getattr(user, "pk", None) else None
    return Correction.objects.bulk_create(
        Correction(
            release=c.release,
            figure=figures[(c.release.pk, c.metric.pk)],
            subject=c.metric.name,
            reason=reason.strip(),
            created_by=by,
        )
        for c in falls
    )


def record_import_corrections(*, changes: list[Change], reason: str, user=None) -> list[Correction]:
    """One public correction per figure an import changes in a published release."""
    changed = [c for c in changes if needs_correction(c.release) and c.changes_anything]
    if not changed:
        return []
    figures = {
        (f.release_id, f.metric_id): f
        for f in Figure.objects.filter(
            release__in={c.release.pk for c in changed}, metric__in={c.metric.pk for c in changed}
        )
    }
    by = user if getattr(user, "pk", None) else None
    return Correction.objects.bulk_create(
        Correction(
            release=c.release,
            figure=figures.get((c.release.pk, c.metric.pk)),
            subject=c.metric.name,
            old_value=c.was if c.old else "",
            new_value=c.now,
            reason=reason.strip(),
            created_by=by,
        )
        for c in changed
    )


# -- The supplier template -------------------------------------------------------------------------


def supplier_template(release: Release) -> bytes:
    """An XLSX for `release`: one row per metric with last release's value and an empty value column."""
    _, previous_values = previous_figure_values(
        release, among=Release.objects.exclude(status=Release.Status.WITHDRAWN)
    )
    current = dict(Figure.objects.filter(release=release).values_list("metric_id", "as_of"))
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
                    None,
                    current.get(metric.pk),
                    None,
                    None,
                )
            ]
        )
    return dataset.export("xlsx")
