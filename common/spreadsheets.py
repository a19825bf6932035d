"""Reading an uploaded spreadsheet safely: CSV, XLSX or JSON bytes in, a `tablib.Dataset` out.

Every file is untrusted: its size, rows, columns and (for a workbook) unpacked size are checked
against the NEWSROOM_IMPORT_* settings while it is read, before anything is held whole, and a
workbook's XML is parsed by defusedxml (openpyxl uses it when it is installed), which refuses
entity expansion and external entities. Any problem raises `ImportRefused` with a message that
names what and where. Used by every import in the admin; knows nothing of any app.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath

import tablib
from defusedxml import DefusedXmlException
from django.conf import settings

from common.cells import human_size

logger = logging.getLogger(__name__)


class ImportRefused(Exception):
    """The file cannot be imported; the message says why and where."""


EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json"}
NOT_HELD = "The uploaded file is no longer held (it was imported already, or it expired). Upload it again."
FORMAT_NAMES = {"csv": "a CSV file", "xlsx": "an Excel workbook (.xlsx)", "json": "a JSON file"}
# Excel's own limit: no spreadsheet program saves a longer cell.
MAX_CELL_CHARACTERS = 32_767


def max_upload_bytes() -> int:
    return int(settings.NEWSROOM_IMPORT_MAX_BYTES)


def max_rows() -> int:
    return int(settings.NEWSROOM_IMPORT_MAX_ROWS)


def max_columns() -> int:
    return int(settings.NEWSROOM_IMPORT_MAX_COLUMNS)


def max_unzipped_bytes() -> int:
    return int(settings.NEWSROOM_IMPORT_MAX_UNZIPPED_BYTES)


size_label = human_size  # one way to write a file's size, here and on the public pages


def check_size(name: str, size: int) -> None:
    limit = max_upload_bytes()
    if size > limit:
        raise ImportRefused(
            f"{name} is {size_label(size)}; the limit is {size_label(limit)}. Split it into smaller files."
        )


def shown(value, length: int = 40) -> str:
    """A value from inside a file, short enough to quote in a message."""
    text = " ".join(str(value).split())
    return text if len(text) <= length else text[: length - 1] + "…"


def refuse_too_many_columns(name: str, columns: int, where: str) -> None:
    limit = max_columns()
    if columns > limit:
        raise ImportRefused(
            f"{name} has {columns:,} columns {where}; the most a file may have is {limit:,}. Keep only "
            "the columns the import needs: a stray value far to the right of the table counts too."
        )


def refuse_too_many_rows(name: str, rows: int, *, objects: bool = False) -> None:
    limit = max_rows()
    if rows > limit:
        what, each = (
            ("rows (objects in its list)", "")
            if objects
            else ("rows below the heading row", ", each with it")
        )
        raise ImportRefused(
            f"{name} has {rows:,} {what}; the most a file may have is {limit:,}. "
            f"Split it into files of up to {limit:,} rows{each}."
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


# One well-formed UTF-8 character of two to four bytes (RFC 3629): text in a single-byte encoding
# such as Windows-1252 almost never holds one by chance.
_UTF8_CHARACTER = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_CELL_EDGE = b',;\t"\r\n'


def _line(data: bytes, at: int) -> int:
    return data.count(b"\n", 0, at) + 1


def _cell_around(data: bytes, at: int, encoding: str) -> str:
    """The cell (at most 30 bytes of it) holding byte `at`, decoded as `encoding`."""
    start = end = at
    while start > 0 and at - start < 15 and data[start - 1] not in _CELL_EDGE:
        start -= 1
    while end < len(data) and end - at < 15 and data[end] not in _CELL_EDGE:
        end += 1
    return shown(data[start:end].decode(encoding, errors="replace"))


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Text from UTF-8 (with or without a BOM), UTF-16 with a BOM, or Windows-1252.

    A file that is not UTF-8 but holds UTF-8 characters mixes two encodings (rows pasted from
    elsewhere): read either way, some letters would come out wrong, so it is refused.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as error:
            raise ImportRefused(
                f"{name} is not readable text: it starts as UTF-16 but line {_line(data, error.start)} "
                "is not. Save it as “CSV UTF-8” from your spreadsheet program."
            ) from None
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as error:
        not_utf8 = error.start
    utf8 = _UTF8_CHARACTER.search(data)
    if utf8:
        if utf8.start() == 0 and data.startswith(b"\xef\xbb\xbf"):
            written = "starts with the mark of a UTF-8 file"
        else:
            written = f"is in UTF-8 (“{_cell_around(data, utf8.start(), 'utf-8')}”)"
        raise ImportRefused(
            f"{name} mixes two text encodings, so some letters would come out wrong: line "
            f"{_line(data, utf8.start()):,} {written}, but line {_line(data, not_utf8):,} is not "
            f"(“{_cell_around(data, not_utf8, 'cp1252')}” if it is Windows-1252). Save the whole file "
            "as “CSV UTF-8” from your spreadsheet program and upload it again."
        )
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


def plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 12.50 -> '12.5'."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def as_read(cell):
    """A cell's value as the supplier sees it: a cell formatted as a percentage holds 0.125 for 12.5%."""
    value = getattr(cell, "value", None)
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and "%" in (getattr(cell, "number_format", "") or "")
    ):
        return f"{plain(Decimal(repr(value)) * 100)}%"
    return value


# -- Excel workbooks ---------------------------------------------------------------------------------

# Other files that are zip archives too, by a part only they have.
_OTHER_ZIPS = {
    "word/document.xml": "a Word document",
    "ppt/presentation.xml": "a PowerPoint presentation",
    "content.xml": "an OpenDocument file (save it from your spreadsheet program as .xlsx)",
}


def _not_a_workbook(name: str) -> str:
    return (
        f"{name} is not a readable Excel workbook: it may be damaged, or another kind of file renamed "
        "to .xlsx. Open it in your spreadsheet program and save it as an Excel workbook (.xlsx)."
    )


def _check_workbook_parts(data: bytes, name: str) -> None:
    """Refuse a workbook whose parts would unpack to more than the limit, before any is unpacked.

    The sizes are those the archive declares; zipfile never unpacks more than a part declares
    (a part that holds more fails its checksum).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except Exception:  # BadZipFile, and whatever else a crafted directory of parts makes zipfile raise
        raise ImportRefused(_not_a_workbook(name)) from None
    limit = max_unzipped_bytes()
    unpacked = sum(part.file_size for part in parts)
    if unpacked > limit:
        biggest = max(parts, key=lambda part: part.file_size)
        raise ImportRefused(
            f"{name} unpacks to {size_label(unpacked)}, of which its part “{shown(biggest.filename)}” "
            f"alone is {size_label(biggest.file_size)}; the most a workbook may unpack to is "
            f"{size_label(limit)}. A workbook of figures is far smaller: the file may be damaged, or made "
            "to overload the server. Copy the table into a new workbook, or save it as CSV, and upload that."
        )
    names = {part.filename for part in parts}
    if "[Content_Types].xml" not in names:
        other = next((what for part, what in _OTHER_ZIPS.items() if part in names), None)
        listed = ", ".join(f"“{shown(part)}”" for part in sorted(names)[:3]) or "nothing"
        raise ImportRefused(
            f"{name} is {other or 'a zip archive of other files'}, not an Excel workbook (it holds "
            f"{listed}{'…' if len(names) > 3 else ''}). Upload the spreadsheet itself, saved as .xlsx."
        )


def _part_declaring_entities(data: bytes) -> str:
    """The workbook part that declares XML entities (only asked once parsing refused one)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for part in archive.infolist():
                with archive.open(part) as source:
                    text = source.read()
                if b"<!ENTITY" in text or "<!ENTITY".encode("utf-16-le") in text:
                    return part.filename
    except Exception:  # a damaged part: the message then names no part
        pass
    return ""


def _refuse_beyond_limits(sheet, name: str, number: int, cells: tuple, declared: tuple[int, int]) -> None:
    """Refuse a sheet with a cell (even an empty one with formatting) past the row or column limit."""
    from openpyxl.cell.read_only import EMPTY_CELL
    from openpyxl.utils import get_column_letter

    most_rows, most_columns = max_rows(), max_columns()
    where = f"{name}, sheet “{shown(sheet.title)}”"
    fix = (
        "Delete what lies beyond the table (select those rows or columns and delete them), or copy the "
        "table into a new workbook, and save it again."
    )
    beyond = cells if number > most_rows + 1 else cells[most_columns:]
    real = [cell for cell in beyond if cell is not EMPTY_CELL]
    cell = next((cell for cell in real if not _blank(cell.value)), real[-1] if real else None)
    if cell is None:  # a row with no cells: it may be formatted
        if declared[0] > most_rows + 1:
            what = f"the sheet goes on to cell {get_column_letter(max(declared[1], 1))}{declared[0]}"
        else:
            what = f"the sheet goes on below row {most_rows + 1:,}, though it looks empty there"
    elif _blank(cell.value):
        what = f"cell {cell.coordinate} is formatted, though empty"
    else:
        what = f"cell {cell.coordinate} holds “{shown(cell.value)}”"
    if number > most_rows + 1:
        raise ImportRefused(
            f"{where}: {what}; the most a file may have is {most_rows:,} rows below the heading row "
            f"(to row {most_rows + 1:,}). {fix}"
        )
    raise ImportRefused(
        f"{where}: row {number:,} reaches column {len(cells):,} ({get_column_letter(len(cells))}), and "
        f"{what}; the most a file may have is {most_columns:,} columns (to column "
        f"{get_column_letter(most_columns)}). {fix}"
    )


def _sheet_rows(sheet, name: str) -> tuple[list[list], bool, bool]:
    """A worksheet's rows (row 1 first), read as they stream, and whether any cell holds a value.

    No cell may lie beyond the row and column limits, even an empty one with formatting (openpyxl
    fills a row out to its last cell): the first one refuses the file, and nothing more is read.
    Also says whether any cell exists but holds no value: it may be a formula with no saved result.
    """
    from openpyxl.cell.read_only import EMPTY_CELL

    most_rows, most_columns = max_rows(), max_columns()
    declared = (sheet.max_row or 0, sheet.max_column or 0)
    sheet.reset_dimensions()  # some programs write wrong sizes; read what is really there
    rows: list[list] = []
    has_value = no_value = False
    for number, cells in enumerate(sheet.iter_rows(), 1):
        if number > most_rows + 1 or len(cells) > most_columns:
            _refuse_beyond_limits(sheet, name, number, cells, declared)
        values = [as_read(cell) for cell in cells]
        rows.append(values)
        has_value = has_value or any(not _blank(value) for value in values)
        no_value = no_value or any(
            value is None and cell is not EMPTY_CELL for cell, value in zip(cells, values, strict=True)
        )
    return rows, has_value, no_value


def _refuse_unsaved_formulas(data: bytes, title: str, rows: list[list]) -> None:
    """Name each formula with no saved result: the workbook read again, with formulas, as far as `rows`."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        sheet = book[title]
        sheet.reset_dimensions()
        width = max(len(row) for row in rows)
        problems = [
            f"Row {number}: cell {get_column_letter(column)}{number} holds a formula "
            f"({formula[:40]}) with no saved result. Open the file in your spreadsheet program, "
            "save it, and upload it again, or paste the values in place of the formulas."
            for number, (values, formulas) in enumerate(
                zip(rows, sheet.iter_rows(max_row=len(rows), max_col=width, values_only=True), strict=False),
                1,
            )
            for column, formula in enumerate(formulas, 1)
            if isinstance(formula, str)
            and formula.startswith("=")
            and (column > len(values) or values[column - 1] is None)
        ]
    finally:
        book.close()
    if problems:
        raise ImportRefused("\n".join(problems))


def _read_workbook(data: bytes, name: str) -> tablib.Dataset:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = [(sheet.title, *_sheet_rows(sheet, name)) for sheet in book.worksheets]
    finally:
        book.close()
    sheets = [sheet for sheet in sheets if sheet[2]]
    if len(sheets) > 1:
        names = ", ".join(f"“{shown(title)}”" for title, *_ in sheets)
        raise ImportRefused(
            f"{name} has {len(sheets)} sheets with data ({names}). Keep only the sheet with the figures."
        )
    if not sheets:
        raise ImportRefused(f"{name} is empty.")
    title, rows, _, no_value = sheets[0]
    if no_value:
        _refuse_unsaved_formulas(data, title, rows)
    return _tidy(rows[0], rows[1:])


def _declares_entities(error: BaseException | None) -> bool:
    """Whether defusedxml refused the XML: openpyxl passes it on as the cause of its own error."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, DefusedXmlException):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _read_xlsx(data: bytes, name: str) -> tablib.Dataset:
    _check_workbook_parts(data, name)
    try:
        return _read_workbook(data, name)
    except ImportRefused:
        raise
    except Exception as error:  # openpyxl and zipfile raise many kinds of error for a damaged file
        if _declares_entities(error):
            part = _part_declaring_entities(data)
            raise ImportRefused(
                f"{name} was not read: {f'its part “{shown(part)}”' if part else 'it'} declares XML "
                "entities, which spreadsheet programs never write, so the file may have been made to attack "
                "the server. Ask whoever sent it for a new copy saved from Excel, or copy the table into a "
                "new workbook."
            ) from None
        logger.info("Refused an unreadable workbook, %s: %s: %s", name, type(error).__name__, error)
        raise ImportRefused(_not_a_workbook(name)) from None


# -- CSV and JSON ------------------------------------------------------------------------------------


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
    refuse_too_many_rows(name, len(data), objects=True)
    headers = list(dict.fromkeys(key for item in data for key in item))
    if not headers:
        raise ImportRefused(f'{name} holds only empty objects: each row needs its columns, e.g. "value".')
    refuse_too_many_columns(name, len(headers), "(names used across its objects)")
    return _tidy(headers, [[item.get(h) for h in headers] for item in data])


def _used_width(row: list[str]) -> int:
    """Cells up to the last one that is not blank."""
    width = len(row)
    while width and not row[width - 1].strip():
        width -= 1
    return width


def _read_csv(text: str, name: str) -> tablib.Dataset:
    """The rows of a CSV, refusing it at the first row past the column limit, or when it has too many.

    Rows past the row limit are only counted, to say how many there are.
    """
    rows, more = _csv_rows(text, name)
    if not rows:
        raise ImportRefused(f"{name} is empty.")
    refuse_too_many_rows(name, len(rows) - 1 + more)
    width = _heading_width(rows, name)
    return _tidy(rows[0], [row[:width] for row in rows[1:]])


def _csv_rows(text: str, name: str) -> tuple[list[list[str]], int]:
    """The CSV's rows that are not blank, up to the row limit, and how many more there are past it.

    Refuses the file at the first row past the column limit, or where the csv module cannot read on.
    """
    most_rows, most_columns = max_rows(), max_columns()
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    more = 0  # rows past the limit, only counted
    number = 0
    try:
        for number, row in enumerate(reader, 1):
            if not any(cell.strip() for cell in row):
                continue
            if len(rows) > most_rows:
                more += 1
                continue
            if len(row) > most_columns:
                refuse_too_many_columns(name, _used_width(row), f"in row {number:,}")
            rows.append(row)
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise ImportRefused(
                f"{name}: row {number + 1:,} has a cell of more than {csv.field_size_limit():,} characters; "
                f"the most a cell may hold is {MAX_CELL_CHARACTERS:,}, as in Excel. Check for a quotation "
                'mark (") that opens a cell and is never closed.'
            ) from None
        raise ImportRefused(f"{name} is not a readable CSV file (row {number + 1:,}: {error}).") from None
    return rows, more


def _heading_width(rows: list[list[str]], name: str) -> int:
    """How many columns the heading row has, refusing a file separated by something other than commas,
    or with a row that has cells past the heading row's."""
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
    return width


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
            "xls": "an old Excel 97–2003 workbook, or one protected by a password; save it as .xlsx "
            "without a password",
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
    refuse_bad_cells(upload.dataset)
    return upload


def refuse_bad_cells(dataset: tablib.Dataset) -> None:
    """Name each cell holding a null character (never meant; PostgreSQL cannot store one) or more
    text than Excel allows in a cell."""
    headers = dataset.headers or []
    problems = [
        f"Column {column} has a heading with a null character (\\x00) in it. Type the heading again."
        for column, header in enumerate(headers, 1)
        if "\x00" in str(header)
    ]
    problems += [
        f"Column {column} has a heading of {len(header):,} characters; the most a cell may hold is "
        f"{MAX_CELL_CHARACTERS:,}, as in Excel."
        for column, header in enumerate(headers, 1)
        if isinstance(header, str) and len(header) > MAX_CELL_CHARACTERS
    ]
    for number, row in enumerate(dataset, 2):
        for header, value in zip(headers, row, strict=False):
            if not isinstance(value, str):
                continue
            if "\x00" in value:
                problems.append(
                    f"Row {number}, column “{shown(header)}”: the cell holds a null character (\\x00), which "
                    "is not text. Type the cell again."
                )
            if len(value) > MAX_CELL_CHARACTERS:
                problems.append(
                    f"Row {number}, column “{shown(header)}”: the cell holds {len(value):,} characters; the "
                    f"most a cell may hold is {MAX_CELL_CHARACTERS:,}, as in Excel."
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
