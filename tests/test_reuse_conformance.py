"""The site's files as the world's tools read them, over HTTP or from the bytes served.

CSV on the Web (the `csvw` package), iCalendar (icalendar and vobject), Atom (feedparser), sitemaps
(the sitemaps.org 0.9 schema, with xmlschema) and Google's rules for Dataset JSON-LD.
"""

from __future__ import annotations

import csv
import io

import pytest
import requests
from django.urls import reverse

from stats.demo.history import generate_history
from stats.models import Metric, Release
from stats.outputs.downloads import BOM_BYTES


def public_csv_paths() -> list[str]:
    """Every CSV the site serves: each public release's, each public measure's series, all the data."""
    releases = [
        reverse("statistics:release-download", args=[period, "csv"])
        for period in Release.objects.public().values_list("period_date", flat=True)
    ]
    series = [
        reverse("statistics:metric-download", args=[slug, "csv"])
        for slug in Metric.objects.filter(programme__is_active=True).values_list("slug", flat=True)
    ]
    return [*releases, *series, reverse("statistics:data-csv")]


def excel_path(path: str) -> str:
    return path.removesuffix(".csv") + ".excel.csv"


def rows_of(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


# -- CSV on the Web ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_every_served_csv_is_valid_csv_on_the_web_and_has_a_copy_for_excel(live_server, seed_release):
    import csvw

    generate_history(weeks=20)
    paths = public_csv_paths()
    assert len(paths) > 20 + 1 + 1
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
