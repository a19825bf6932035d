"""Charts that describe themselves, and figures stated honestly wherever they appear.

A chart's words come from the points it draws: its latest value, the change since the previous
release and over the year, its highest and lowest points, whether it rose, fell or was flat, and
where its axis starts. They are on the page, in the PDF and in the feed, and follow a correction.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal
from html import unescape

import pytest

from stats.demo.history import generate_history
from stats.models import Figure
from stats.outputs.charts import Point, axis_starts_at_zero, describe_chart, value_ticks
from stats.publishing import services
from stats.wording import formatting

from .test_pdf import get_pdf, pdf_text

START = dt.date(2010, 1, 6)


def weekly(*values, qualifiers=()) -> list[Point]:
    qualifiers = list(qualifiers) + [""] * (len(values) - len(qualifiers))
    return [
        Point(START + dt.timedelta(weeks=n), Decimal(v), q)
        for n, (v, q) in enumerate(zip(values, qualifiers, strict=True))
    ]


def words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def caption(html: str) -> str:
    """The first chart's description as the page shows it under the chart."""
    found = re.search(
        r'<figcaption class="[^"]*newsroom-chart__description[^"]*">(.*?)</figcaption>', html, re.S
    )
    assert found, "no chart description on the page"
    return words(found.group(1))


# -- Generated from the data --------------------------------------------------------------------


def test_a_rising_series_is_described_by_its_latest_value_changes_and_extremes():
    text = describe_chart(weekly(100, 120, 90, 150), title="Messages").text
    assert text.startswith("Messages, 4 releases from 6 Jan 2010 to 27 Jan 2010: from 100 to 150.")
    assert "Latest figure, w/c 27 Jan 2010: 150." in text
    assert "Since the previous release, w/c 20 Jan 2010: up 60 (66.7%)." in text
    assert "Since w/c 6 Jan 2010, the earliest release in the last year, it rose: up 50 (50%)." in text
    assert "Highest: 150, w/c 27 Jan 2010; lowest: 90, w/c 20 Jan 2010." in text
    assert "axis does not start at zero" not in text


def test_a_fall_and_a_flat_year_are_said_in_words():
    fell = describe_chart(weekly(500, 400), title="Users").text
    assert "down 100 (20%)" in fell and "it fell" in fell
    flat = describe_chart(weekly(1000, 1004, 1005), title="Users").text
    assert "it was flat (within 1% either way): up 5 (0.5%)" in flat


def test_over_the_year_is_measured_from_52_weeks_before():
    points = weekly(*range(100, 160))  # 60 weeks
    text = describe_chart(points, title="Sites").text
    reference = points[-1].day - dt.timedelta(weeks=52)
    assert f"Over the year, since w/c {formatting.as_of(reference)}, it rose: up 52 (" in text


def test_percentages_change_by_percentage_points():
    text = describe_chart(weekly(40, 42), title="Share", kind=formatting.PERCENT).text
    assert "Since the previous release, w/c 6 Jan 2010: up 2 percentage points." in text


def test_the_axis_starts_at_zero_unless_that_would_flatten_the_line_and_then_it_says_so():
    # A range of 4% of the level: a zero-based axis would draw a flat line.
    close = weekly(1_000_000, 1_020_000, 1_040_000)
    assert not axis_starts_at_zero([p.value for p in close])
    assert value_ticks([p.value for p in close], kind=formatting.TOTAL, count=5)[0] > 0
    assert "The axis does not start at zero." in describe_chart(close, title="Users").text
    wide = weekly(10, 1_000)
    assert axis_starts_at_zero([p.value for p in wide])
    assert value_ticks([p.value for p in wide], kind=formatting.TOTAL, count=5)[0] == 0
    assert "The axis does not start at zero." not in describe_chart(wide, title="Users").text


def test_a_bound_keeps_its_words_in_the_description():
    text = describe_chart(weekly(46_000, 47_000, qualifiers=("", "more_than")), title="N3").text
    assert "Latest figure, w/c 13 Jan 2010: more than 47,000." in text
    assert "Some of these figures are bounds or approximations, so the changes are approximate." in text


# -- On the page, in the PDF and in the feed; refreshed by a correction ---------------------------


def test_the_description_follows_a_correction_on_the_page_in_the_pdf_and_in_the_feed(
    client, seed_release, publisher
):
    generate_history(weeks=3)
    metric_page = "/statistics/metrics/eps-messages-total/"
    before = caption(client.get(metric_page).content.decode())
    assert "Latest figure, w/c 3 Mar 2010: 306,774,292." in before
    pdf_before = pdf_text(get_pdf(client, "/statistics/2010-03-03.pdf"))
    assert "Latest figure, w/c 3 Mar 2010: 306,774,292." in pdf_before
    feed_before = unescape(client.get("/feed/").content.decode())
    assert "Latest figure, w/c 3 Mar 2010: 306,774,292." in feed_before

    figure = Figure.objects.get(release=seed_release, metric__slug="eps-messages-total")
    services.correct_figure(figure=figure, by=publisher, value=310_000_000, reason="A late batch arrived.")

    after = caption(client.get(metric_page).content.decode())
    assert "Latest figure, w/c 3 Mar 2010: 310,000,000." in after
    assert "306,774,292." not in after.split("Highest")[0]
    assert "Highest: 310,000,000, w/c 3 Mar 2010" in after
    assert "Latest figure, w/c 3 Mar 2010: 310,000,000." in pdf_text(
        get_pdf(client, "/statistics/2010-03-03.pdf")
    )
    assert "Latest figure, w/c 3 Mar 2010: 310,000,000." in unescape(client.get("/feed/").content.decode())


def test_every_chart_on_the_release_and_programme_pages_is_described(client, seed_release):
    generate_history(weeks=2)
    html = client.get("/statistics/programmes/eps/").content.decode()
    charts = html.count('<figure class="newsroom-chart">')
    assert charts and html.count("newsroom-chart__description") == charts
    # The drawing names its description for screen readers, from the same words.
    desc = re.search(r'<desc id="chart-eps-messages-total-desc">(.*?)</desc>', html, re.S)
    assert desc and "3 releases from" in unescape(desc.group(1))


# -- Honest figures -----------------------------------------------------------------------------


def test_a_bound_is_stated_with_its_words_on_the_page_the_metric_page_and_the_api(client, seed_release):
    release_page = words(client.get("/statistics/2010-03-03/").content.decode())
    assert "more than 47,000" in release_page  # N3 connections
    assert "almost 500,000" in release_page  # NHSmail registered users
    metric_page = words(client.get("/statistics/metrics/n3-connections/").content.decode())
    assert "more than 47,000" in metric_page
    api = client.get("/api/v1/releases/2010-03-03/").json()
    n3 = next(
        figure
        for programme in api["programmes"]
        for figure in programme["figures"]
        if figure["metric_slug"] == "n3-connections"
    )
    assert n3["display"] == "more than 47,000" and n3["qualifier"] == "more_than"


def test_public_pages_speak_plainly(client, seed_release):
    for url in ("/statistics/2010-03-03/", "/statistics/metrics/eps-messages-total/", "/statistics/"):
        text = words(client.get(url).content.decode())
        assert "Data key" not in text, url
        assert not re.search(r"\b(\w+) \(\1\)", text), (url, re.search(r"\b(\w+) \(\1\)", text))


def test_the_calendar_and_revisions_are_linked_from_every_public_page(client, seed_release):
    for url in ("/", "/statistics/", "/statistics/2010-03-03/", "/contacts/", "/subscribe/"):
        html = client.get(url).content.decode()
        assert 'href="/statistics/calendar/"' in html, url
        assert 'href="/statistics/revisions/"' in html, url


def test_a_corrected_figure_links_to_its_revision_and_the_notice_is_shown_once(
    client, seed_release, publisher
):
    figure = Figure.objects.get(release=seed_release, metric__slug="eps-messages-total")
    services.correct_figure(figure=figure, by=publisher, value=306_774_399, reason="A late batch arrived.")
    html = client.get("/statistics/2010-03-03/").content.decode()
    link = re.search(r'<a href="#(correction-\d+)">([^<]+)</a>', html)
    assert link, "the corrected figure does not link to its revision"
    assert words(link.group(2)).startswith("Revised from 306,774,292 to 306,774,399 on ")
    assert html.count(f'id="{link.group(1)}"') == 1
    assert html.count('id="corrections-heading"') == 1
    notice = html[html.index(f'id="{link.group(1)}"') :]
    assert "A late batch arrived." in words(notice[: notice.index("</li>")])


def test_a_long_series_is_drawn_through_its_peaks_and_troughs_not_every_point():
    from stats.outputs.charts import drawn_points

    values = [1000 + (n % 7) * 10 for n in range(520)]
    values[100], values[300] = 5000, 10  # a spike and a dip
    points = weekly(*values)
    drawn = drawn_points(points, most=160)
    assert len(drawn) <= 162
    assert drawn[0] == points[0] and drawn[-1] == points[-1]
    assert points[100] in drawn and points[300] in drawn
    assert [p.day for p in drawn] == sorted(p.day for p in drawn)
    # Short series are drawn as they are.
    assert drawn_points(points[:50], most=160) == points[:50]


# -- Labels that never overlap, on the page, on a phone and in the PDF ----------------------------


def drawn_strings(node, transform=(1, 0, 0, 1, 0, 0)) -> list[tuple[float, float, float, float, str]]:
    """Every text a chart draws, as (left, bottom, right, top, text) in the drawing's units."""
    from reportlab.graphics.shapes import String
    from reportlab.graphics.widgetbase import Widget
    from reportlab.pdfbase.pdfmetrics import stringWidth

    def combine(a, b):
        return (
            a[0] * b[0] + a[2] * b[1],
            a[1] * b[0] + a[3] * b[1],
            a[0] * b[2] + a[2] * b[3],
            a[1] * b[2] + a[3] * b[3],
            a[0] * b[4] + a[2] * b[5] + a[4],
            a[1] * b[4] + a[3] * b[5] + a[5],
        )

    if isinstance(node, Widget):
        return drawn_strings(node.draw(), transform)
    if isinstance(node, String):
        x = transform[0] * node.x + transform[2] * node.y + transform[4]
        y = transform[1] * node.x + transform[3] * node.y + transform[5]
        width = stringWidth(node.text, node.fontName, node.fontSize)
        left = {"start": x, "middle": x - width / 2, "end": x - width}[node.textAnchor]
        return [(left, y - 0.2 * node.fontSize, left + width, y + 0.75 * node.fontSize, node.text)]
    found = []
    inner = combine(transform, getattr(node, "transform", (1, 0, 0, 1, 0, 0)))
    for child in getattr(node, "contents", []):
        found += drawn_strings(child, inner)
    return found


SERIES = {
    "one release": weekly(306_774_292),
    "two releases": weekly(299_000_000, 306_774_292),
    "a year": weekly(*range(250_000_000, 306_000_000, 1_076_923)),
    "ten years": weekly(*(1_000 + n * 997 for n in range(520))),
    "percent": [*weekly(*range(40, 92))],
    "small counts": weekly(3, 4, 4, 5, 7),
    "flat": weekly(*[47_000] * 30),
}


@pytest.mark.parametrize("name", SERIES)
@pytest.mark.parametrize("size", ["wide", "phone"])
def test_no_two_labels_of_a_chart_overlap_and_none_leaves_it(name, size):
    from stats.outputs import charts

    points = SERIES[name]
    kind = formatting.PERCENT if name == "percent" else formatting.TOTAL
    # Wide: the page's and the PDF's (pdf_layout draws the same trend_chart); phone: the small one.
    drawing = {
        "wide": lambda: charts.trend_chart(points, title="Prescription messages", kind=kind, unit="messages"),
        "phone": lambda: charts.small_trend_chart(points, kind=kind, unit="messages"),
    }[size]()
    texts = drawn_strings(drawing)
    assert len(texts) >= 3, texts
    for left, bottom, right, top, text in texts:
        assert left >= 0 and right <= drawing.width and bottom >= 0 and top <= drawing.height, text
    for a, b in itertools.combinations(texts, 2):
        apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
        assert apart, f"{a[4]!r} overlaps {b[4]!r}"
