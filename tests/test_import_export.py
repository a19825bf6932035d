"""Spreadsheet import and export: the supplier flow, every bad file, safe exports, the round trip."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl
import pytest
import tablib
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from common.cells import safe_cell
from common.import_admin import XLSXFormat
from common.spreadsheets import read_upload
from stats.models import Correction, Explanation, Figure, Metric, Programme, Release, Statement
from stats.spreadsheets import resources
from stats.spreadsheets.figure_import import import_figures

from . import factories

NEXT = dt.date(2010, 3, 10)


@pytest.fixture
def draft(seed_release):
    """Next week's draft release, empty, after the published seed release."""
    return factories.release(NEXT)


def state():
    """Everything an import could change, as plain values."""
    return (
        sorted(
            Figure.objects.values_list(
                "release__period_date", "metric__slug", "value", "as_of", "qualifier", "note", "kind"
            )
        ),
        Correction.objects.count(),
        sorted(Release.objects.values_list("period_date", "version")),
    )


def csv_file(rows, headers=("period", "metric_slug", "value"), name="figures.csv", encoding="utf-8"):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode(encoding), content_type="text/csv")


def xlsx_bytes(rows, headers=("period", "metric_slug", "value"), extra_sheet=False):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Figures"
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    if extra_sheet:
        book.create_sheet("Notes").append(["These are last week’s figures"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def import_url(release):
    return reverse("admin:statistics_release_import_figures", args=[release.pk])


def upload(client, url, file, reason=""):
    return client.post(url, {"import_file": file, "reason": reason})


def confirm(client, url, response):
    form = response.context["confirm_form"]
    data = {name: form[name].value() for name in form.fields}
    data["_confirm"] = "Confirm"
    return client.post(url, data)


def page_text(response) -> str:
    return response.content.decode()


# -- The supplier flow -------------------------------------------------------------------------


def test_supplier_template_filled_in_imports_after_a_preview(admin_client, draft):
    response = admin_client.get(reverse("admin:statistics_release_supplier_template", args=[draft.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="figures-2010-03-10-template.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Figures"]
    sheet = book.active
    headers = [c.value for c in sheet[1]]
    assert headers[:8] == [
        "period",
        "programme",
        "metric_slug",
        "metric_name",
        "kind",
        "unit",
        "previous_value",
        "value",
    ]
    rows = list(sheet.iter_rows(min_row=2))
    slugs = [row[2].value for row in rows]
    assert "eps-messages-total" in slugs
    eps = rows[slugs.index("eps-messages-total")]
    assert eps[0].value.date() == NEXT  # a real date cell
    assert eps[6].value == 306774292  # last release's value, a real number
    assert all(row[7].value is None for row in rows)  # value column left empty
    # The supplier fills in every value: last week's plus a little.
    for row in rows:
        previous = row[6].value
        kind = row[4].value
        row[7].value = (
            (previous + 1 if kind in ("total", "record") else previous) if previous is not None else 5
        )
    out = io.BytesIO()
    book.save(out)
    before = state()

    url = import_url(draft)
    response = upload(admin_client, url, SimpleUploadedFile("template.xlsx", out.getvalue()))
    assert response.status_code == 200
    text = page_text(response)
    assert "Check the changes, then confirm" in text, response.context.get("problems")
    assert "306,774,293" in text and "new" in text
    assert state() == before  # the preview changed nothing

    response = confirm(admin_client, url, response)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:statistics_release_change", args=[draft.pk])
    assert Figure.objects.get(release=draft, metric__slug="eps-messages-total").value == 306774293
    assert Figure.objects.filter(release=draft).count() == len(rows)
    draft.refresh_from_db()
    assert draft.version == 2
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any(f"{len(rows)} new" in m for m in messages)
    history = Figure.history.filter(release_id=draft.pk)
    assert history.count() == len(rows)
    assert {(h.history_type, h.history_user.username) for h in history} == {("+", "boss")}
    assert history.get(metric__slug="eps-messages-total").value == 306774293
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.get(object_id=str(draft.pk)).change_message == (
        f"Imported {len(rows)} figures from template.xlsx."
    )


def test_release_page_links_to_import_and_template(admin_client, draft):
    response = admin_client.get(reverse("admin:statistics_release_change", args=[draft.pk]))
    text = page_text(response)
    assert import_url(draft) in text
    assert reverse("admin:statistics_release_supplier_template", args=[draft.pk]) in text
    assert admin_client.get(import_url(draft)).status_code == 200


def test_preview_shows_old_new_and_warnings(admin_client, draft):
    factories.figure(draft, Metric.objects.get(slug="eps-messages-total"), 306774292)
    response = upload(
        admin_client,
        import_url(draft),
        csv_file(
            [["2010-03-10", "eps-messages-total", "306,800,000"], ["", "eps-messages-week", "1 000 000"]]
        ),
    )
    text = page_text(response)
    assert "306,774,292" in text and "306,800,000" in text  # was → now
    assert "changed" in text
    assert "3,527,916" in text  # last release's value, shown beside the new one
    # Last release had 1,165,946 messages in the week (seed): a drop beyond the threshold is a warning.
    assert "Warnings: check these figures before you confirm" in text
    assert "Prescription messages in the week: changed by" in text
    assert response.context["confirm_form"] is not None


def test_numbers_as_suppliers_write_them(admin_client, draft):
    url = import_url(draft)
    rows = [
        ["2010-03-10", "eps-messages-total", "306,774,300"],
        ["2010-03-10", "eps-messages-week", "1 165 946"],
        ["2010-03-10", "cab-referral-share", "58.5%"],
        ["2010-03-10", "n3-estimated-savings", "£900m"],
    ]
    response = confirm(admin_client, url, upload(admin_client, url, csv_file(rows)))
    assert response.status_code == 302
    values = dict(Figure.objects.filter(release=draft).values_list("metric__slug", "value"))
    assert values == {
        "eps-messages-total": Decimal("306774300"),
        "eps-messages-week": Decimal("1165946"),
        "cab-referral-share": Decimal("58.5"),
        "n3-estimated-savings": Decimal("900000000"),
    }


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("cp1252", b""), ("utf-8", b"\xef\xbb\xbf")],
    ids=["windows-1252", "utf-8-bom"],
)
def test_csv_in_windows_1252_or_with_a_bom_is_read_right(admin_client, draft, encoding, prefix):
    text = "period,metric_slug,value,note\n2010-03-10,n3-estimated-savings,£900m,Estimate – £ saved\n"
    file = SimpleUploadedFile("figures.csv", prefix + text.encode(encoding))
    url = import_url(draft)
    response = upload(admin_client, url, file)
    assert response.context["confirm_form"] is not None, response.context.get("problems")
    assert confirm(admin_client, url, response).status_code == 302
    figure = Figure.objects.get(release=draft)
    assert figure.note == "Estimate – £ saved"
    assert figure.value == 900000000


# -- Every bad file: a clear message, nothing changed ---------------------------------------------

VALID = ["2010-03-10", "eps-messages-total", "306774300"]

BAD_FILES = {
    "empty-file": (lambda: SimpleUploadedFile("figures.csv", b""), "The submitted file is empty."),
    "headings-only": (lambda: csv_file([]), "The file has a heading row but no data rows."),
    "headings-only-without-period": (
        lambda: csv_file([], headers=("metric_slug", "value")),
        "The file has a heading row but no data rows.",
    ),
    "title-row-above-headings": (
        lambda: SimpleUploadedFile(
            "figures.xlsx",
            xlsx_bytes([["period", "metric_slug", "value"], VALID], headers=["Weekly figures"]),
        ),
        "The first row must hold the column headings, e.g. metric_slug, value; this file’s first row is "
        "“weekly_figures”. Remove any title rows above the headings.",
    ),
    "misspelt-column": (
        lambda: csv_file([VALID], headers=("period", "metric_slug", "vaule")),
        "Column “vaule” is not a column we know. Did you mean “value”?",
    ),
    "missing-column": (
        lambda: csv_file([VALID[:2]], headers=("period", "metric_slug")),
        "The file has no “value” column; it is required.",
    ),
    "unknown-metric": (
        lambda: csv_file([VALID, ["2010-03-10", "eps-mesages-week", "5"]]),
        "Row 3, column “metric_slug”: “eps-mesages-week” is not a known metric slug. "
        "Did you mean “eps-messages-week”?",
    ),
    "other-release": (
        lambda: csv_file([["2010-03-03", "eps-messages-total", "306774300"]]),
        "Row 2, column “period”: 2010-03-03 is not this release’s period (2010-03-10).",
    ),
    "ambiguous-number": (
        lambda: csv_file([VALID, ["2010-03-10", "eps-messages-week", "1.234,5"]]),
        "Row 3, column “value”: “1.234,5” is ambiguous",
    ),
    "percent-for-a-count": (
        lambda: csv_file([["2010-03-10", "eps-messages-week", "12.5%"]]),
        "Row 2, column “value”: “12.5%” is a percentage, but this metric is not measured in per cent.",
    ),
    "text-not-number": (
        lambda: csv_file([VALID, ["2010-03-10", "eps-messages-week", "TBC"]]),
        "Row 3, column “value”: “TBC” is not a number.",
    ),
    "negative-count": (
        lambda: csv_file([VALID, ["2010-03-10", "eps-messages-week", "-5"]]),
        "Row 3, column “value”: -5 is negative; figures cannot be.",
    ),
    "percent-over-100": (
        lambda: csv_file([["2010-03-10", "cab-referral-share", "120"]]),
        "Row 2, column “value”: 120 is not a percentage: use 0 to 100.",
    ),
    "duplicate-rows": (
        lambda: csv_file([VALID, ["2010-03-10", "eps-messages-week", "5"], VALID]),
        "Row 4: eps-messages-total for 10 March 2010 is already given in row 2. Keep one of the two rows.",
    ),
    "total-falls": (
        lambda: csv_file([["2010-03-10", "eps-messages-total", "300000000"]]),
        "Prescription messages transmitted: 300,000,000 is lower than last release’s 306,774,292",
    ),
    "empty-value-with-a-note": (
        lambda: csv_file(
            [[*VALID, ""], ["2010-03-10", "eps-messages-week", "", "Late"]],
            headers=("period", "metric_slug", "value", "note"),
        ),
        "Row 3, column “value”: empty, but “note” is given.",
    ),
    "stray-comma": (
        lambda: SimpleUploadedFile(
            "figures.csv", b"period,metric_slug,value\n2010-03-10,eps-messages-total,1,234\n"
        ),
        "Row 2 has 4 cells but the heading row has 3.",
    ),
    "several-sheets": (
        lambda: SimpleUploadedFile("figures.xlsx", xlsx_bytes([VALID], extra_sheet=True)),
        "figures.xlsx has 2 sheets with data (“Figures”, “Notes”). Keep only the sheet with the figures.",
    ),
    "formula-without-value": (
        lambda: SimpleUploadedFile(
            "figures.xlsx", xlsx_bytes([["2010-03-10", "eps-messages-total", "=B1*2"]])
        ),
        "Row 2: cell C2 holds a formula (=B1*2) with no saved result.",
    ),
    "xlsx-named-csv": (
        lambda: SimpleUploadedFile("figures.csv", xlsx_bytes([VALID])),
        "figures.csv is named as a CSV file but is an Excel workbook (.xlsx).",
    ),
    "text-named-xlsx": (
        lambda: SimpleUploadedFile("figures.xlsx", b"period,metric_slug,value\n"),
        "figures.xlsx is named as an Excel workbook (.xlsx) but is a CSV file.",
    ),
    "image-named-xlsx": (
        lambda: SimpleUploadedFile("figures.xlsx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)),
        "figures.xlsx is not a spreadsheet or a text file.",
    ),
    "broken-zip-named-xlsx": (
        lambda: SimpleUploadedFile("figures.xlsx", b"PK\x03\x04 this is not really a workbook"),
        "figures.xlsx is not a readable Excel workbook",
    ),
    "old-xls": (
        lambda: SimpleUploadedFile("figures.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64)),
        "figures.xls is not a file we can read: upload a .csv, .xlsx or .json file.",
    ),
    "semicolon-csv": (
        lambda: SimpleUploadedFile(
            "figures.csv", b"period;metric_slug;value\n2010-03-10;eps-messages-total;1\n"
        ),
        "figures.csv separates its columns with semicolons.",
    ),
    "json-not-a-list": (
        lambda: SimpleUploadedFile("figures.json", b'{"period": "2010-03-10"}'),
        "figures.json must hold a list of objects, one per row",
    ),
    "json-empty-objects": (
        lambda: SimpleUploadedFile("figures.json", b"[{}, {}]"),
        "figures.json holds only empty objects: each row needs its columns",
    ),
    "json-nested-too-deeply": (
        lambda: SimpleUploadedFile("figures.json", b"[" * 100_000 + b"]" * 100_000),
        "figures.json nests lists or objects too deeply to be a table of figures.",
    ),
    "null-character-in-a-cell": (
        lambda: SimpleUploadedFile(
            "figures.json",
            json.dumps(
                [{"period": "2010-03-10", "metric_slug": "eps-messages-total", "value": 1, "note": "a\0b"}]
            ).encode(),
        ),
        "Row 2, column “note”: the cell holds a null character (\\x00), which is not text.",
    ),
    "value-too-large-to-store": (
        lambda: csv_file([["2010-03-10", "eps-messages-total", "9999999999999999"]]),
        "Row 2, column “value”: 9,999,999,999,999,999 is too large. "
        "A figure must be below 1,000,000,000,000,000.",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_file_is_refused_with_a_message_and_changes_nothing(admin_client, draft, case):
    make_file, message = BAD_FILES[case]
    before = state()
    response = upload(admin_client, import_url(draft), make_file())
    assert response.status_code == 200
    text = page_text(response)
    assert message.replace("’", "&#x27;") in text or message in text, (
        response.context.get("problems") or response.context["form"].errors
    )
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert state() == before


def test_file_over_the_size_limit_is_refused_before_it_is_read(admin_client, draft, settings):
    settings.NEWSROOM_IMPORT_MAX_BYTES = 200
    before = state()
    file = csv_file([VALID] * 20)
    response = upload(admin_client, import_url(draft), file)
    # One size formatter everywhere: a 200-byte limit is said as 200 bytes, not rounded up to 1 KB.
    size = len(file.getvalue()) if hasattr(file, "getvalue") else file.size
    assert f"figures.csv is {size} bytes; the limit is 200 bytes. Split it into smaller files." in page_text(
        response
    )
    assert state() == before


def test_one_bad_row_means_no_row_is_saved(admin_client, draft):
    url = import_url(draft)
    response = upload(admin_client, url, csv_file([VALID]))
    assert response.context["confirm_form"] is not None
    # Between preview and confirm the figures fall below last release: the confirm re-checks and refuses.
    token = response.context["confirm_form"]["token"].value()
    bad = csv_file([VALID, ["2010-03-10", "eps-messages-week", "TBC"]]).read()
    from django.core.cache import cache

    cache.set("django-import-export-" + token, bad)
    before = state()
    response = confirm(admin_client, url, response)
    assert response.status_code == 200
    assert "Row 3, column “value”: “TBC” is not a number." in page_text(response)
    assert state() == before


def test_the_import_service_itself_writes_no_row_when_one_is_bad(draft):
    dataset = tablib.Dataset(
        VALID, ["2010-03-10", "eps-messages-week", "TBC"], headers=["period", "metric_slug", "value"]
    )
    before = state()
    result = import_figures(dataset, dry_run=False)
    assert not result.ok and not result.applied
    assert result.problems == ["Row 3, column “value”: “TBC” is not a number."]
    assert state() == before


# -- Published releases: corrections -------------------------------------------------------------


def test_import_into_a_published_release_needs_a_reason_and_records_corrections(admin_client, seed_release):
    url = import_url(seed_release)

    def file():
        return csv_file(
            [
                ["2010-03-03", "eps-messages-total", "306,700,000"],
                ["2010-03-03", "eps-messages-week", "3,527,916"],
            ]
        )

    before = state()
    response = upload(admin_client, url, file())
    assert "This field is required." in page_text(response)
    assert state() == before

    reason = "The supplier resubmitted the total after removing duplicate messages."
    response = upload(admin_client, url, file(), reason=reason)
    assert response.context["confirm_form"] is not None, response.context.get("problems")
    response = confirm(admin_client, url, response)
    assert response.status_code == 302
    correction = Correction.objects.get(release=seed_release)
    assert (correction.subject, correction.old_value, correction.new_value, correction.reason) == (
        "Prescription messages transmitted",
        "306,774,292",
        "306,700,000",
        reason,
    )
    assert correction.figure.value == 306700000
    assert correction.created_by.username == "boss"
    changed = Figure.history.get(id=correction.figure.pk, history_type="~")
    assert (changed.value, changed.history_change_reason) == (306700000, f"Corrected: {reason}"[:100])


def test_figure_list_import_into_a_published_release_without_reason_is_refused(admin_client, draft):
    file = csv_file(
        [["2010-03-03", "eps-messages-total", "306774999"], ["2010-03-10", "eps-messages-total", "306775000"]]
    )
    before = state()
    response = upload(admin_client, reverse("admin:statistics_figure_import"), file)
    assert (
        "The release for 3 March 2010 is published: give a correction reason to change its figures (rows 2)"
        in (page_text(response))
    )
    assert state() == before


# -- The figure list: several releases at once ------------------------------------------------------


def test_figure_list_imports_history_for_several_releases(admin_client, draft, django_assert_max_num_queries):
    later = [factories.release(NEXT + dt.timedelta(weeks=n)) for n in range(1, 4)]
    metrics = list(Metric.objects.exclude(kind__in=("percent", "amount")).values_list("slug", flat=True))
    rows = [
        [release.period_date.isoformat(), slug, 10_000_000_000 + week]
        for week, release in enumerate([draft, *later])
        for slug in metrics
    ]
    url = reverse("admin:statistics_figure_import")
    with django_assert_max_num_queries(30):
        response = upload(admin_client, url, csv_file(rows))
    assert response.context["confirm_form"] is not None, response.context.get("problems")
    with django_assert_max_num_queries(40):
        response = confirm(admin_client, url, response)
    assert response.status_code == 302
    assert Figure.objects.filter(release__in=[draft, *later]).count() == len(rows)
    unknown = csv_file([["2010-04-28", "eps-messages-total", "1"]])
    response = upload(admin_client, url, unknown)
    assert "Row 2, column “period”: there is no release for 28 Apr 2010 (2010-04-28)." in page_text(response)


def test_import_needs_the_import_permission(client, django_user_model, draft):
    user = django_user_model.objects.create_user("officer", password="pass-word-123", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_release", "change_figure", "view_release"])
    )
    client.force_login(user)
    assert client.get(import_url(draft)).status_code == 403
    assert client.get(reverse("admin:statistics_figure_import")).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="import_figure"))
    user = django_user_model.objects.get(pk=user.pk)
    client.force_login(user)
    assert client.get(import_url(draft)).status_code == 200
    assert client.get(reverse("admin:statistics_figure_export")).status_code == 403


# -- Safe exports ------------------------------------------------------------------------------


def test_safe_cell_neutralises_formulas_and_keeps_numbers_and_dates():
    assert [safe_cell(v) for v in ("=1+2", "+44", "-x", "@SUM(A1)", "\tx", "\rx", "plain", "")] == [
        "'=1+2",
        "'+44",
        "'-x",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "plain",
        None,
    ]
    assert safe_cell(Decimal("12.5")) == Decimal("12.5")
    assert safe_cell(dt.date(2010, 3, 3)) == dt.date(2010, 3, 3)
    assert safe_cell(None) is None


def export_form_data(client, model):
    url = reverse(f"admin:statistics_{model}_export")
    form = client.get(url).context["form"]
    data = {name: "on" for name, f in form.fields.items() if getattr(f, "is_selectable_field", False)}
    return url, data


def test_admin_xlsx_export_is_safe_and_native(admin_client, draft):
    factories.figure(
        draft, Metric.objects.get(slug="eps-messages-total"), 306774292, note='=HYPERLINK("http://x")'
    )
    url, data = export_form_data(admin_client, "figure")
    data.update(format="1", resource="0")  # CSV, XLSX, JSON: XLSX is index 1
    response = admin_client.post(url + f"?release__id__exact={draft.pk}", data)
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    headers = [c.value for c in sheet[1]]
    assert headers == list(resources.FIGURE_COLUMNS)
    row = {h: c for h, c in zip(headers, sheet[2], strict=True)}
    assert row["note"].value == '\'=HYPERLINK("http://x")'
    assert row["note"].data_type == "s"
    assert row["value"].value == 306774292 and row["value"].data_type == "n"
    assert row["period"].is_date
    assert row["as_of"].value is None


def test_admin_csv_export_is_safe_with_empty_cells_empty(admin_client, draft):
    factories.figure(draft, Metric.objects.get(slug="eps-messages-total"), 306774292, note="-2 on last week")
    url, data = export_form_data(admin_client, "figure")
    data.update(format="0", resource="0")
    response = admin_client.post(url + f"?release__id__exact={draft.pk}", data)
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1] == [
        "2010-03-10",
        "Electronic Prescription Service (EPS)",
        "eps-messages-total",
        "Prescription messages transmitted",
        "total",
        "messages",
        "306774292",
        "",
        "auto",
        "'-2 on last week",
    ]


# -- Round trip ---------------------------------------------------------------------------------


def everything():
    """All programmes, metrics, releases (text), figures and statements, without database ids."""
    return {
        "programmes": sorted(
            Programme.objects.values_list(
                "slug", "name", "short_name", "description", "display_order", "is_active"
            )
        ),
        "metrics": sorted(
            Metric.objects.values_list(
                "slug", "programme__slug", "name", "unit", "kind", "definition", "display_order"
            )
        ),
        "releases": sorted(Release.objects.values_list("period_date", "title", "summary", "notes")),
        "figures": sorted(
            Figure.objects.values_list(
                "release__period_date", "metric__slug", "value", "kind", "as_of", "qualifier", "note"
            )
        ),
        "statements": sorted(
            Statement.objects.values_list("release__period_date", "programme__slug", "order", "text")
        ),
    }


ROUND_TRIP = [
    resources.ProgrammeResource,
    resources.MetricResource,
    resources.ReleaseResource,
    resources.FigureResource,
    resources.StatementResource,
]


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_export_everything_and_import_into_an_empty_database(seed_release, fmt):
    from common.import_admin import CSVFormat, JSONFormat

    fmt_class = {"xlsx": XLSXFormat, "csv": CSVFormat, "json": JSONFormat}[fmt]
    draft = factories.release(NEXT)
    factories.figure(
        draft, Metric.objects.get(slug="eps-messages-total"), 306774300, note="=risky", as_of=NEXT
    )
    factories.figure(draft, Metric.objects.get(slug="cab-referral-share"), "58.25", qualifier="")
    before = everything()
    files = {r: fmt_class().export_data(r().export()) for r in ROUND_TRIP}

    Statement.objects.all().delete()
    Correction.objects.all().delete()
    Figure.objects.all().delete()
    Release.objects.all().delete()
    Metric.objects.all().delete()
    from contacts.models import MediaContact

    MediaContact.programmes.through.objects.all().delete()
    Programme.objects.all().delete()
    assert everything() == {k: [] for k in before}

    for resource_class in ROUND_TRIP:
        data = files[resource_class]
        dataset = fmt_class().create_dataset(data.encode() if isinstance(data, str) else data)
        result = resource_class().import_data(dataset, dry_run=False, rollback_on_validation_errors=True)
        assert not result.has_errors() and not result.has_validation_errors(), (
            resource_class,
            [str(e.error) for e in result.base_errors],
            [r.error_dict for r in result.invalid_rows],
        )
    assert everything() == before


def test_json_import_through_the_figure_page(admin_client, draft):
    body = json.dumps([{"period": "2010-03-10", "metric_slug": "eps-messages-total", "value": 306774300}])
    url = import_url(draft)
    response = upload(admin_client, url, SimpleUploadedFile("figures.json", body.encode()))
    assert confirm(admin_client, url, response).status_code == 302
    assert Figure.objects.get(release=draft).value == 306774300


def test_dry_run_service_reports_without_writing(draft):
    upload_ = read_upload(b"period,metric_slug,value\n2010-03-10,eps-messages-total,306774300\n", "f.csv")
    before = state()
    outcome = import_figures(upload_.dataset, release=draft)
    assert outcome.ok and outcome.summary == "1 rows: 1 new, 0 changed, 0 unchanged"
    assert state() == before


@pytest.mark.parametrize(
    ("model", "known"),
    [("programme", "name"), ("metric", "name"), ("statement", "text"), ("release", "title")],
)
def test_other_imports_refuse_bad_headers_with_a_message(admin_client, seed_release, model, known):
    url = reverse(f"admin:statistics_{model}_import")
    assert admin_client.get(url).status_code == 200
    file = SimpleUploadedFile("x.csv", f"slugg,{known}\nx,y\n".encode())
    response = admin_client.post(url, {"import_file": file, "format": "0", "resource": "0"})
    assert response.status_code == 200
    assert "Column “slugg” is not a column we know." in page_text(response)


def test_other_imports_refuse_a_file_that_is_not_what_was_chosen(admin_client, seed_release):
    url = reverse("admin:statistics_metric_import")
    file = SimpleUploadedFile("metrics.csv", xlsx_bytes([["x"]], headers=["slug"]))
    response = admin_client.post(url, {"import_file": file, "format": "0", "resource": "0"})
    assert "is named as a CSV file but is an Excel workbook (.xlsx)." in page_text(response)


def test_metric_import_through_the_library_flow_previews_then_saves(admin_client, seed_release):
    url = reverse("admin:statistics_metric_import")
    body = "slug,programme,name,unit,kind\neps-new-metric,eps,New EPS measure,messages,total\n"
    response = admin_client.post(
        url, {"import_file": SimpleUploadedFile("metrics.csv", body.encode()), "format": "0", "resource": "0"}
    )
    assert not Metric.objects.filter(slug="eps-new-metric").exists()
    form = response.context["confirm_form"]
    data = {name: form[name].value() for name in form.fields}
    response = admin_client.post(reverse("admin:statistics_metric_process_import"), data)
    assert response.status_code == 302
    metric = Metric.objects.get(slug="eps-new-metric")
    assert (metric.programme.slug, metric.kind, metric.unit) == ("eps", "total", "messages")


def library_preview(client, model, body, name="file.csv"):
    """Upload a CSV through a library-flow import page; the preview response."""
    url = reverse(f"admin:statistics_{model}_import")
    file = SimpleUploadedFile(name, body.encode())
    return client.post(url, {"import_file": file, "format": "0", "resource": "0"})


def library_confirm(client, model, preview, **changes):
    form = preview.context["confirm_form"]
    data = {name: form[name].value() for name in form.fields} | changes
    return client.post(reverse(f"admin:statistics_{model}_process_import"), data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_second_confirm_of_the_same_import_is_sent_back_with_a_message(admin_client, seed_release):
    preview = library_preview(admin_client, "metric", "slug,programme,name\neps-new-metric,eps,New measure\n")
    assert library_confirm(admin_client, "metric", preview).status_code == 200
    before = list(Metric.objects.values_list("slug", "name"))
    # The browser's back button and Confirm again: applied once, and the second press is told so.
    response = library_confirm(admin_client, "metric", preview)
    assert response.redirect_chain == [(reverse("admin:statistics_metric_import"), 302)]
    assert messages_of(response) == [
        "This import was confirmed already (in another window, or by pressing Confirm twice): it was "
        "applied once, and nothing more was imported."
    ]
    assert list(Metric.objects.values_list("slug", "name")) == before


@pytest.mark.parametrize("field", ["format", "resource"])
def test_a_forged_confirmation_is_sent_back_with_a_message(admin_client, seed_release, field):
    preview = library_preview(admin_client, "metric", "slug,programme,name\neps-new-metric,eps,New measure\n")
    response = library_confirm(admin_client, "metric", preview, **{field: "7"})
    assert messages_of(response) == ["The confirmation was incomplete. Upload the file again."]
    assert not Metric.objects.filter(slug="eps-new-metric").exists()


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        (
            "programme",
            "slug,name\nnew-programme,First\nnew-programme,Second\n",
            "Row 3: slug “new-programme” is already given in row 2. Keep one of the two rows.",
        ),
        (
            "metric",
            "slug,programme,name\nnew-metric,eps,First\nnew-metric,n3,Second\n",
            "Row 3: slug “new-metric” is already given in row 2. Keep one of the two rows.",
        ),
        (
            "release",
            "period,title\n2011-01-05,First\n05/01/2011,Second\n",
            "Row 3: period “05/01/2011” is already given in row 2. Keep one of the two rows.",
        ),
        (
            "statement",
            "period,programme,order,text\n2010-03-10,eps,1,First\n2010-03-10,eps,1,Second\n",
            "Row 3: period “2010-03-10”, programme “eps”, order “1” is already given in row 2.",
        ),
    ],
    ids=["programme", "metric", "release", "statement"],
)
def test_two_rows_for_the_same_record_are_refused(admin_client, draft, model, body, message):
    before = (list(Programme.objects.values_list()), list(Metric.objects.values_list()), state())
    statements = list(Statement.objects.values_list())
    response = library_preview(admin_client, model, body)
    assert message in page_text(response)  # the second row used to overwrite the first silently
    assert response.context.get("confirm_form") is None
    assert (list(Programme.objects.values_list()), list(Metric.objects.values_list()), state()) == before
    assert list(Statement.objects.values_list()) == statements


def test_a_file_that_fails_at_confirm_imports_no_row(admin_client, draft):
    factories.figure(draft, Metric.objects.get(slug="eps-messages-total"), 306774300)
    body = (
        "period,programme,order,text\n2010-03-10,n3,1,N3 is a network.\n"
        "2010-03-10,eps,1,{eps-messages-total} messages.\n"
    )
    preview = library_preview(admin_client, "statement", body)
    assert preview.context["confirm_form"] is not None
    # Between preview and confirm the figure the second bullet names is deleted.
    Figure.objects.filter(release=draft).delete()
    response = library_confirm(admin_client, "statement", preview)
    assert response.redirect_chain == [(reverse("admin:statistics_statement_import"), 302)]
    assert messages_of(response) == [
        "Nothing was imported: the file no longer passes the checks (the data changed since the preview). "
        "Upload it again to see the problems."
    ]
    assert not Statement.objects.filter(release=draft).exists()  # not even the good first row


def test_benchmark_command_reports_both_rates_and_the_ratio(db):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("benchmark_import", rows=300, stdout=out)
    text = out.getvalue()
    assert "300 rows (3 releases × 100 metrics)" in text
    assert "raw bulk_create:" in text and "resource (as the admin):" in text and "of the raw baseline" in text
    assert not Release.objects.exists()  # nothing is kept


def test_unchanged_rows_are_skipped_and_leave_no_history(admin_client, draft):
    url = import_url(draft)
    rows = [VALID, ["2010-03-10", "eps-messages-week", "3527916"]]
    confirm(admin_client, url, upload(admin_client, url, csv_file(rows)))
    history = Figure.history.count()
    rows[1][2] = "3,600,000"
    response = upload(admin_client, url, csv_file(rows))
    assert response.context["outcome"].summary == "2 rows: 0 new, 1 changed, 1 unchanged"
    confirm(admin_client, url, response)
    assert Figure.history.count() == history + 1
    assert Figure.objects.get(release=draft, metric__slug="eps-messages-week").value == 3600000


def test_a_scheduled_release_past_its_time_is_public_and_needs_a_correction(admin_client, seed_release):
    Release.objects.filter(pk=seed_release.pk).update(status=Release.Status.SCHEDULED)
    response = upload(
        admin_client, import_url(seed_release), csv_file([["2010-03-03", "eps-messages-total", "1"]])
    )
    assert "This field is required." in page_text(response)
    response = upload(
        admin_client,
        reverse("admin:statistics_figure_import"),
        csv_file([["2010-03-03", "eps-messages-total", "306774300"]]),
    )
    assert "The release for 3 March 2010 is published: give a correction reason" in page_text(response)


def test_xlsx_cell_formatted_as_a_percentage_reads_as_the_percentage(admin_client, draft):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["period", "metric_slug", "value"])
    sheet.append([NEXT, "cab-referral-share", 0.585])
    sheet["C2"].number_format = "0.0%"
    sheet.append([NEXT, "eps-messages-week", 0.5])
    sheet["C3"].number_format = "0%"
    out = io.BytesIO()
    book.save(out)
    response = upload(admin_client, import_url(draft), SimpleUploadedFile("f.xlsx", out.getvalue()))
    assert response.context["problems"] == [
        "Row 3, column “value”: “50%” is a percentage, but this metric is not measured in per cent."
    ]
    sheet.delete_rows(3)
    out = io.BytesIO()
    book.save(out)
    url = import_url(draft)
    response = confirm(
        admin_client, url, upload(admin_client, url, SimpleUploadedFile("f.xlsx", out.getvalue()))
    )
    assert Figure.objects.get(release=draft).value == Decimal("58.5")


def test_statement_import_cannot_change_a_published_release(seed_release):
    dataset = tablib.Dataset(
        ["2010-03-03", "eps", "10", "Changed bullet."], headers=["period", "programme", "order", "text"]
    )
    before = sorted(Statement.objects.values_list("text", flat=True))
    result = resources.StatementResource().import_data(dataset, dry_run=False)
    assert [str(p) for p in result.problems] == [
        "Row 2, column “period”: the release for 3 March 2010 is published; "
        "only a draft’s bullets can be changed by import."
    ]
    assert sorted(Statement.objects.values_list("text", flat=True)) == before


def test_admin_json_export_writes_numbers_as_numbers(admin_client, draft):
    factories.figure(draft, Metric.objects.get(slug="cab-referral-share"), "58.5")
    url, data = export_form_data(admin_client, "figure")
    data.update(format="2", resource="0")
    response = admin_client.post(url + f"?release__id__exact={draft.pk}", data)
    (row,) = json.loads(response.content)
    assert row["value"] == 58.5 and row["period"] == "2010-03-10" and row["note"] is None


def _dataset(rows, headers=("metric_slug", "value")):
    return tablib.Dataset(*rows, headers=list(headers))


@pytest.fixture
def copied(seed_release, superuser):
    """Next week's draft as a press officer starts it: last week's figures, not yet updated."""
    from stats.publishing import services

    return services.start_next_release(source=seed_release, by=superuser)


def test_figures_the_supplier_resends_unchanged_are_confirmed(copied, superuser):
    draft = copied
    outcome = import_figures(
        _dataset([("pacs-systems-live", "127"), ("eps-messages-total", "310,000,000")]),
        release=draft,
        user=superuser,
        dry_run=False,
    )
    assert (
        outcome.ok and outcome.summary == "2 rows: 0 new, 1 changed, 1 confirmed as still right, 0 unchanged"
    )
    assert draft.figures.get(metric__slug="pacs-systems-live").is_confirmed
    assert draft.figures.filter(is_confirmed=False).count() == draft.figures.count() - 2
    draft.refresh_from_db()
    assert draft.last_edited_by == superuser


def test_a_fall_in_a_draft_import_is_explained_by_the_explanation_box_or_an_earlier_note(copied, superuser):
    from stats.publishing import services

    draft = copied
    falls = _dataset([("crs-summary-care-records", "1,200,000")])
    refused = import_figures(falls, release=draft, user=superuser)
    assert not refused.ok and "“Explanation” box" in " ".join(refused.problems)

    explained = import_figures(
        falls, release=draft, user=superuser, reason="Records created twice were removed.", dry_run=False
    )
    assert explained.ok, explained.problems
    note = Explanation.objects.get(release=draft)
    assert not Correction.objects.filter(release=draft).exists()  # an explanation, not a correction
    assert (note.subject, note.old_value, note.new_value, note.reason) == (
        "Summary Care Records created",
        "1,243,911 (w/c 3 March 2010)",
        "1,200,000",
        "Records created twice were removed.",
    )

    # The note now explains the fall: a later file with a lower figure passes without a reason.
    again = import_figures(
        _dataset([("crs-summary-care-records", "1,190,000")]), release=draft, user=superuser, dry_run=False
    )
    assert again.ok, again.problems
    note.refresh_from_db()
    assert note.new_value == "1,190,000"  # and it states the figure now in the draft
    assert services.explained_slugs(draft) == {"crs-summary-care-records"}


def test_a_confirmation_applies_only_the_plan_that_was_previewed(admin_client, copied):
    """The figures change between preview and confirm: nothing is imported; the new preview is shown."""
    url = import_url(copied)
    file = csv_file([("", "eps-messages-total", "310,000,000")], headers=("period", "metric_slug", "value"))
    preview = upload(admin_client, url, file)
    assert preview.context["outcome"].summary == "1 rows: 0 new, 1 changed, 0 unchanged"
    Figure.objects.filter(release=copied, metric__slug="eps-messages-total").update(value=309_000_000)

    response = confirm(admin_client, url, preview)
    assert response.status_code == 200
    assert "the figures changed since the preview" in page_text(response)
    figure = Figure.objects.get(release=copied, metric__slug="eps-messages-total")
    assert figure.value == 309_000_000  # nothing imported
    assert "309,000,000" in page_text(response)  # the new preview says what it would change now

    assert confirm(admin_client, url, response).status_code == 302  # confirmed again: applied
    figure.refresh_from_db()
    assert figure.value == 310_000_000
