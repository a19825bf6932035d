"""The public site: pages, downloads, feed, sitemap, search, API, health; queries pinned."""

import csv
import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from html import unescape

import openpyxl
import pytest
from django.test import RequestFactory

from common.cells import safe_cell
from stats.demo.history import generate_history
from stats.models import Correction, Figure, Metric, Release
from stats.outputs import downloads
from stats.publishing import services

from . import factories

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(params=[52, 156], ids=["1-year", "3-years"])
def history(request, seed_release):
    """The seed release with 1 or 3 years of synthetic weekly history before it."""
    generate_history(weeks=request.param)
    return seed_release


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def text(html: str) -> str:
    """Visible-ish text: tags stripped, whitespace squashed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# -- Query counts: constant whatever the history holds ---------------------------------------

# Release pages read the sizes of their files as last built (one query; they never build a file to
# learn its size). A release's CSV, XLSX or JSON download keeps its size for the page: one query to
# read what is kept, one more when it changed (the first download). Every page built from a release
# document has one query more for its programmes' media contacts (which programmes each covers);
# the programme page one more for the contacts covering the programme. A public
# release's document reads its pre-release access record: two queries (grants, breaches). A metric
# page reads its series' first and last periods for its dataset description (one query), its
# series for the chart and its table's rows (two). A release page reads the next release the
# calendar announces (one query).
PAGE_QUERY_LIMITS = {
    "/": 12,
    "/statistics/": 13,
    "/statistics/2010-03-03/": 13,
    "/statistics/2009-06-03/": 13,
    "/statistics/archive/": 2,  # the years with their counts, then one year's releases
    "/statistics/archive/2009/": 2,
    "/statistics/programmes/eps/": 4,
    "/statistics/metrics/eps-messages-total/": 4,
    "/statistics/metrics/eps-messages-total/?sort=value&page=2": 4,
    "/search/?q=prescription": 4,
    "/feed/": 2,  # the releases, then their headline charts' figures (described in each entry)
    "/sitemap.xml": 8,  # each section: how many, then the page of them
    "/statistics/2010-03-03.csv": 13,
    "/statistics/2010-03-03.xlsx": 13,
    "/statistics/2010-03-03.json": 13,
    "/statistics/metrics/eps-messages-total.csv": 2,
    "/api/v1/releases/": 2,  # how many in all, then one page
    "/api/v1/releases/?page=2&per_page=10": 2,
    "/api/v1/metrics/eps-messages-total/": 2,
}


@pytest.mark.parametrize("url", PAGE_QUERY_LIMITS)
def test_public_pages_run_a_constant_number_of_queries(client, history, url, django_assert_max_num_queries):
    with django_assert_max_num_queries(PAGE_QUERY_LIMITS[url]):
        response = client.get(url)
    assert response.status_code == 200


def test_all_figures_csv_is_built_in_one_query_and_kept_by_what_it_shows(
    client, history, django_assert_num_queries
):
    # Three queries say what it shows (figures and release versions, metric and programme changes).
    with django_assert_num_queries(4):
        body = client.get("/statistics/data.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == Figure.objects.filter(release__in=Release.objects.public()).count()
    with django_assert_num_queries(3):
        assert client.get("/statistics/data.csv").content.decode("utf-8-sig") == body
    # A figure written moves its release's version on: a new file.
    services.record_edit(Release.objects.public().first().pk, by=None, reason="A test edit")
    Figure.objects.filter(release=Release.objects.public().first()).update(value=1)
    assert client.get("/statistics/data.csv").content.decode("utf-8-sig") != body


def test_all_figures_csv_streams_in_one_query_when_too_big_to_keep(
    client, history, django_assert_num_queries, monkeypatch
):
    from stats.outputs import files

    monkeypatch.setattr(files, "ALL_DATA_CACHE_ROWS", 10)  # as if a century of figures
    with django_assert_num_queries(4):
        response = client.get("/statistics/data.csv")
        body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == Figure.objects.filter(release__in=Release.objects.public()).count()


# -- Home ------------------------------------------------------------------------------------


def test_home_shows_headline_figures_with_change_and_recent_releases(client, seed_release):
    generate_history(weeks=8)
    Release.objects.create(
        period_date=dt.date(2010, 3, 10),
        status=Release.Status.SCHEDULED,
        publish_at=dt.datetime(2031, 3, 10, 9, 30, tzinfo=dt.UTC),
    )
    html = page(client, "/")
    visible = text(html)
    assert "Latest figures: w/c 3 March 2010" in visible
    assert "306,774,292" in visible  # EPS headline
    previous = Figure.objects.get(
        release__period_date=dt.date(2010, 2, 24), metric__slug="eps-messages-total"
    )
    change = 306_774_292 - int(previous.value)
    assert f"+{change:,}" in visible
    assert "Deployment statistics for w/c 24 February 2010" in visible
    assert "Synthetic data" in visible
    assert "w/c 10 March 2010 are due to be published on" in visible
    assert "Media enquiries" in visible and "find the right press office" in visible


def test_home_without_any_release_says_so(client, db):
    assert "No statistics have been published yet." in page(client, "/")


# -- Release page ----------------------------------------------------------------------------


def test_release_page_has_figures_table_with_change_and_as_of(client, seed_release):
    generate_history(weeks=2)
    html = page(client, "/statistics/2010-03-03/")
    previous = Figure.objects.get(
        release__period_date=dt.date(2010, 2, 24), metric__slug="gp2gp-transfers-week"
    )
    table = html[html.index('id="programme-gp2gp"') :]
    table = table[: table.index("</table>")]
    assert "Transfers in the week" in text(table) or "GP2GP" in text(table)
    row = next(r for r in table.split("<tr") if "gp2gp-transfers-week" in r)
    cells = text("<tr" + row)
    assert "10,126" in cells
    change = 10_126 - int(previous.value)
    assert ("+" if change > 0 else "−") + f"{abs(change):,}" in cells
    assert "26 Feb 2010" in cells  # the figure's own as-of date
    assert "figures and change since w/c 24 February 2010" in text(html)


def test_release_page_links_previous_and_next_releases(client, seed_release):
    generate_history(weeks=3)
    html = page(client, "/statistics/2010-02-24/")
    assert 'href="/statistics/2010-02-17/" rel="prev"' in html
    assert 'href="/statistics/2010-03-03/" rel="next"' in html
    latest = page(client, "/statistics/2010-03-03/")
    assert 'rel="next"' not in latest


def test_synthetic_releases_are_labelled(client, seed_release):
    generate_history(weeks=1)
    assert "Synthetic demonstration data" in text(page(client, "/statistics/2010-02-24/"))
    assert "Synthetic demonstration data" not in text(page(client, "/statistics/2010-03-03/"))


def test_release_page_lists_downloads_with_format_and_true_size(client, seed_release):
    def listed():
        html = page(client, "/statistics/2010-03-03/")
        section = html[html.index('id="downloads-heading"') :]
        return re.findall(
            r'<a href="([^"]+)">[^<]*<span class="newsroom-downloads__meta">\(([A-Z]+)(?:, ([^)]+))?\)',
            section,
        )

    files = [
        ("/statistics/2010-03-03.pdf", "PDF"),
        ("/statistics/2010-03-03.xlsx", "XLSX"),
        ("/statistics/2010-03-03.csv", "CSV"),
        ("/statistics/2010-03-03.excel.csv", "CSV"),  # the same rows after a byte order mark, for Excel
        ("/statistics/2010-03-03.json", "JSON"),
        ("/statistics/2010-03-03.zip", "ZIP"),
    ]
    # Never built yet (the seed is loaded, not approved): formats without sizes, and nothing built.
    assert listed() == [(url, fmt, "") for url, fmt in files]
    contents = {url: client.get(url).content for url, _ in files}
    assert listed() == [(url, fmt, "") for url, fmt in files]  # a reader's download writes nothing
    # Built by the worker (its catch-up; or when a release is approved): the page knows the size.
    from stats.publishing.warming import keep_what_readers_read

    keep_what_readers_read()
    assert listed() == [(url, fmt, downloads.human_size(len(contents[url]))) for url, fmt in files]


def test_correction_notices_appear_on_the_release(client, seed_release):
    Correction.objects.create(
        release=seed_release,
        subject="Prescription messages transmitted",
        old_value="306,774,291",
        new_value="306,774,292",
        reason="A supplier resent one day's count.",
    )
    visible = text(page(client, "/statistics/2010-03-03/"))
    notice = visible[visible.index("Correction") :]
    assert notice.startswith("Correction Prescription messages transmitted")
    assert "was 306,774,291, now 306,774,292." in notice
    assert "A supplier resent one day's count." in visible


# -- Archive, programme, metric ----------------------------------------------------------------


def test_archive_shows_a_year_to_a_page_with_every_year_to_go_to(client, seed_release, hidden_releases):
    generate_history(weeks=10)  # back to w/c 23 December 2009
    html = page(client, "/statistics/archive/")
    assert "11 releases from 2009 to 2010, newest first" in html
    assert '<h2 id="year-2010">2010: 9 releases</h2>' in html
    assert html.count('class="newsroom-archive__item"') == 9
    assert "/statistics/2010-03-10/" not in html and "/statistics/2010-03-17/" not in html
    assert html.index("w/c 3 March 2010") < html.index("w/c 24 February 2010")
    assert "w/c 30 December 2009" not in html
    assert (
        '<a href="/statistics/archive/2009/">2009<span class="nhsuk-u-visually-hidden"> (2 releases)' in html
    )

    earlier = page(client, "/statistics/archive/2009/")
    assert '<h2 id="year-2009">2009: 2 releases</h2>' in earlier
    assert earlier.count('class="newsroom-archive__item"') == 2
    assert earlier.index("w/c 30 December 2009") < earlier.index("w/c 23 December 2009")
    assert '<a href="/statistics/archive/2009/" aria-current="page">' in earlier
    assert client.get("/statistics/archive/2008/").status_code == 404  # no release that year


def test_programme_page_shows_each_metric_latest_value_and_chart(client, seed_release):
    generate_history(weeks=5)
    html = page(client, "/statistics/programmes/eps/")
    eps = Metric.objects.filter(programme__slug="eps")
    for metric in eps:
        assert f'href="/statistics/metrics/{metric.slug}/"' in html
    assert "306,774,292" in html
    assert html.count('<figure class="newsroom-chart">') == eps.count()  # one chart each
    # Each drawn twice, for wide screens and for phones (the CSS shows one), + the logo.
    assert html.count("<svg") - html.count('class="nhsuk-icon') - 1 == 2 * eps.count()
    assert 'role="img" aria-labelledby="chart-eps-messages-total-title chart-eps-messages-total-desc"' in html
    assert "6 releases from" in html  # text alternative


def test_inactive_programme_is_404(client, seed_release):
    from stats.models import Programme

    Programme.objects.filter(slug="eps").update(is_active=False)
    assert client.get("/statistics/programmes/eps/").status_code == 404
    assert client.get("/statistics/metrics/eps-messages-total/").status_code == 404
    assert client.get("/statistics/programmes/no-such/").status_code == 404


def test_metric_page_table_sorts_paginates_and_clamps_per_page(client, seed_release):
    generate_history(weeks=150)
    html = page(client, "/statistics/metrics/eps-messages-total/")
    assert "<caption" in html and 'scope="col"' in html and 'aria-sort="descending"' in html
    assert html.count('<tr class="nhsuk-table__row">') - 1 == 25  # default page, minus header row
    assert html.index("3 March 2010") < html.index("24 February 2010")
    ascending = page(client, "/statistics/metrics/eps-messages-total/?sort=period")
    first = re.search(r'<td class="nhsuk-table__cell"><a href="/statistics/([\d-]+)/"', ascending)
    assert first.group(1) == "2007-04-18"  # 150 weeks before the seed
    huge = page(client, "/statistics/metrics/eps-messages-total/?per_page=100000")
    assert huge.count('<tr class="nhsuk-table__row">') - 1 == 100
    for odd in ("?sort=nope", "?page=abc", "?page=99999", "?per_page=-3", "?sort=change"):
        assert client.get("/statistics/metrics/eps-messages-total/" + odd).status_code == 200, odd
    assert 'rel="next"' in html


def test_metric_page_number_far_past_the_end_shows_the_first_page(client, seed_release):
    generate_history(weeks=30)
    # 10**23 × 25 rows would overflow the database's OFFSET (SQLite and PostgreSQL answered 500).
    html = page(client, "/statistics/metrics/eps-messages-total/?page=" + "9" * 23)
    first = re.search(r'<td class="nhsuk-table__cell"><a href="/statistics/([\d-]+)/"', html)
    assert first.group(1) == "2010-03-03"  # the newest figure: page 1, as for any page past the end


# -- Downloads ------------------------------------------------------------------------------------


def page_figures(html: str) -> dict[str, str]:
    """Figures as the release page's tables show them, by metric slug."""
    heading = r'(?:<span class="nhsuk-table__heading" aria-hidden="true">[^<]*</span>)?'
    found = re.findall(
        r'href="/statistics/metrics/([\w-]+)/">[^<]+</a>.*?numeric">' + heading + r"([^<]+)</td>", html, re.S
    )
    return dict(found)


def test_release_csv_xlsx_json_carry_the_page_numbers(client, seed_release):
    html = page(client, "/statistics/2010-03-03/")
    shown = page_figures(html)
    assert shown["eps-messages-total"] == "306,774,292"
    csv_rows = list(
        csv.DictReader(io.StringIO(client.get("/statistics/2010-03-03.csv").content.decode("utf-8-sig")))
    )
    assert list(csv_rows[0]) == list(downloads.COLUMNS)
    workbook = openpyxl.load_workbook(io.BytesIO(client.get("/statistics/2010-03-03.xlsx").content))
    sheet = workbook.active
    xlsx_rows = [
        dict(zip(downloads.COLUMNS, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)
    ]
    data = json.loads(client.get("/statistics/2010-03-03.json").content)
    json_figures = {f["metric_slug"]: f for p in data["programmes"] for f in p["figures"]}
    assert len(csv_rows) == len(xlsx_rows) == len(json_figures) == len(shown) == seed_release.figures.count()
    for csv_row, xlsx_row in zip(csv_rows, xlsx_rows, strict=True):
        slug = csv_row["metric_slug"]
        assert xlsx_row["metric_slug"] == slug
        assert (
            Decimal(csv_row["value"])
            == Decimal(str(xlsx_row["value"]))
            == Decimal(str(json_figures[slug]["value"]))
        )
        assert isinstance(xlsx_row["value"], int | float)
        assert csv_row["period"] == "2010-03-03" and xlsx_row["period"].date() == dt.date(2010, 3, 3)
        assert csv_row["release_url"] == "http://testserver/statistics/2010-03-03/"
        assert json_figures[slug]["display"] == shown[slug]
    gp2gp = next(r for r in csv_rows if r["metric_slug"] == "gp2gp-transfers-week")
    assert gp2gp["as_of"] == "2010-02-26"


def test_downloads_of_hidden_releases_are_404(client, hidden_releases):
    for url in ("/statistics/2010-03-10.csv", "/statistics/2010-03-17.json", "/statistics/2010-03-17.xlsx"):
        assert client.get(url).status_code == 404
    everything = client.get("/statistics/data.csv").content.decode()
    assert "311111111" not in everything and "322222222" not in everything
    series = client.get("/statistics/metrics/eps-messages-total.json").content.decode()
    assert "311111111" not in series and "322222222" not in series


def test_metric_series_downloads(client, seed_release):
    generate_history(weeks=4)
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/statistics/metrics/eps-messages-total.csv").content.decode("utf-8-sig"))
        )
    )
    assert [r["period"] for r in rows][-2:] == ["2010-02-24", "2010-03-03"]
    assert rows[-1]["value"] == "306774292"
    response = client.get("/statistics/metrics/eps-messages-total.xlsx")
    assert response["Content-Disposition"] == 'attachment; filename="eps-messages-total.xlsx"'
    assert openpyxl.load_workbook(io.BytesIO(response.content)).active.max_row == 6
    assert len(json.loads(client.get("/statistics/metrics/eps-messages-total.json").content)["figures"]) == 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Safe text", "Safe text"),
        (42, 42),
        (dt.date(2010, 3, 3), dt.date(2010, 3, 3)),
        (None, None),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_formula_text_is_neutralised_in_csv_and_xlsx_but_numbers_stay_numbers(client, seed_release):
    metric = Metric.objects.get(slug="eps-messages-total")
    Metric.objects.filter(pk=metric.pk).update(name='=HYPERLINK("http://evil","x")')
    Figure.objects.filter(release=seed_release, metric=metric).update(note="+cmd|' /C calc'!A0")
    csv_rows = list(
        csv.DictReader(io.StringIO(client.get("/statistics/2010-03-03.csv").content.decode("utf-8-sig")))
    )
    row = next(r for r in csv_rows if r["metric_slug"] == "eps-messages-total")
    assert row["metric_name"].startswith("'=") and row["note"].startswith("'+")
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/statistics/2010-03-03.xlsx").content)).active
    cells = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[2] == "eps-messages-total")
    assert cells[3].startswith("'=") and cells[9].startswith("'+")
    assert cells[6] == 306_774_292
    everything = client.get("/statistics/data.csv").content.decode()
    assert "'=HYPERLINK" in everything and ",=HYPERLINK" not in everything


# -- API -------------------------------------------------------------------------------------------


def test_api_lists_public_releases_and_serves_one(client, hidden_releases):
    data = json.loads(page(client, "/api/v1/releases/"))
    assert [r["period"] for r in data["releases"]] == ["2010-03-03"]
    release = json.loads(page(client, "/api/v1/releases/2010-03-03/"))
    assert release["heading"].endswith("(for w/c 3 March 2010)")
    assert len(release["programmes"]) == 8
    assert client.get("/api/v1/releases/2010-03-10/").status_code == 404
    metrics = json.loads(page(client, "/api/v1/metrics/"))["metrics"]
    assert {m["slug"] for m in metrics} >= {"eps-messages-total"}
    series = json.loads(page(client, "/api/v1/metrics/eps-messages-total/"))
    assert [f["value"] for f in series["figures"]] == [306_774_292]
    assert client.get("/api/v1/metrics/nope/").status_code == 404


def test_api_release_list_comes_a_page_at_a_time_and_links_every_page(client, seed_release, hidden_releases):
    generate_history(weeks=10)  # 11 public releases
    first = client.get("/api/v1/releases/?per_page=4")
    data = json.loads(first.content)
    assert (data["count"], data["page"], data["pages"], data["per_page"]) == (11, 1, 3, 4)
    assert [r["period"] for r in data["releases"]] == ["2010-03-03", "2010-02-24", "2010-02-17", "2010-02-10"]
    assert data["links"]["prev"] is None
    assert first["Link"] == (
        '<http://testserver/api/v1/releases/?page=1&per_page=4>; rel="first", '
        '<http://testserver/api/v1/releases/?page=2&per_page=4>; rel="next", '
        '<http://testserver/api/v1/releases/?page=3&per_page=4>; rel="last"'
    )
    periods, url = [], data["links"]["first"]
    while url:  # as a reuser walks it: next to the end
        data = json.loads(page(client, url))
        periods += [r["period"] for r in data["releases"]]
        url = data["links"]["next"]
    assert len(periods) == 11 and periods == sorted(periods, reverse=True)
    assert "2010-03-10" not in periods and "2010-03-17" not in periods  # the draft and the embargoed
    assert data["links"]["prev"] == "http://testserver/api/v1/releases/?page=2&per_page=4"

    assert json.loads(page(client, "/api/v1/releases/"))["per_page"] == 50
    for query, parameter, value in (
        ("page=0", "page", "0"),
        ("page=two", "page", "two"),
        ("per_page=101", "per_page", "101"),
        ("per_page=-1", "per_page", "-1"),
    ):
        response = client.get(f"/api/v1/releases/?{query}")
        assert response.status_code == 400, query
        assert json.loads(response.content) | {"error": ""} == {
            "error": "",
            "parameter": parameter,
            "value": value,
        }
    beyond = client.get("/api/v1/releases/?page=4&per_page=4")
    assert beyond.status_code == 404
    assert (
        json.loads(beyond.content)["error"] == "There is no page 4: with 4 a page, the releases fill 3 pages."
    )


# -- Feed, sitemap, robots, health, errors --------------------------------------------------------


def test_atom_feed_is_valid_xml_listing_only_public_releases(client, hidden_releases):
    generate_history(weeks=2)
    root = ET.fromstring(client.get("/feed/").content)
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    links = [e.find(f"{ATOM}link").get("href") for e in entries]
    assert links == [
        "http://testserver/statistics/2010-03-03/",
        "http://testserver/statistics/2010-02-24/",
        "http://testserver/statistics/2010-02-17/",
    ]
    assert "synthetic demonstration data" in entries[1].find(f"{ATOM}title").text


def test_sitemap_is_valid_xml_listing_only_public_releases(client, hidden_releases):
    root = ET.fromstring(client.get("/sitemap.xml").content)
    locations = [u.find(f"{SITEMAP}loc").text for u in root.findall(f"{SITEMAP}url")]
    assert "http://testserver/statistics/2010-03-03/" in locations
    assert "http://testserver/statistics/programmes/eps/" in locations
    assert "http://testserver/statistics/metrics/eps-messages-total/" in locations
    assert not [loc for loc in locations if "2010-03-10" in loc or "2010-03-17" in loc]


def test_robots_txt_points_to_the_sitemap(client, db):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in response.content.decode()
    assert "Disallow: /admin/" in response.content.decode()


def test_healthz_checks_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_404_and_500_pages_are_in_the_site_style(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and "nhsuk-header" in html and "nhsuk-footer" in html
    from newsroom.views import server_error

    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Sorry, there is a problem with the service" in html and "nhsuk-header" in html


def test_pages_load_nhsuk_frontend_from_our_own_static_files(client, seed_release):
    html = page(client, "/statistics/2010-03-03/")
    assert 'href="/static/vendor/nhsuk/nhsuk-frontend.min.css"' in html
    assert 'media="print"' in html
    assert 'class="nhsuk-skip-link"' in html and 'href="#maincontent"' in html
    external = [u for u in re.findall(r'(?:src|href)="(https?://[^"]+)"', html) if "testserver" not in u]
    assert external == [] or all(u.startswith("http://www.w3.org") for u in external)


# -- Search ----------------------------------------------------------------------------------------


def test_search_finds_releases_metrics_and_contacts(client, seed_release, hidden_releases):
    visible = text(page(client, "/search/?q=prescription"))
    assert "Prescription messages transmitted" in visible
    assert "Deployment statistics for w/c 3 March 2010" in visible
    contacts = text(page(client, "/search/?q=Department+of+Health"))
    assert "Department of Health press office" in contacts
    assert "0 results" in text(page(client, "/search/?q=zzzqqq"))


def test_search_never_shows_hidden_releases(client, seed_release):
    draft = factories.release(dt.date(2010, 3, 10), summary="Embargoed zebra figures")
    assert draft.pk
    visible = text(page(client, "/search/?q=zebra"))
    assert "0 results" in visible and "10 March 2010" not in visible


def test_search_copes_with_odd_input(client, db):
    for query in ("", "   ", "&|!:*()'\"", "a" * 5000, "<script>"):
        response = client.get("/search/", {"q": query})
        assert response.status_code == 200, query
    assert "&lt;script&gt;" in client.get("/search/", {"q": "<script>"}).content.decode()


def test_search_refuses_a_null_character_with_a_message(client, seed_release):
    # PostgreSQL cannot compare text holding NUL: the query reached it and the page answered 500.
    response = client.get("/search/?q=prescription%00messages")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Error: Null characters are not allowed." in text(html)
    assert 'id="results-' not in html  # nothing was searched


def test_search_says_when_it_shows_only_the_newest_releases(client, seed_release):
    generate_history(weeks=30)
    visible = text(page(client, "/search/?q=deployment"))
    assert "More than" in visible and "The newest 20 matching releases are shown." in visible
    assert visible.count("Deployment statistics for w/c") == 20


def test_publish_times_are_shown_in_uk_time_labelled_gmt_or_bst(client, seed_release):
    html = text(page(client, "/statistics/2010-03-03/"))
    assert "Published 3 March 2010, 09:30 GMT" in html
    Release.objects.create(
        period_date=dt.date(2031, 6, 4),
        status=Release.Status.SCHEDULED,
        publish_at=dt.datetime(2031, 6, 4, 8, 30, tzinfo=dt.UTC),
    )
    assert "Wednesday 4 June 2031, 09:30 BST" in text(page(client, "/"))


def test_calendar_and_revisions_breadcrumbs_lead_to_the_page(client, seed_release):
    # As the NHS.UK breadcrumb: the page's parents, never the page itself nor one address twice.
    for path in ("/statistics/calendar/", "/statistics/revisions/"):
        html = page(client, path)
        trail = re.findall(r'class="nhsuk-breadcrumb__link" href="([^"]+)"[^>]*>([^<]+)</a>', html)
        assert trail == [("/", "Home"), ("/statistics/", "Statistics")], (path, trail)
