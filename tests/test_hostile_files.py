"""Hostile spreadsheets, built here in memory: every admin import refuses them quickly, says what and
where, and changes nothing.

Each file stood for an attack found on a production-like deployment: a worker tied up past 60 s, a
500, or a file read wrongly without a word.
"""

import functools
import io
import json
import time
import zipfile
from html import unescape

import openpyxl
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from common.spreadsheets import ImportRefused, read_upload
from contacts.models import MediaContact
from stats.models import Correction, Figure, Metric, Programme, Release, Statement

from . import factories

SHEET = "xl/worksheets/sheet1.xml"
GUARD_SECONDS = 5  # a guard against hangs, not a benchmark
VALID_ROW = "2010-03-10,eps-messages-total,306774300"
SECRET = "newsroom-secret-7c1f9e"  # what the XXE file tries to read, from a file the test writes


def workbook(*rows, title="Figures") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows or (["period", "metric_slug", "value"], ["2010-03-10", "eps-messages-total", 306774300]):
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_part(data: bytes, part: str, change) -> bytes:
    """The workbook `data` with one part's text changed by `change` (text -> text)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            content = source.read(info.filename)
            copy.writestr(info.filename, change(content.decode()) if info.filename == part else content)
    return out.getvalue()


def with_doctype(doctype: str, use: str):
    """Put a DOCTYPE before a part's root element, and `use` (an entity reference) into its first text."""

    def change(text: str) -> str:
        if text.startswith("<?xml"):
            declaration, text = text.split("?>", 1)
            return declaration + "?>" + doctype + text
        return doctype + text.replace("<t>period</t>", f"<t>{use}</t>", 1)

    return change


LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">' for n in range(1, 10))
    + "]>"
)


def billion_laughs(part=SHEET) -> bytes:
    return with_part(workbook(), part, with_doctype(LAUGHS, "&lol9;"))


def external_entities(secret_path) -> bytes:
    doctype = (
        '<!DOCTYPE worksheet [<!ENTITY passwd SYSTEM "file:///etc/passwd">'
        f'<!ENTITY secret SYSTEM "file://{secret_path}">]>'
    )
    return with_part(workbook(), SHEET, with_doctype(doctype, "&passwd;&secret;"))


@functools.cache
def zip_bomb() -> bytes:
    """A workbook whose worksheet declares (and really unpacks to) 147 MB: about 150 KB packed.

    The worksheet is written in one-megabyte pieces, so building it never holds 147 MB.
    """
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for info in source.infolist():
            if info.filename != SHEET:
                bomb.writestr(info.filename, source.read(info.filename))
        with bomb.open(SHEET, "w", force_zip64=True) as sheet:
            sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            sheet.write(b'<sheetData><row r="1">')
            cell = b'<c t="inlineStr"><is><t>' + b"A" * (1 << 20) + b"</t></is></c>"
            for _ in range(147):
                sheet.write(cell)
            sheet.write(b"</row></sheetData></worksheet>")
    return out.getvalue()


def far_away_cell(reference: str) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(workbook()))
    book.active[reference] = "x"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_of_other_files() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.pdf", b"%PDF-1.4 not a spreadsheet")
        archive.writestr("notes.txt", "figures to follow")
    return out.getvalue()


def rows_csv(count: int) -> bytes:
    return ("period,metric_slug,value\n" + f"{VALID_ROW}\n" * count).encode()


# name, how to build it (given the path of a secret file), and what the refusal must say.
HOSTILE = {
    "100000-columns-csv": (
        "wide.csv",
        lambda _: ("period,metric_slug,value" + ",x" * 99_997 + "\n" + VALID_ROW + "\n").encode(),
        ["wide.csv has 100,000 columns in row 1; the most a file may have is 50."],
    ),
    "50000-rows-csv": (
        "long.csv",
        lambda _: rows_csv(50_000),
        ["long.csv has 50,000 rows below the heading row; the most a file may have is 20,000."],
    ),
    "50000-rows-json": (
        "long.json",
        lambda _: json.dumps(
            [{"period": "2010-03-10", "metric_slug": "eps-messages-total", "value": 1}] * 50_000
        ).encode(),
        ["long.json has 50,000 rows (objects in its list); the most a file may have is 20,000."],
    ),
    "zip-bomb-xlsx": (
        "bomb.xlsx",
        lambda _: zip_bomb(),
        [
            "bomb.xlsx unpacks to 147.0 MB, of which its part “xl/worksheets/sheet1.xml” alone is 147.0 MB; "
            "the most a workbook may unpack to is 20.0 MB."
        ],
    ),
    "billion-laughs-xlsx": (
        "laughs.xlsx",
        lambda _: billion_laughs(),
        ["laughs.xlsx was not read: its part “xl/worksheets/sheet1.xml” declares XML entities"],
    ),
    "external-entity-xlsx": (
        "xxe.xlsx",
        external_entities,
        ["xxe.xlsx was not read: its part “xl/worksheets/sheet1.xml” declares XML entities"],
    ),
    "mixed-encoding-csv": (
        "mixed.csv",
        lambda _: (
            "period,metric_slug,value,note\n2010-03-10,eps-messages-total,306774300,café\n".encode()
            + "2010-03-10,eps-messages-week,2,Zoë\n".encode("cp1252")
        ),
        [
            "mixed.csv mixes two text encodings",
            "line 2 is in UTF-8 (“café”), but line 3 is not (“Zoë” if it is Windows-1252)",
        ],
    ),
    "far-away-cell-xlsx": (
        "far.xlsx",
        lambda _: far_away_cell("XFD1048576"),
        [
            "far.xlsx, sheet “Figures”: the sheet goes on to cell XFD1048576; the most a file may have is "
            "20,000 rows below the heading row"
        ],
    ),
    "far-right-cell-xlsx": (
        "right.xlsx",
        lambda _: far_away_cell("XFD2"),
        [
            "right.xlsx, sheet “Figures”: row 2 reaches column 16,384 (XFD), and cell XFD2 holds “x”; "
            "the most a file may have is 50 columns (to column AX)."
        ],
    ),
    "zip-of-other-files-named-xlsx": (
        "other.xlsx",
        lambda _: zip_of_other_files(),
        [
            "other.xlsx is a zip archive of other files, not an Excel workbook "
            "(it holds “notes.txt”, “report.pdf”)"
        ],
    ),
    "password-protected-xlsx": (
        "locked.xlsx",
        lambda _: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096),
        ["locked.xlsx is an old Excel 97–2003 workbook, or one protected by a password"],
    ),
    "10-mb-cell-csv": (
        "huge-cell.csv",
        lambda _: (
            b"period,metric_slug,value,note\n2010-03-10,eps-messages-total,1," + b"x" * (10 << 20) + b"\n"
        ),
        ["huge-cell.csv is 10.0 MB; the limit is 5.0 MB."],
    ),
    "4-mb-cell-csv": (
        "big-cell.csv",
        lambda _: (
            b"period,metric_slug,value,note\n2010-03-10,eps-messages-total,1," + b"x" * (4 << 20) + b"\n"
        ),
        [
            "big-cell.csv: row 2 has a cell of more than 131,072 characters; "
            "the most a cell may hold is 32,767"
        ],
    ),
    "unclosed-quote-csv": (
        "quote.csv",
        lambda _: (
            b'period,metric_slug,value,note\n2010-03-10,eps-messages-total,1,"Estimate\n'
            + f"{VALID_ROW},\n".encode() * 10_000
        ),
        [
            "quote.csv: row 2 has a cell of more than 131,072 characters",
            'a quotation mark (") that opens a cell',
        ],
    ),
    "40000-character-cell-csv": (
        "long-cell.csv",
        lambda _: b"period,metric_slug,value,note\n2010-03-10,eps-messages-total,1," + b"x" * 40_000 + b"\n",
        ["Row 2, column “note”: the cell holds 40,000 characters; the most a cell may hold is 32,767"],
    ),
}

FORMATS = {"csv": "0", "xlsx": "1", "json": "2"}  # the order of the admin's import formats


@pytest.fixture(scope="module")
def secret_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.fixture
def draft(seed_release):
    return factories.release(seed_release.period_date.replace(day=10))


def snapshot():
    """Every row an import could change."""
    models = [Figure, Programme, Metric, Release, Statement, Correction, MediaContact]
    rows = {model.__name__: list(model.objects.order_by("pk").values()) for model in models}
    rows["contact programmes"] = list(MediaContact.programmes.through.objects.order_by("pk").values())
    return rows


def library_import(model: str):
    def post(client, name, data):
        file = SimpleUploadedFile(name, data)
        fmt = FORMATS[name.rsplit(".", 1)[1]]
        return client.post(
            reverse(f"admin:{model}_import"), {"import_file": file, "format": fmt, "resource": "0"}
        )

    return post


def figure_import(url):
    def post(client, name, data, draft):
        return client.post(url(draft), {"import_file": SimpleUploadedFile(name, data), "reason": ""})

    return post


IMPORTS = {
    "figures-into-a-draft-release": figure_import(
        lambda draft: reverse("admin:statistics_release_import_figures", args=[draft.pk])
    ),
    "figure-list": figure_import(lambda draft: reverse("admin:statistics_figure_import")),
    "programmes": library_import("statistics_programme"),
    "metrics": library_import("statistics_metric"),
    "releases": library_import("statistics_release"),
    "statements": library_import("statistics_statement"),
    "media-contacts": library_import("contacts_mediacontact"),
}


def post(admin_client, draft, where, name, data):
    send = IMPORTS[where]
    return (
        send(admin_client, name, data, draft)
        if where.startswith("figure")
        else send(admin_client, name, data)
    )


def page_text(response) -> str:
    return unescape(response.content.decode())


@pytest.mark.parametrize("where", IMPORTS)
@pytest.mark.parametrize("case", HOSTILE)
def test_every_admin_import_refuses_a_hostile_file_quickly_and_changes_nothing(
    admin_client, draft, secret_path, case, where
):
    name, build, message = HOSTILE[case]
    data = build(secret_path)
    before = snapshot()
    started = time.monotonic()
    response = post(admin_client, draft, where, name, data)
    took = time.monotonic() - started
    assert response.status_code == 200
    assert took < GUARD_SECONDS, f"{case} took {took:.1f} s in the {where} import"
    text = page_text(response)
    for part in message:
        assert part in text, response.context.get("problems") or response.context["form"].errors
    assert response.context.get("confirm_form") is None
    assert "Traceback" not in text and "encountered while trying to read file" not in text
    assert SECRET not in text and "root:x:0:0" not in text
    assert snapshot() == before


def read_as_uploaded(data: bytes, name: str, max_bytes: int):
    """read_upload, after the size check the upload form makes first."""
    if len(data) > max_bytes:  # the upload form checks the size first
        from common.spreadsheets import check_size

        check_size(name, len(data))
    return read_upload(data, name)


@pytest.mark.parametrize("case", HOSTILE)
def test_read_upload_refuses_each_hostile_file_quickly(secret_path, settings, case):
    name, build, message = HOSTILE[case]
    data = build(secret_path)
    started = time.monotonic()
    with pytest.raises(ImportRefused) as refused:
        read_as_uploaded(data, name, settings.NEWSROOM_IMPORT_MAX_BYTES)
    assert time.monotonic() - started < GUARD_SECONDS
    for part in message:
        assert part in str(refused.value)
    assert SECRET not in str(refused.value)


# -- Safe XML -----------------------------------------------------------------------------------------


def test_openpyxl_parses_workbooks_with_defusedxml():
    from openpyxl.xml import DEFUSEDXML, functions

    assert DEFUSEDXML is True
    assert functions.iterparse.__module__.startswith("defusedxml")  # worksheets, as they stream
    assert functions.fromstring.__module__.startswith("defusedxml")  # every other part


@pytest.mark.parametrize(
    "part", ["xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels", SHEET]
)
def test_entities_are_refused_in_whichever_part_declares_them(part):
    with pytest.raises(ImportRefused) as refused:
        read_upload(billion_laughs(part), "laughs.xlsx")
    assert str(refused.value).startswith(f"laughs.xlsx was not read: its part “{part}” declares XML entities")


# -- Limits: settings, read once from the environment ----------------------------------------------


def test_limits_have_the_documented_defaults():
    from django.conf import settings

    assert settings.NEWSROOM_IMPORT_MAX_ROWS == 20_000
    assert settings.NEWSROOM_IMPORT_MAX_COLUMNS == 50
    assert settings.NEWSROOM_IMPORT_MAX_UNZIPPED_BYTES == 20 * 1024 * 1024
    assert settings.NEWSROOM_IMPORT_MAX_BYTES == 5 * 1024 * 1024


def test_a_csv_at_the_row_limit_is_read_and_one_row_more_is_refused(settings):
    settings.NEWSROOM_IMPORT_MAX_ROWS = 3
    assert read_upload(rows_csv(3), "f.csv").dataset.height == 3
    with pytest.raises(
        ImportRefused, match=r"f.csv has 4 rows below the heading row; the most a file may have is 3"
    ):
        read_upload(rows_csv(4), "f.csv")


def test_the_row_limit_of_20000_reads_in_a_few_seconds():
    started = time.monotonic()
    assert read_upload(rows_csv(20_000), "f.csv").dataset.height == 20_000
    assert time.monotonic() - started < GUARD_SECONDS


def test_a_stray_value_far_to_the_right_of_a_csv_is_refused_by_row(settings):
    settings.NEWSROOM_IMPORT_MAX_COLUMNS = 4
    body = f"period,metric_slug,value\n{VALID_ROW},,,\n{VALID_ROW},,,,,x\n".encode()
    with pytest.raises(ImportRefused, match=r"f.csv has 8 columns in row 3; the most a file may have is 4"):
        read_upload(body, "f.csv")
    assert read_upload(f"period,metric_slug,value\n{VALID_ROW},,,,,\n".encode(), "f.csv").dataset.width == 3


def test_a_json_file_with_too_many_names_is_refused(settings):
    settings.NEWSROOM_IMPORT_MAX_COLUMNS = 3
    body = json.dumps([{"period": "2010-03-10", "metric_slug": "x", "value": 1, "note": "n"}]).encode()
    with pytest.raises(ImportRefused, match=r"f.json has 4 columns \(names used across its objects\)"):
        read_upload(body, "f.json")


def test_a_workbook_over_the_unpacked_limit_is_refused_before_it_is_opened(settings):
    data = workbook()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(part.file_size for part in archive.infolist())
    settings.NEWSROOM_IMPORT_MAX_UNZIPPED_BYTES = unpacked
    assert read_upload(data, "f.xlsx").dataset.height == 1
    settings.NEWSROOM_IMPORT_MAX_UNZIPPED_BYTES = unpacked - 1
    with pytest.raises(ImportRefused, match=r"f\.xlsx unpacks to \d+ KB, of which its part “"):
        read_upload(data, "f.xlsx")


def test_a_workbook_row_past_the_limit_is_named(settings):
    settings.NEWSROOM_IMPORT_MAX_ROWS = 3
    header = ["period", "metric_slug", "value"]
    rows = [["2010-03-10", f"metric-{n}", n] for n in range(3)]
    assert read_upload(workbook(header, *rows), "f.xlsx").dataset.height == 3
    with pytest.raises(ImportRefused) as refused:
        read_upload(workbook(header, *rows, [None, "stray", None]), "f.xlsx")
    assert str(refused.value).startswith(
        "f.xlsx, sheet “Figures”: cell B5 holds “stray”; the most a file may have is 3 rows below the "
        "heading row (to row 4)."
    )


def test_a_formatted_empty_cell_past_the_limit_is_refused_without_filling_the_row():
    from openpyxl.styles import Font

    book = openpyxl.load_workbook(io.BytesIO(workbook()))
    book.active["XFD2"].font = Font(bold=True)  # a cell with formatting and no value
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(
        ImportRefused, match="cell XFD2 is formatted, though empty; the most a file may have is 50"
    ):
        read_upload(out.getvalue(), "f.xlsx")


def test_a_formula_with_no_saved_result_is_still_named():
    data = workbook(["period", "metric_slug", "value"], ["2010-03-10", "eps-messages-total", "=B1*2"])
    with pytest.raises(
        ImportRefused, match=r"Row 2: cell C2 holds a formula \(=B1\*2\) with no saved result"
    ):
        read_upload(data, "f.xlsx")


def test_a_second_sheet_with_data_is_still_refused_and_a_workbook_reads_as_before():
    book = openpyxl.load_workbook(io.BytesIO(workbook()))
    book.create_sheet("Notes").append(["these are last week’s figures"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ImportRefused, match=r"f.xlsx has 2 sheets with data"):
        read_upload(out.getvalue(), "f.xlsx")
    dataset = read_upload(workbook(), "f.xlsx").dataset
    assert dataset.headers == ["period", "metric_slug", "value"]
    assert list(dataset[0]) == ["2010-03-10", "eps-messages-total", 306774300]


# -- Text encodings -------------------------------------------------------------------------------------


def test_a_utf8_file_with_latin1_lines_is_refused_naming_both_lines():
    body = b"period,metric_slug,value,note\n" + "2010-03-10,a,1,Zoë\n".encode("latin-1")
    body += "2010-03-10,b,2,café\n".encode()
    with pytest.raises(ImportRefused) as refused:
        read_upload(body, "f.csv")
    assert "line 3 is in UTF-8 (“café”), but line 2 is not (“Zoë” if it is Windows-1252)" in str(
        refused.value
    )


def test_a_utf8_mark_before_windows_1252_text_is_mixed_too():
    body = b"\xef\xbb\xbf" + "period,metric_slug,value,note\n2010-03-10,a,1,café\n".encode("cp1252")
    with pytest.raises(ImportRefused, match="line 1 starts with the mark of a UTF-8 file, but line 2 is not"):
        read_upload(body, "f.csv")


def test_windows_1252_alone_is_read_and_says_so():
    upload = read_upload(
        "period,metric_slug,value,note\n2010-03-10,a,1,£900m café\n".encode("cp1252"), "f.csv"
    )
    assert upload.encoding == "Windows-1252"
    assert upload.dataset["note"] == ["£900m café"]


def test_the_figure_preview_says_which_encoding_it_read(admin_client, draft):
    url = reverse("admin:statistics_release_import_figures", args=[draft.pk])
    for encoding, says in [
        ("cp1252", "The file figures.csv is not UTF-8, so it was read as Windows-1252 text."),
        ("utf-8", "The file figures.csv was read as UTF-8 text."),
    ]:
        body = f"period,metric_slug,value,note\n{draft.period_date},eps-messages-total,306774300,café\n"
        file = SimpleUploadedFile("figures.csv", body.encode(encoding))
        response = admin_client.post(url, {"import_file": file, "reason": ""})
        assert response.context["confirm_form"] is not None, response.context.get("problems")
        assert says in page_text(response)


def test_the_contacts_preview_says_which_encoding_it_read(admin_client, seed_release):
    body = "slug,name,organisation\nnew-office,Café office,NHS England\n".encode("cp1252")
    url = reverse("admin:contacts_mediacontact_import")
    response = admin_client.post(
        url, {"format": "0", "import_file": SimpleUploadedFile("contacts.csv", body)}
    )
    assert response.context["confirm_form"] is not None
    text = page_text(response)
    assert "The file contacts.csv is not UTF-8, so it was read as Windows-1252 text." in text
    assert "Café office" in text


def test_a_library_import_names_the_file_and_the_format_chosen(admin_client, seed_release):
    url = reverse("admin:statistics_programme_import")
    file = SimpleUploadedFile("programmes.xlsx", workbook())
    response = admin_client.post(url, {"format": "0", "resource": "0", "import_file": file})
    assert (
        "programmes.xlsx is named as an Excel workbook (.xlsx), but the format chosen is CSV. "
        "Choose XLSX as the format and upload it again." in page_text(response)
    )


def test_a_refused_library_upload_is_not_kept_for_a_confirmation(admin_client, seed_release):
    keys = getattr(cache, "_cache", None)
    if keys is None:
        pytest.skip("needs the local-memory cache to list what it holds")
    url = reverse("admin:statistics_programme_import")
    response = admin_client.post(
        url, {"format": "1", "resource": "0", "import_file": SimpleUploadedFile("bomb.xlsx", zip_bomb())}
    )
    assert "bomb.xlsx unpacks to 147.0 MB" in page_text(response)
    assert not [key for key in keys if "django-import-export-" in key]
