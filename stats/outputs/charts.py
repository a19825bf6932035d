"""Trend charts built once as reportlab Drawings: SVG for the web, vector for the PDF.

Plain values in: no database access here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from stats.wording import formatting

FONT = "Vera"
FONT_BOLD = "VeraBd"
NHS_BLUE = colors.HexColor("#005eb8")
TEXT = colors.HexColor("#212b32")
GRID = colors.HexColor("#d8dde0")


def register_fonts() -> None:
    """Register the TrueType fonts shipped with reportlab, once (they are embedded in PDFs)."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))


@dataclass(frozen=True)
class Point:
    day: date
    value: Decimal


def _axis_label(value: float, kind: str) -> str:
    number = Decimal(str(value))
    if kind == formatting.PERCENT:
        return formatting.percent(number.quantize(Decimal(1)))
    if kind == formatting.AMOUNT:
        return formatting.money(number)
    if number >= 1_000_000:
        # Two decimals so close ticks (1m, 1.02m) stay distinct; trailing zeros are dropped.
        return f"{formatting.grouped((number / 1_000_000).quantize(Decimal('0.01')))}m"
    if number >= 10_000:
        return f"{formatting.grouped((number / 1000).quantize(Decimal(1)))}k"
    return formatting.grouped(number.quantize(Decimal(1)))


def trend_chart(
    points: list[Point],
    *,
    title: str,
    kind: str = formatting.TOTAL,
    unit: str = "",
    width: float = 480,
    height: float = 220,
) -> Drawing:
    """A line chart of one metric over time, with a title and axis labels."""
    register_fonts()
    drawing = Drawing(width, height)
    # The renderer's starting font is Helvetica (not embedded) unless the drawing names one.
    drawing.initialFontName, drawing.initialFontSize = FONT, 8
    drawing.add(String(8, height - 16, title, fontName=FONT_BOLD, fontSize=11, fillColor=TEXT))
    if not points:
        drawing.add(String(8, height / 2, "No figures yet.", fontName=FONT, fontSize=10))
        return drawing
    ordinals = [p.day.toordinal() for p in points]
    values = [float(p.value) for p in points]
    plot = LinePlot()
    plot.x, plot.y = 62, 40
    plot.width, plot.height = width - 80, height - 86
    plot.data = [list(zip(ordinals, values, strict=True))]
    plot.lines[0].strokeColor = NHS_BLUE
    plot.lines[0].strokeWidth = 2
    if len(points) <= 30:
        plot.lines[0].symbol = makeMarker("FilledCircle", size=3, fillColor=NHS_BLUE)
    low, high = min(values), max(values)
    if kind == formatting.PERCENT:
        low, high = 0, 100
    elif low == high:
        low, high = low * 0.9, high * 1.1 or 1
    else:
        low = 0 if low >= 0 and low < (high - low) else low - (high - low) * 0.1
    plot.yValueAxis.valueMin = low
    plot.yValueAxis.valueMax = high
    plot.yValueAxis.labelTextFormat = lambda v: _axis_label(v, kind)
    plot.yValueAxis.labels.fontName = FONT
    plot.yValueAxis.labels.fontSize = 8
    plot.yValueAxis.visibleGrid = True
    plot.yValueAxis.gridStrokeColor = GRID
    first, last = min(ordinals), max(ordinals)
    plot.xValueAxis.valueMin = first
    plot.xValueAxis.valueMax = last if last > first else first + 1
    steps = 4 if last > first else 1
    plot.xValueAxis.valueSteps = [first + (last - first) * i / steps for i in range(steps + 1)]
    # Under a year, months repeat between ticks: name the day too.
    tick = "%-d %b %Y" if last - first < 366 else "%b %Y"
    plot.xValueAxis.labelTextFormat = lambda v: date.fromordinal(int(v)).strftime(tick)
    plot.xValueAxis.labels.fontName = FONT
    plot.xValueAxis.labels.fontSize = 8
    drawing.add(plot)
    drawing.add(String(width / 2, 6, "Reporting period", fontName=FONT, fontSize=8, textAnchor="middle"))
    # Vertical axis label, above the axis where it reads without rotating the head.
    drawing.add(String(8, height - 32, unit or "Value", fontName=FONT, fontSize=8, fillColor=TEXT))
    return drawing


def describe(points: list[Point], *, title: str, kind: str = formatting.TOTAL) -> str:
    """A text alternative: the range and the first and last values."""
    if not points:
        return f"{title}: no figures yet."
    first, last = points[0], points[-1]
    return (
        f"{title}, {len(points)} releases from {formatting.as_of(first.day)} to "
        f"{formatting.as_of(last.day)}: from {formatting.exact(first.value, kind=kind)} "
        f"to {formatting.exact(last.value, kind=kind)}."
    )


def _presentation_attributes(match: re.Match) -> str:
    """A style attribute as SVG presentation attributes (fill="…", stroke-width="…").

    A Content-Security-Policy without 'unsafe-inline' blocks style attributes but not these.
    """
    attributes = []
    for declaration in match.group(1).split(";"):
        name, colon, value = (part.strip() for part in declaration.partition(":"))
        if colon and name and value:
            attributes.append(f' {name}="{"none" if value.lower() == "none" else escape(value)}"')
    return "".join(attributes)


def to_svg(drawing: Drawing, *, title: str, description: str, id_prefix: str) -> str:
    """Inline SVG with a real title and description, ids unique on the page and no style attributes."""
    svg = renderSVG.drawToString(drawing)
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    svg = re.sub(r"<title>.*?</title>", "", svg, flags=re.S)
    svg = re.sub(r"<desc>.*?</desc>", "", svg, flags=re.S)
    svg = svg.replace("font-family: VeraBd;", "font-family: Arial, sans-serif; font-weight: bold;")
    svg = svg.replace("font-family: Vera;", "font-family: Arial, sans-serif;")
    svg = re.sub(r'\sstyle="([^"]*)"', _presentation_attributes, svg)
    svg = re.sub(r'id="(clip|group)', rf'id="{id_prefix}-\1', svg)
    svg = re.sub(r"url\(#(clip|group)", rf"url(#{id_prefix}-\1", svg)
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    svg = re.sub(
        r"<svg\b([^>]*)>",
        lambda m: (
            f'<svg{m.group(1)} role="img" aria-labelledby="{title_id} {desc_id}" focusable="false">'
            f'<title id="{title_id}">{escape(title)}</title><desc id="{desc_id}">{escape(description)}</desc>'
        ),
        svg,
        count=1,
    )
    return svg
