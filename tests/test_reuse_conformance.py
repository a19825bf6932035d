"""The site's files as the world's tools read them, over HTTP or from the bytes served.

CSV on the Web (the `csvw` package), iCalendar (icalendar and vobject), Atom (feedparser), sitemaps
(the sitemaps.org 0.9 schema, with xmlschema) and Google's rules for Dataset JSON-LD.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import requests
from django.urls import reverse

from stats.demo.history import generate_history
from stats.models import Metric, Release
from stats.outputs.downloads import BOM_BYTES


def public_csv_paths(*, as_of: str) -> list[str]:
    """Every CSV the site serves: each public release's, each public measure's series, all the data;
    and some releases' and measures' as published on the day `as_of`."""
    releases = [
        reverse("statistics:release-download", args=[period, "csv"])
        for period in Release.objects.public().order_by("-period_date").values_list("period_date", flat=True)
    ]
    series = [
        reverse("statistics:metric-download", args=[slug, "csv"])
        for slug in Metric.objects.filter(programme__is_active=True).values_list("slug", flat=True)
    ]
    then = [f"{path}?as_of={as_of}" for path in [*releases[:3], *series[:3]]]
    return [*releases, *series, reverse("statistics:data-csv"), *then]


def excel_path(path: str) -> str:
    path, _, query = path.partition("?")
    return path.removesuffix(".csv") + ".excel.csv" + (f"?{query}" if query else "")


def rows_of(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


# -- CSV on the Web ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_every_served_csv_is_valid_csv_on_the_web_and_has_a_copy_for_excel(live_server, seed_release):
    import csvw

    from stats.vintages import uk_today

    generate_history(weeks=104)
    paths = public_csv_paths(as_of=uk_today().isoformat())
    assert len(paths) == 105 + Metric.objects.count() + 1 + 6
    failures = {}
    for path in paths:
        table = csvw.CSVW(live_server.url + path, validate=True)
        if not table.is_valid or table.no_metadata:
            failures[path] = [str(warning.message) for warning in table.warnings] or ["no metadata found"]
        plain = requests.get(live_server.url + path, timeout=30)
        excel = requests.get(live_server.url + excel_path(path), timeout=30)
        assert plain.status_code == excel.status_code == 200, path
        assert not plain.content.startswith(BOM_BYTES), path
        assert excel.content.startswith(BOM_BYTES), path  # what Excel needs to read it as UTF-8
        assert excel.content[len(BOM_BYTES) :] == plain.content, path  # the very same rows
        assert rows_of(plain.content)[0][0] == "period"
        assert excel.headers["Content-Type"].startswith("text/csv")
        assert "-excel.csv" in excel.headers["Content-Disposition"]
        assert "Link" not in excel.headers  # its CSVW metadata describes the file without the mark
    assert failures == {}


# -- iCalendar (RFC 5545, RFC 7986) -----------------------------------------------------------------

ICS = "/statistics/calendar.ics"
TEXT_PROPERTIES = ("SUMMARY", "DESCRIPTION", "NAME", "X-WR-CALNAME", "X-WR-CALDESC")


def content_lines(body: bytes) -> list[tuple[str, dict[str, str], str]]:
    """The feed's content lines, unfolded (RFC 5545 3.1): (name, parameters, value)."""
    text = body.decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")  # CRLF, nothing else
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n")), "a line over 75 octets"
    lines = []
    for line in text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]:
        head, _, value = line.partition(":")
        name, *params = head.split(";")
        lines.append((name.upper(), dict(param.split("=", 1) for param in params), value))
    return lines


def unescaped(value: str) -> str:
    """What is left of a TEXT value once its escapes (\\\\ \\, \\; \\n) are taken out: no , ; or \\."""
    for escape in ("\\\\", "\\,", "\\;", "\\n", "\\N"):
        value = value.replace(escape, "")
    return value


def property_problems(lines) -> list[str]:
    """VERSION and PRODID once at the top; RFC 7986's VALUE parameters; TEXT values escaped."""
    problems = []
    names = [name for name, _params, _value in lines]
    if names[0] != "BEGIN" or lines[0][2] != "VCALENDAR" or lines[-1][2] != "VCALENDAR":
        problems.append("not one VCALENDAR")
    top = names[: names.index("BEGIN", 1)] if "BEGIN" in names[1:] else names
    problems += [
        f"{name} appears {top.count(name)} times" for name in ("VERSION", "PRODID") if top.count(name) != 1
    ]
    wanted = {"VERSION": ("", "2.0"), "REFRESH-INTERVAL": ("DURATION", None), "SOURCE": ("URI", None)}
    for name, params, value in lines:
        if name in wanted:
            kind, exact = wanted[name]
            if kind and params.get("VALUE") != kind:
                problems.append(f"{name} without VALUE={kind}")
            if exact and value != exact:
                problems.append(f"{name}:{value}")
        if name in TEXT_PROPERTIES and any(char in unescaped(value) for char in ",;\\"):
            problems.append(f"{name} has an unescaped , ; or \\: {value!r}")
    return problems


def event_problems(lines) -> list[str]:
    """Every VEVENT has exactly one UID, one DTSTAMP (in UTC) and one DTSTART."""
    problems, event = [], None
    for name, _params, value in lines:
        if (name, value) == ("BEGIN", "VEVENT"):
            event = []
        elif (name, value) == ("END", "VEVENT"):
            names = [n for n, _v in event]
            problems += [
                f"a VEVENT without one {n}" for n in ("UID", "DTSTAMP", "DTSTART") if names.count(n) != 1
            ]
            problems += ["a DTSTAMP not in UTC" for n, v in event if n == "DTSTAMP" and not v.endswith("Z")]
            event = None
        elif event is not None:
            event.append((name, value))
    return problems


def parser_problems(body: bytes) -> list[str]:
    """Two independent parsers read it without complaint, and read the same events."""
    import icalendar
    import vobject

    parsed = icalendar.Calendar.from_ical(body)
    problems = ["icalendar reports errors"] if any(component.errors for component in parsed.walk()) else []
    other = vobject.readOne(body.decode("utf-8"), validate=True)
    uids = sorted(str(event["UID"]) for event in parsed.events)
    if sorted(event.uid.value for event in getattr(other, "vevent_list", [])) != uids:
        problems.append("icalendar and vobject read different events")
    return problems


def calendar_problems(body: bytes) -> list[str]:
    """What the feed gets wrong by RFC 5545 and RFC 7986, read line by line and by two parsers."""
    lines = content_lines(body)
    return property_problems(lines) + event_problems(lines) + parser_problems(body)


def test_the_calendar_a_newcomer_subscribes_to_shows_the_latest_release(client, seed_release):
    """The default data (`make run`: the seed release alone): the release out, as a past event."""
    import icalendar

    body = client.get(ICS).content
    assert calendar_problems(body) == []
    [event] = icalendar.Calendar.from_ical(body).events
    assert str(event["SUMMARY"]) == seed_release.announced_name
    assert str(event["URL"]) == "http://testserver/statistics/2010-03-03/"


def test_the_calendar_over_history_and_an_announced_release_is_valid(client, next_week, press_officer):
    import datetime as dt

    import icalendar
    from django.utils import timezone

    from stats.publishing import services

    generate_history(weeks=30)
    coming = services.start_next_release(source=next_week, by=press_officer)
    services.change_release_date(
        release=coming,
        by=press_officer,
        publish_at=timezone.now() + dt.timedelta(days=7),
        reason="Announced; moved once, because a supplier's file is late.",
    )
    body = client.get(ICS).content
    assert calendar_problems(body) == []
    events = icalendar.Calendar.from_ical(body).events
    uids = [str(event["UID"]).split("@")[0] for event in events]
    assert uids == [f"release-{next_week.pk}", f"release-{coming.pk}"]


# -- Atom feed ------------------------------------------------------------------------------------


@pytest.mark.parametrize("weeks", [0, 40])
def test_the_atom_feed_reads_cleanly_in_feedparser(client, seed_release, weeks):
    import feedparser

    if weeks:
        generate_history(weeks=weeks)
    response = client.get(reverse("feed"))
    assert response.status_code == 200
    parsed = feedparser.parse(response.content, response_headers={"content-type": response["Content-Type"]})
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title and parsed.feed.link.startswith("http://testserver/") and parsed.feed.updated
    assert len(parsed.entries) == min(weeks + 1, 30)
    ids = [entry.id for entry in parsed.entries]
    assert len(set(ids)) == len(ids)
    for entry in parsed.entries:
        assert entry.title.strip() and entry.id.startswith("tag:")
        assert entry.link.startswith("http://testserver/statistics/20")
        assert client.get(entry.link.removeprefix("http://testserver")).status_code == 200
        assert entry.updated_parsed and entry.published_parsed and entry.summary.strip()


# -- Sitemap --------------------------------------------------------------------------------------

SCHEMAS = Path(__file__).parent / "schemas"


@pytest.mark.parametrize("weeks", [0, 40])
def test_the_sitemap_is_valid_by_the_sitemaps_org_schema(client, seed_release, weeks):
    import xmlschema

    if weeks:
        generate_history(weeks=weeks)
    schema = xmlschema.XMLSchema(SCHEMAS / "sitemap.xsd")
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    errors = [str(error.reason) for error in schema.iter_errors(response.content.decode())]
    assert errors == []
    urls = schema.to_dict(response.content.decode())["url"]
    releases = Release.objects.public().count()
    assert len(urls) >= releases + Metric.objects.count()
    for url in urls:
        assert url["loc"].startswith("http://testserver/")
    assert all(client.get(url["loc"].removeprefix("http://testserver")).status_code == 200 for url in urls)


# -- Google's rules for Dataset JSON-LD -------------------------------------------------------------

RECOMMENDED = (
    "citation",
    "creator",
    "distribution",
    "identifier",
    "keywords",
    "license",
    "isAccessibleForFree",
    "spatialCoverage",
    "temporalCoverage",
    "version",
    "url",
    "datePublished",
    "dateModified",
)


def blanks(value, where="") -> list[str]:
    """Where a value is blank (empty text, list or object, or null), anywhere inside it."""
    if value is None or value == "" or value == [] or value == {}:
        return [where or "(top)"]
    if isinstance(value, str) and not value.strip():
        return [where]
    if isinstance(value, dict):
        return [found for key, inner in value.items() for found in blanks(inner, f"{where}.{key}")]
    if isinstance(value, list):
        return [found for i, inner in enumerate(value) for found in blanks(inner, f"{where}[{i}]")]
    return []


def dataset_problems(html: str) -> list[str]:
    """What Google's Dataset guidelines would flag in the page's JSON-LD (required and recommended)."""
    import datetime as dt
    import json
    import re

    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    datasets = [data for data in map(json.loads, blocks) if data.get("@type") == "Dataset"]
    if len(datasets) != 1:
        return [f"{len(datasets)} Dataset blocks"]
    [data] = datasets
    problems = [f"blank {where}" for where in blanks(data)]
    if not data.get("name"):
        problems.append("no name")
    if not 50 <= len(data.get("description", "")) <= 5000:
        problems.append(f"description of {len(data.get('description', ''))} characters")
    problems += [f"no {name}" for name in RECOMMENDED if name not in data]
    for item in data.get("distribution", []):
        if not (item.get("encodingFormat") and item.get("contentUrl", "").startswith("http")):
            problems.append(f"distribution without encodingFormat and contentUrl: {item}")
    for name in ("datePublished", "dateModified"):
        try:
            dt.datetime.fromisoformat(data.get(name, ""))
        except ValueError:
            problems.append(f"{name} {data.get(name)!r} is not ISO 8601")
    coverage = data.get("temporalCoverage", "")
    if not all(dt.date.fromisoformat(part) for part in coverage.split("/")):
        problems.append(f"temporalCoverage {coverage!r}")
    if data.get("spatialCoverage", {}).get("@type") != "Place":
        problems.append("spatialCoverage is not a Place")
    return problems


def test_every_release_and_metric_page_describes_a_dataset_by_googles_rules(client, seed_release):
    generate_history(weeks=104)
    pages = [release.get_absolute_url() for release in Release.objects.public()]
    pages += [metric.get_absolute_url() for metric in Metric.objects.filter(programme__is_active=True)]
    assert len(pages) > 105
    failures = {}
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        problems = dataset_problems(response.content.decode())
        if problems:
            failures[path] = problems
    assert failures == {}
