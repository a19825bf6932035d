"""Data people can reuse: Dataset JSON-LD, CSVW metadata, zips, citations, BOMs, vintages, OpenAPI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from common.cache import current_state
from common.spreadsheets import decode_text
from stats.models import Correction, Figure, Metric, Release
from stats.outputs import downloads, metadata
from stats.publishing import services
from stats.selectors import build_release_document
from stats.vintages import uk_today

UK = ZoneInfo("Europe/London")
BASE = "http://testserver"
OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
CSVS = {
    "release": "/statistics/2010-03-03.csv",
    "series": "/statistics/metrics/eps-messages-total.csv",
    "everything": "/statistics/data.csv",
}


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response


def json_ld(html: str) -> list[dict]:
    """Every JSON-LD block of a page, parsed."""
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return [json.loads(block) for block in blocks]


def csv_header(content: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def correct_eps(publisher, release, value=306_774_399, reason="A supplier’s batch – late – arrived."):
    figure = Figure.objects.get(release=release, metric__slug="eps-messages-total")
    return services.correct_figure(figure=figure, by=publisher, value=value, reason=reason)


# -- schema.org Dataset ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/statistics/2010-03-03/", "/statistics/"])
def test_release_page_describes_itself_as_a_dataset_whose_downloads_all_answer(client, seed_release, url):
    [dataset] = json_ld(get(client, url).content.decode())
    assert dataset["@context"] == "https://schema.org" and dataset["@type"] == "Dataset"
    assert dataset["name"] == seed_release.heading
    assert dataset["description"] == seed_release.summary
    assert dataset["url"] == f"{BASE}/statistics/2010-03-03/"  # the permanent address, from the latest too
    assert dataset["temporalCoverage"] == "2010-03-03/2010-03-09"
    assert dataset["publisher"] == {
        "@type": "Organization",
        "name": settings.NEWSROOM_ORGANISATION,
        "url": BASE + "/",
    }
    assert dataset["license"] == OGL
    assert dataset["version"] == "1"
    assert dataset["datePublished"].startswith("2010-03-03T09:30")
    formats = {item["contentUrl"]: item["encodingFormat"] for item in dataset["distribution"]}
    assert formats == {
        f"{BASE}/statistics/2010-03-03.pdf": "application/pdf",
        f"{BASE}/statistics/2010-03-03.xlsx": downloads.CONTENT_TYPES["xlsx"],
        f"{BASE}/statistics/2010-03-03.csv": "text/csv",
        f"{BASE}/statistics/2010-03-03.excel.csv": "text/csv",  # the same rows after a byte order mark
        f"{BASE}/statistics/2010-03-03.json": "application/json",
        f"{BASE}/statistics/2010-03-03.zip": "application/zip",
    }
    for item in dataset["distribution"]:
        assert item["@type"] == "DataDownload"
        response = get(client, item["contentUrl"].removeprefix(BASE))
        assert response["Content-Type"].split(";")[0] == item["encodingFormat"]


def test_metric_page_describes_its_series_as_a_dataset(client, seed_release):
    [dataset] = json_ld(get(client, "/statistics/metrics/eps-messages-total/").content.decode())
    metric = Metric.objects.get(slug="eps-messages-total")
    assert dataset["@type"] == "Dataset" and dataset["name"].startswith(metric.name)
    assert dataset["description"].startswith(metric.definition)
    assert dataset["url"] == f"{BASE}/statistics/metrics/eps-messages-total/"
    assert dataset["temporalCoverage"] == "2010-03-03/2010-03-09"
    assert dataset["publisher"]["name"] == settings.NEWSROOM_ORGANISATION and dataset["license"] == OGL
    assert dataset["variableMeasured"]["unitText"] == metric.unit
    urls = [item["contentUrl"] for item in dataset["distribution"]]
    assert urls == [
        f"{BASE}/statistics/metrics/eps-messages-total.{fmt}"
        for fmt in ("xlsx", "csv", "excel.csv", "json", "zip")
    ]
    for url in urls:
        get(client, url.removeprefix(BASE))


def test_json_ld_cannot_be_broken_out_of(client, seed_release):
    tricky = "Figures </script><script>alert(1)</script> & <b>more</b>"
    Release.objects.filter(pk=seed_release.pk).update(summary=tricky)
    html = get(client, "/statistics/2010-03-03/").content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and ">" not in block and "&" not in block  # escaped as \u003c … (as json_script)
    assert json.loads(block)["description"] == tricky
    assert "<script>alert(1)" not in html


# -- CSV on the Web -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CSVS)
def test_every_csv_is_described_by_csvw_metadata_naming_its_columns_exactly(client, seed_release, name):
    csv_url = CSVS[name]
    response = get(client, csv_url)
    header = csv_header(body(response))
    assert (
        response["Link"]
        == f'<{BASE}{csv_url}-metadata.json>; rel="describedby"; type="application/csvm+json"'
    )
    described = get(client, f"{csv_url}-metadata.json")
    assert described["Content-Type"] == "application/csvm+json"
    data = json.loads(described.content)
    assert data["@context"][0] == "http://www.w3.org/ns/csvw"
    assert data["url"] == BASE + csv_url
    columns = data["tableSchema"]["columns"]
    assert [column["name"] for column in columns] == header == list(downloads.COLUMNS)
    for column in columns:
        assert column["name"] in column["titles"] and column["dc:description"] and column["datatype"]
    types = {column["name"]: column["datatype"] for column in columns}
    assert types["period"] == types["as_of"] == "date" and types["value"] == "decimal"
    assert types["release_url"] == "anyURI" and types["programme"] == "string"
    assert data["dc:license"] == {"@id": OGL}


def test_series_metadata_gives_the_unit_and_pages_link_their_metadata(client, seed_release):
    data = json.loads(get(client, "/statistics/metrics/eps-messages-total.csv-metadata.json").content)
    value = next(column for column in data["tableSchema"]["columns"] if column["name"] == "value")
    assert value["schema:unitText"] == "messages"
    link = '<link rel="describedby" type="application/csvm+json" href="{}">'
    assert (
        link.format("/statistics/2010-03-03.csv-metadata.json")
        in get(client, "/statistics/2010-03-03/").content.decode()
    )
    metric_page = get(client, "/statistics/metrics/eps-messages-total/").content.decode()
    assert link.format("/statistics/metrics/eps-messages-total.csv-metadata.json") in metric_page
    # And from the download lists, beside the CSV.
    assert (
        'href="/statistics/metrics/eps-messages-total.csv-metadata.json" type="application/csvm+json"'
        in metric_page
    )


# -- Zips -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zip_url", "csv_url", "stem"),
    [
        ("/statistics/2010-03-03.zip", "/statistics/2010-03-03.csv", "deployment-statistics-2010-03-03"),
        (
            "/statistics/metrics/eps-messages-total.zip",
            "/statistics/metrics/eps-messages-total.csv",
            "eps-messages-total",
        ),
    ],
)
def test_zip_holds_the_csv_its_metadata_a_readme_and_the_licence(
    client, seed_release, zip_url, csv_url, stem
):
    response = get(client, zip_url)
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    assert archive.namelist() == [f"{stem}.csv", f"{stem}.csv-metadata.json", "README.txt", "LICENCE.txt"]
    assert archive.read(f"{stem}.csv") == get(client, csv_url).content  # the very file, as served
    described = json.loads(archive.read(f"{stem}.csv-metadata.json"))
    assert described["url"] == f"{stem}.csv"  # beside it in the zip
    assert described["dc:source"] == {"@id": BASE + csv_url}
    assert [c["name"] for c in described["tableSchema"]["columns"]] == csv_header(archive.read(f"{stem}.csv"))
    readme = archive.read("README.txt").decode()
    for column in downloads.COLUMNS:
        assert f"\n{column} (" in readme
    assert "How figures are rounded and qualified" in readme and "more_than" in readme
    assert f"{BASE}/statistics/revisions/" in readme and "as_of=" in readme
    licence = archive.read("LICENCE.txt").decode()
    assert "Open Government Licence v3.0" in licence and OGL in licence
    assert get(client, zip_url).content == response.content  # the same bytes for the same data


def test_zips_are_listed_with_their_sizes(client, seed_release):
    def listed(url):
        html = get(client, url).content.decode()
        return re.findall(
            r'<a href="([^"]+\.zip)">[^<]*<span class="newsroom-downloads__meta">\(([^)]+)\)', html
        )

    assert listed("/statistics/2010-03-03/") == [("/statistics/2010-03-03.zip", "ZIP")]
    size = len(get(client, "/statistics/2010-03-03.zip").content)
    from stats.publishing.warming import keep_what_readers_read

    keep_what_readers_read()  # the worker keeps the sizes; a reader's download writes nothing
    assert listed("/statistics/2010-03-03/") == [
        ("/statistics/2010-03-03.zip", f"ZIP, {downloads.human_size(size)}")
    ]
    # A series' sizes are kept for the public cache's generation (none kept before it has one).
    current_state()
    assert listed("/statistics/metrics/eps-messages-total/") == [
        ("/statistics/metrics/eps-messages-total.zip", "ZIP")
    ]
    size = len(get(client, "/statistics/metrics/eps-messages-total.zip").content)
    assert listed("/statistics/metrics/eps-messages-total/") == [
        ("/statistics/metrics/eps-messages-total.zip", f"ZIP, {downloads.human_size(size)}")
    ]


def test_approving_a_release_builds_its_zip_for_the_page(seed_release, press_officer, publisher):
    from stats.outputs.files import build_files, site_request, sizes_of

    sizes = build_files(seed_release, request=site_request())
    assert sizes["zip"] > 0 and sizes_of(seed_release)["zip"] == sizes["zip"]


# -- Citation -------------------------------------------------------------------------------------


def test_release_page_and_api_say_how_to_cite_it_with_its_version(client, seed_release, publisher):
    url = f"{BASE}/statistics/2010-03-03/"
    first = (
        f"{settings.NEWSROOM_ORGANISATION} (2010). {seed_release.heading}, version 1. Published 3 March 2010."
    )
    first += f" {url}"
    html = get(client, "/statistics/2010-03-03/").content.decode()
    assert html.count('id="cite-heading"') == 1 and first in html
    assert "@misc{deployment-statistics-2010-03-03," in html and "url = {" + url + "}" in html
    assert get(client, "/api/v1/releases/2010-03-03/").json()["citation"]["text"] == first

    correction = correct_eps(publisher, seed_release)
    day = correction.created_at.astimezone(UK)
    corrected = f"version 2, corrected on {day.day} {day:%B %Y}"
    html = get(client, "/statistics/2010-03-03/").content.decode()
    assert f"{seed_release.heading}, {corrected}. Published 3 March 2010. {url}" in html
    assert "version = {2}" in html
    citation = get(client, "/api/v1/releases/2010-03-03/").json()["citation"]
    assert corrected in citation["text"] and citation["version"] == 2 and citation["url"] == url
    assert citation["corrected_at"] == correction.created_at.isoformat()
    [dataset] = json_ld(html)
    assert dataset["version"] == "2" and dataset["dateModified"] == correction.created_at.isoformat()


# -- Byte order marks -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CSVS)
def test_public_csvs_open_in_excel_with_pound_signs_dashes_and_apostrophes_intact(client, seed_release, name):
    Figure.objects.filter(release=seed_release, metric__slug="eps-messages-total").update(
        note="Scotland’s pilot – excluded"
    )
    amount = Metric.objects.filter(unit="£").first()
    plain = body(get(client, CSVS[name]))
    assert not plain.startswith(b"\xef\xbb\xbf")  # plain UTF-8 for CSV readers, CSVW included
    content = body(get(client, CSVS[name].removesuffix(".csv") + ".excel.csv"))
    assert content == b"\xef\xbb\xbf" + plain  # Excel's copy: one mark, then the very same bytes
    text = content.decode("utf-8-sig")
    assert text.startswith("period,programme,")
    if name != "series":
        assert "Scotland’s pilot – excluded" in text and f",{amount.slug},{amount.name},amount,£," in text
    else:
        assert "Scotland’s pilot – excluded" in text


def test_streamed_whole_dataset_csv_has_no_bom_and_its_excel_copy_one(client, seed_release, monkeypatch):
    from stats.outputs import files

    monkeypatch.setattr(files, "ALL_DATA_CACHE_ROWS", 1)
    response = get(client, "/statistics/data.csv")
    assert response.streaming
    content = body(response)
    assert content.startswith(b"period,") and content.count(b"\xef\xbb\xbf") == 0
    excel = get(client, "/statistics/data.excel.csv")
    assert excel.streaming
    content = body(excel)
    assert content.startswith(b"\xef\xbb\xbfperiod,") and content.count(b"\xef\xbb\xbf") == 1


def test_the_admin_import_reads_our_own_csv_back(seed_release):
    rows = downloads.document_rows(build_release_document(seed_release), release_url="x")
    text, encoding = decode_text(downloads.to_csv(rows), "figures.csv")
    assert encoding == "UTF-8" and text.startswith("period,")


# -- Vintages: ?as_of= ----------------------------------------------------------------------------


def _backdate(figure: Figure, *, recorded: dt.datetime, corrected: dt.datetime) -> None:
    """As if the seed was loaded when it was published, and corrected on a later day."""
    first, *later = list(figure.history.order_by("history_date", "history_id"))
    type(first).objects.filter(pk=first.pk).update(history_date=recorded)
    type(first).objects.filter(pk__in=[r.pk for r in later]).update(history_date=corrected)
    Correction.objects.filter(figure=figure).update(created_at=corrected)


@pytest.fixture
def corrected(seed_release, publisher):
    """The seed's EPS total corrected from 306,774,292 to 306,774,399 on 1 April 2010."""
    correct_eps(publisher, seed_release)
    figure = Figure.objects.get(release=seed_release, metric__slug="eps-messages-total")
    _backdate(
        figure,
        recorded=dt.datetime(2010, 3, 3, 9, 0, tzinfo=UK),
        corrected=dt.datetime(2010, 4, 1, 15, 0, tzinfo=UK),
    )
    return figure


def eps(payload: dict) -> dict:
    return next(
        figure
        for programme in payload["programmes"]
        for figure in programme["figures"]
        if figure["metric_slug"] == "eps-messages-total"
    )


def test_as_of_gives_the_figures_as_published_then_before_a_later_correction(client, corrected):
    now = client.get("/api/v1/releases/2010-03-03/").json()
    before = client.get("/api/v1/releases/2010-03-03/?as_of=2010-03-31").json()
    after = client.get("/api/v1/releases/2010-03-03/?as_of=2010-04-01").json()
    assert eps(now)["value"] == eps(after)["value"] == 306_774_399 and now["as_published_on"] is None
    assert eps(before)["value"] == 306_774_292 and eps(before)["display"] == "306,774,292"
    assert before["as_published_on"] == "2010-03-31" and after["as_published_on"] == "2010-04-01"
    # The bullets are worded with the figures of then.
    assert any("306,774,292" in s for p in before["programmes"] for s in p["statements"])
    assert not any("306,774,399" in s for p in before["programmes"] for s in p["statements"])
    # Then, no correction had been published: no notice, no revision, version 1.
    assert (
        before["corrections"] == [] and eps(before)["revisions"] == [] and before["citation"]["version"] == 1
    )
    # Each corrected figure links to its revision.
    [revision] = eps(now)["revisions"]
    assert revision["from"] == "306,774,292" and revision["to"] == "306,774,399"
    assert (
        revision["text"]
        == "Revised from 306,774,292 to 306,774,399 on 1 April 2010: A supplier’s batch – late – arrived."
    )
    assert revision["url"] == f"{BASE}/statistics/2010-03-03/#corrections-heading"
    assert revision["revised_at"].startswith("2010-04-01T")
    assert eps(after)["revisions"] == [revision]
    others = [f for p in now["programmes"] for f in p["figures"] if f["metric_slug"] != "eps-messages-total"]
    assert all(f["revisions"] == [] for f in others)
    # Only releases public by then: this one came out on 3 March 2010, 09:30.
    assert client.get("/api/v1/releases/2010-03-03/?as_of=2010-03-02").status_code == 404


def test_as_of_on_the_metric_api_and_on_the_csvs(client, corrected):
    series = client.get("/api/v1/metrics/eps-messages-total/?as_of=2010-03-31").json()
    assert [f["value"] for f in series["figures"]] == [306_774_292] and series[
        "as_published_on"
    ] == "2010-03-31"
    assert (
        client.get("/api/v1/metrics/eps-messages-total/?as_of=2010-04-01").json()["figures"][0]["value"]
        == 306_774_399
    )
    assert client.get("/api/v1/metrics/eps-messages-total/?as_of=2010-03-01").json()["figures"] == []

    def csv_value(url):
        response = get(client, url)
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        return response, next(r["value"] for r in rows if r["metric_slug"] == "eps-messages-total")

    response, value = csv_value("/statistics/2010-03-03.csv?as_of=2010-03-31")
    assert value == "306774292"
    assert (
        'filename="deployment-statistics-2010-03-03-as-of-2010-03-31.csv"' in response["Content-Disposition"]
    )
    assert csv_value("/statistics/2010-03-03.csv?as_of=2010-04-01")[1] == "306774399"
    assert csv_value("/statistics/2010-03-03.csv")[1] == "306774399"
    assert csv_value("/statistics/metrics/eps-messages-total.csv?as_of=2010-03-31")[1] == "306774292"
    assert csv_value("/statistics/metrics/eps-messages-total.csv?as_of=2010-04-01")[1] == "306774399"
    # The JSON download, like the API.
    assert eps(get(client, "/statistics/2010-03-03.json?as_of=2010-03-31").json())["value"] == 306_774_292


def test_as_of_for_figures_loaded_after_they_were_published(client, seed_release, publisher):
    """The seed is loaded today: before today's correction it stands as first recorded."""
    correct_eps(publisher, seed_release)
    yesterday = (uk_today() - dt.timedelta(days=1)).isoformat()
    assert eps(client.get(f"/api/v1/releases/2010-03-03/?as_of={yesterday}").json())["value"] == 306_774_292
    today = uk_today().isoformat()
    assert eps(client.get(f"/api/v1/releases/2010-03-03/?as_of={today}").json())["value"] == 306_774_399


def test_as_of_for_figures_written_without_history(client, seed_release, publisher):
    """Figures written in bulk (synthetic history) have no records: a correction says what they were."""
    from stats.demo.history import generate_history

    [week_before] = generate_history(weeks=1)
    figure = Figure.objects.get(release=week_before, metric__slug="eps-messages-total")
    was = figure.value
    assert not figure.history.exists()
    services.correct_figure(figure=figure, by=publisher, value=was + 7, reason="Recounted.")
    yesterday = (uk_today() - dt.timedelta(days=1)).isoformat()
    then = client.get(f"/api/v1/metrics/eps-messages-total/?as_of={yesterday}").json()["figures"]
    assert Decimal(str(then[0]["value"])) == was


@pytest.mark.parametrize("value", ["2010-13-01", "yesterday", "2010-3-1", "", "20100303", "2010-02-30"])
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/releases/2010-03-03/",
        "/api/v1/metrics/eps-messages-total/",
        "/statistics/2010-03-03.csv",
        "/statistics/metrics/eps-messages-total.csv",
    ],
)
def test_a_bad_as_of_is_refused_naming_the_parameter_and_the_value(client, seed_release, url, value):
    response = client.get(url, {"as_of": value})
    assert response.status_code == 400
    if url.startswith("/api/"):
        data = response.json()
        assert data["parameter"] == "as_of" and data["value"] == value
        assert "as_of" in data["error"] and "yyyy-mm-dd" in data["error"]
    else:
        assert response["Content-Type"].startswith("text/plain")
        assert "as_of" in response.content.decode() and f"“{value}”" in response.content.decode()


def test_as_of_in_the_future_is_answered_as_today(client, seed_release):
    tomorrow = (uk_today() + dt.timedelta(days=1)).isoformat()
    response = client.get("/api/v1/releases/2010-03-03/", {"as_of": tomorrow})
    assert response.status_code == 200 and response.json()["as_published_on"] == uk_today().isoformat()


# -- The embargo ----------------------------------------------------------------------------------


def test_no_new_address_shows_a_draft_or_an_embargoed_release(client, hidden_releases):
    draft, embargoed = hidden_releases
    today = uk_today().isoformat()
    for release in (draft, embargoed):
        day = release.period_date.isoformat()
        for url in (
            f"/statistics/{day}.zip",
            f"/statistics/{day}.csv-metadata.json",
            f"/statistics/{day}.csv?as_of={today}",
            f"/api/v1/releases/{day}/?as_of={today}",
        ):
            assert client.get(url).status_code == 404, url
    for url in (
        "/statistics/metrics/eps-messages-total.zip",
        f"/statistics/metrics/eps-messages-total.csv?as_of={today}",
        f"/api/v1/metrics/eps-messages-total/?as_of={today}",
        "/statistics/data.csv-metadata.json",
        "/api/",
        "/api/v1/openapi.json",
    ):
        content = get(client, url).content
        if content.startswith(b"PK"):
            archive = zipfile.ZipFile(io.BytesIO(content))
            content = b"".join(archive.read(name) for name in archive.namelist())
        for leak in (b"311111111", b"311,111,111", b"322222222", b"322,222,222"):
            assert leak not in content, (url, leak)


def test_as_of_leaves_out_a_release_withdrawn_since(client, seed_release, publisher):
    services.withdraw_release(release=seed_release, by=publisher, reason="Wrong supplier data.")
    assert client.get(f"/api/v1/releases/2010-03-03/?as_of={uk_today().isoformat()}").status_code == 404
    assert client.get("/api/v1/releases/2010-03-03/?as_of=2010-03-04").status_code == 404
    assert client.get("/api/v1/metrics/eps-messages-total/?as_of=2010-03-04").json()["figures"] == []


# -- OpenAPI and the developers' page -------------------------------------------------------------


def api_paths(patterns=None, prefix="") -> set[str]:
    """Every URL of the `api` namespace, as an OpenAPI path template."""
    found = set()
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver) and (patterns is not None or entry.namespace == "api"):
            found |= api_paths(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and patterns is not None:
            found.add("/" + re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", route))
    return found


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document: dict, ref: str) -> dict:
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_openapi_describes_every_api_url(client, seed_release):
    document = get(client, "/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0" and document["info"]["version"] == "1"
    assert document["servers"] == [{"url": BASE}]
    paths = api_paths()
    assert paths == set(document["paths"]) and "/api/v1/openapi.json" in paths and len(paths) >= 5
    for ref in _refs(document):
        assert _resolve(document, ref), ref
    for path, item in document["paths"].items():
        operation = item["get"]
        named = {_resolve(document, p["$ref"])["name"] for p in operation.get("parameters", [])}
        assert set(re.findall(r"{([^}]+)}", path)) <= named, path
        assert "200" in operation["responses"]
    for path in ("/api/v1/releases/{period}/", "/api/v1/metrics/{slug}/"):
        parameters = [_resolve(document, p["$ref"]) for p in document["paths"][path]["get"]["parameters"]]
        assert {"name": "as_of", "in": "query"}.items() <= next(
            p for p in parameters if p["name"] == "as_of"
        ).items()
        assert "400" in document["paths"][path]["get"]["responses"]


def _check(document: dict, schema: dict, value, where: str) -> None:
    """The response fields the description requires are there, recursively (a light schema check)."""
    if "$ref" in schema:
        return _check(document, _resolve(document, schema["$ref"]), value, where)
    for part in schema.get("allOf", []):
        _check(document, part, value, where)
    if schema.get("type") == "object":
        assert isinstance(value, dict), where
        assert set(schema["required"]) <= set(value), (where, set(schema["required"]) - set(value))
        for name, sub in schema["properties"].items():
            if value.get(name) is not None:
                _check(document, sub, value[name], f"{where}.{name}")
    elif schema.get("type") == "array":
        for index, item in enumerate(value):
            _check(document, schema["items"], item, f"{where}[{index}]")
    return None


def test_api_responses_have_every_field_the_description_requires(client, corrected):
    document = get(client, "/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    for url, schema in (
        ("/api/v1/releases/", "ReleaseList"),
        ("/api/v1/releases/2010-03-03/", "Release"),
        ("/api/v1/releases/2010-03-03/?as_of=2010-03-31", "Release"),
        ("/api/v1/metrics/", "MetricList"),
        ("/api/v1/metrics/eps-messages-total/", "Series"),
    ):
        _check(document, schemas[schema], get(client, url).json(), url)
    error = client.get("/api/v1/metrics/eps-messages-total/?as_of=soon").json()
    _check(document, schemas["Error"], error, "error")
    # Every figure field is described.
    assert set(eps(get(client, "/api/v1/releases/2010-03-03/").json())) == set(
        schemas["Figure"]["properties"]
    )


def test_openapi_document_is_valid_when_the_validator_is_installed(client, seed_release):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(get(client, "/api/v1/openapi.json").json())


def test_developers_page_links_the_openapi_description_with_examples(client, seed_release):
    html = get(client, "/api/").content.decode()
    assert 'href="/api/v1/openapi.json"' in html
    assert f"curl -s {BASE}/api/v1/releases/2010-03-03/" in html
    assert "as_of=2010-03-03" in html and 'href="/statistics/data.csv-metadata.json"' in html
    for column in downloads.COLUMNS:
        assert f"<code>{column}</code>" in html
    assert metadata.LICENCE_URL in html


def test_release_moment_keeps_every_new_file_closed_until_the_publish_time(client, seed_release):
    """A release scheduled a minute from now: its zip and metadata answer 404, then 200 once it is out."""
    release = Release.objects.create(
        period_date=dt.date(2010, 3, 10),
        status=Release.Status.SCHEDULED,
        publish_at=timezone.now() + dt.timedelta(minutes=1),
    )
    for url in ("/statistics/2010-03-10.zip", "/statistics/2010-03-10.csv-metadata.json"):
        assert client.get(url).status_code == 404
    Release.objects.filter(pk=release.pk).update(publish_at=timezone.now() - dt.timedelta(seconds=1))
    for url in ("/statistics/2010-03-10.zip", "/statistics/2010-03-10.csv-metadata.json"):
        assert client.get(url).status_code == 200
