"""Tidy figure downloads (CSV, XLSX, JSON): one row per figure, cells safe to open in a spreadsheet.

Plain values in, bytes or strings out; the views decide which rows.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.styles import Font

from common.cells import human_size, plain_number, safe_cell  # noqa: F401  (human_size: downloads.human_size)

COLUMNS = (
    "period",
    "programme",
    "metric_slug",
    "metric_name",
    "kind",
    "unit",
    "value",
    "as_of",
    "qualifier",
    "note",
    "release_url",
)


@dataclass(frozen=True)
class Row:
    period: date
    programme: str
    metric_slug: str
    metric_name: str
    kind: str
    unit: str
    value: Decimal
    as_of: date | None
    qualifier: str
    note: str
    release_url: str

    @classmethod
    def of_figure(cls, figure, *, metric, release_url: str, period: date | None = None) -> Row:
        """The row for one figure of `metric` (passed in, so callers choose how it was fetched): a saved
        one, or one as it stood then (`stats.vintages`, which gives its release's `period`)."""
        return cls(
            period=period or figure.release.period_date,
            programme=metric.programme.name,
            metric_slug=metric.slug,
            metric_name=metric.name,
            kind=figure.kind,
            unit=metric.unit,
            value=figure.value,
            as_of=figure.as_of,
            qualifier=figure.qualifier,
            note=figure.note,
            release_url=release_url,
        )

    def cells(self) -> tuple:
        """Values in COLUMNS order, numbers and dates native, text made safe by `safe_cell`."""
        return tuple(
            safe_cell(value)
            for value in (
                self.period,
                self.programme,
                self.metric_slug,
                self.metric_name,
                self.kind,
                self.unit,
                plain_number(self.value),
                self.as_of,
                self.qualifier,
                self.note,
                self.release_url,
            )
        )


def document_rows(document, *, release_url: str) -> list[Row]:
    """The rows of one release, from the same document the page shows."""
    return [
        Row(
            period=document.period_date,
            programme=section.programme_name,
            metric_slug=figure.metric_slug,
            metric_name=figure.metric_name,
            kind=figure.kind,
            unit=figure.unit,
            value=figure.value,
            as_of=figure.as_of,
            qualifier=figure.qualifier,
            note=figure.note,
            release_url=release_url,
        )
        for section in document.sections
        for figure in section.figures
    ]


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


class _Echo:
    def write(self, value):
        return value


# A CSV is plain UTF-8 (RFC 4180, and what CSV on the Web processors read: a byte order mark would
# stick to the first column's name). Excel, opening a double-clicked CSV, reads it in the computer's own
# code page and shows "£" as "Â£" unless the file starts with a byte order mark: each CSV also comes
# "for Excel", the same bytes after the mark (`excel_ready`).
BOM = "\ufeff"
BOM_BYTES = BOM.encode("utf-8")


def csv_lines(rows: Iterable[Row]) -> Iterator[str]:
    """CSV text line by line (header first), for streaming."""
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for row in rows:
        yield writer.writerow([_csv_cell(cell) for cell in row.cells()])


def to_csv(rows: Iterable[Row]) -> bytes:
    return "".join(csv_lines(rows)).encode("utf-8")


EXCEL_SUFFIX = ".excel.csv"  # /statistics/2010-03-03.excel.csv beside /statistics/2010-03-03.csv
EXCEL_LABEL = "The same figures as comma-separated values, ready to open in Excel"


def excel_ready(response: HttpResponse | StreamingHttpResponse) -> HttpResponse | StreamingHttpResponse:
    """A CSV answer made ready for Excel: the same rows after a byte order mark, under its own name.

    It drops the CSV's pointer to its CSV on the Web metadata, which describes the file without the mark.
    """
    if response.status_code != 200:
        return response
    if response.streaming:
        response.streaming_content = itertools.chain([BOM_BYTES], response.streaming_content)
    else:
        response.content = BOM_BYTES + response.content
    if "Link" in response:
        del response["Link"]
    if "Content-Disposition" in response:
        response["Content-Disposition"] = response["Content-Disposition"].replace('.csv"', '-excel.csv"')
    return response


def to_xlsx(rows: Iterable[Row], *, sheet_title: str = "Figures") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title[:31]
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row.cells()))
        sheet.cell(sheet.max_row, 1).number_format = "yyyy-mm-dd"
        if row.as_of:
            sheet.cell(sheet.max_row, 8).number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHIJK", (12, 30, 28, 40, 10, 12, 16, 12, 14, 30, 50), strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_json(data) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")


def file_response(content: bytes, *, filename: str, fmt: str) -> HttpResponse:
    """A download: content with its type and a file name (JSON shown in the browser, others saved)."""
    data_format = DATA_FORMATS[fmt]
    response = HttpResponse(content, content_type=data_format.content_type)
    disposition = "inline" if data_format.inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def streamed_csv(rows: Iterable[Row], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(rows), content_type=CONTENT_TYPES["csv"])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@dataclass(frozen=True)
class DataFormat:
    """One format the figures download in: a release's and a series' files, the page's link, the URL.

    Adding a format is one more entry in DATA_FORMATS (and a test): the release page lists it, the
    release's files and a series' downloads build it, and its address answers.
    """

    name: str  # the file extension, in addresses: /statistics/2010-03-03.csv
    label: str  # the release page's link text
    content_type: str
    write: Callable[..., bytes]  # write(rows, *, title=sheet title, payload=callable giving the JSON data)
    inline: bool = False  # shown in the browser rather than saved
    kept_by_csv: bool = False  # slow to build: kept in the cache under the digest of the CSV it mirrors


DATA_FORMATS = {
    data_format.name: data_format
    for data_format in (
        DataFormat(
            "xlsx",
            "Figures as a spreadsheet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            lambda rows, *, title, payload: to_xlsx(rows, sheet_title=title),
            kept_by_csv=True,
        ),
        DataFormat(
            "csv",
            "Figures as comma-separated values, for data tools such as R, Python and databases",
            "text/csv; charset=utf-8",
            lambda rows, *, title, payload: to_csv(rows),
        ),
        DataFormat(
            "json",
            "Figures as structured data",
            "application/json",
            lambda rows, *, title, payload: to_json(payload()),
            inline=True,
        ),
    )
}
CONTENT_TYPES = {name: data_format.content_type for name, data_format in DATA_FORMATS.items()}
