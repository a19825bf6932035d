"""Trend charts built once as reportlab Drawings: SVG for the web, vector for the PDF.

Plain values in: no database access here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from html import escape

from reportlab.graphics import renderSVG
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from stats.wording import formatting, qualified

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
    qualifier: str = ""  # "over", "almost"…: the value is a bound (see stats.wording.qualified)


# ---------------------------------------------------------------------------
# The value axis: one rule for where it starts, and round ticks.

# The value axis starts at zero, unless the values vary by less than this share of the highest
# value: a zero-based axis would then draw a flat line, so the axis starts just below the lowest
# value instead, and the chart's description says "The axis does not start at zero."
ZOOM_BELOW_SHARE = Decimal("0.2")


def axis_starts_at_zero(values: Sequence[Decimal]) -> bool:
    """The one rule for the value axis: zero, unless the range is a small part of the level."""
    if not values:
        return True
    low, high = min(values), max(values)
    if low <= 0 or low == high:
        return True
    return high - low >= ZOOM_BELOW_SHARE * high


def _nice_step(span: Decimal, count: int) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` intervals."""
    raw = span / count
    power = Decimal(10) ** raw.adjusted()
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover - raw is below 10 × its power of ten


def value_ticks(values: Sequence[Decimal], *, kind: str, count: int) -> list[Decimal]:
    """The value axis's ticks, lowest first: from zero (or just below the lowest value) to the highest."""
    values = [Decimal(v) for v in values]
    low, high = min(values), max(values)
    if axis_starts_at_zero(values):
        bottom, top = Decimal(0), (Decimal(100) if kind == formatting.PERCENT else high) or Decimal(1)
    else:
        pad = (high - low) / 10
        bottom, top = low - pad, high + pad
        if kind == formatting.PERCENT:
            top = min(top, Decimal(100))
    step = max(_nice_step(top - bottom, count), Decimal(1))  # figures are counted whole: no 7,093.5
    first = (bottom / step).to_integral_value(ROUND_FLOOR) * step
    last = (top / step).to_integral_value(ROUND_CEILING) * step
    return [first + step * i for i in range(int((last - first) / step) + 1)]


def _axis_label(value: Decimal, kind: str, step: Decimal, top: Decimal) -> str:
    """A tick label in the axis's one scale, with as many decimals as its step needs: '300m', '2.5m'."""
    if value == 0:
        return "0"
    scale, suffix = Decimal(1), ""
    if kind != formatting.PERCENT:
        for size, short in ((Decimal(10) ** 9, "bn"), (Decimal(10) ** 6, "m"), (Decimal(10) ** 4, "k")):
            if top >= size:
                scale, suffix = (Decimal(1000) if short == "k" else size), short
                break
    places = max(0, -(step / scale).normalize().as_tuple().exponent)
    number = formatting.grouped((value / scale).quantize(Decimal(1).scaleb(-places)))
    if kind == formatting.PERCENT:
        return f"{number}%"
    return f"£{number}{suffix}" if kind == formatting.AMOUNT else f"{number}{suffix}"


# ---------------------------------------------------------------------------
# Drawings.


@dataclass(frozen=True)
class Layout:
    """Sizes in drawing units: the web scales the drawing to its column, the PDF to its frame."""

    width: float
    height: float
    label_size: float  # tick labels, the unit above the axis, the axis title
    title_size: float | None  # None: no title in the drawing (the page's heading names the chart)
    left: float  # room for the value labels
    bottom: float  # room for the date labels
    top: float  # room for the title and unit
    right: float
    date_ticks: int  # 1 = the first and last dates only, at the ends
    value_ticks: int


def wide_layout(width: float = 480, height: float = 220) -> Layout:
    return Layout(width, height, 9, 11, left=62, bottom=40, top=46, right=30, date_ticks=4, value_ticks=5)


# For phones: drawn 300 units wide and shown at the column's width (about 238 to 340 CSS px between
# 320 and 375 px screens, a programme page's being the narrowest), so 16-unit text stays at least
# 12 CSS px. Two dates, four values, no title.
SMALL_LAYOUT = Layout(300, 230, 16, None, left=72, bottom=32, top=34, right=8, date_ticks=1, value_ticks=3)


def trend_chart(
    points: list[Point],
    *,
    title: str,
    kind: str = formatting.TOTAL,
    unit: str = "",
    width: float = 480,
    height: float = 220,
) -> Drawing:
    """A line chart of one metric over time, with a title and axis labels (the web's and the PDF's)."""
    return draw_chart(points, title=title, kind=kind, unit=unit, layout=wide_layout(width, height))


def small_trend_chart(points: list[Point], *, kind: str = formatting.TOTAL, unit: str = "") -> Drawing:
    """The same chart simplified for a phone's width: larger text, fewer labels, no title."""
    return draw_chart(points, title="", kind=kind, unit=unit, layout=SMALL_LAYOUT)


# A line is drawn through at most one point per this many drawing units of the plot's width: more
# would fall on the same spot (ten years of weekly figures are 520 points on a 390-unit line).
DRAWING_UNITS_PER_POINT = 3


def drawn_points(points: list[Point], *, most: int) -> list[Point]:
    """The points a line needs at its width: all of them, or for long series the lowest and the
    highest of each stretch of time, in date order, so every peak and trough is drawn where it is.

    The chart's description and its table always read every point.
    """
    if len(points) <= most or most < 4:
        return points
    buckets = most // 2
    size = len(points) / buckets
    kept: list[Point] = []
    for index in range(buckets):
        stretch = points[round(index * size) : round((index + 1) * size)]
        if not stretch:
            continue
        low = min(stretch, key=lambda p: p.value)
        high = max(stretch, key=lambda p: p.value)
        kept.extend(sorted({low, high}, key=lambda p: p.day))
    # The first and the last figures are always where the line starts and ends.
    if kept[0] is not points[0]:
        kept.insert(0, points[0])
    if kept[-1] is not points[-1]:
        kept.append(points[-1])
    return kept


def draw_chart(points: list[Point], *, title: str, kind: str, unit: str, layout: Layout) -> Drawing:
    register_fonts()
    width, height = layout.width, layout.height
    drawing = Drawing(width, height)
    # The renderer's starting font is Helvetica (not embedded) unless the drawing names one.
    drawing.initialFontName, drawing.initialFontSize = FONT, layout.label_size
    if layout.title_size:
        drawing.add(
            String(8, height - 16, title, fontName=FONT_BOLD, fontSize=layout.title_size, fillColor=TEXT)
        )
    if not points:
        drawing.add(String(8, height / 2, "No figures yet.", fontName=FONT, fontSize=layout.label_size))
        return drawing
    plot = LinePlot()
    plot.x, plot.y = layout.left, layout.bottom
    plot.width = width - layout.left - layout.right
    plot.height = height - layout.bottom - layout.top
    ordinals = [p.day.toordinal() for p in points]
    drawn = drawn_points(points, most=int(plot.width / DRAWING_UNITS_PER_POINT))
    plot.data = [[(p.day.toordinal(), float(p.value)) for p in drawn]]
    plot.lines[0].strokeColor = NHS_BLUE
    plot.lines[0].strokeWidth = 2
    if len(points) <= 30:
        plot.lines[0].symbol = makeMarker("FilledCircle", size=3, fillColor=NHS_BLUE)
    _value_axis(plot.yValueAxis, [p.value for p in points], kind=kind, layout=layout)
    _date_axis(plot.xValueAxis, ordinals, layout=layout)
    drawing.add(plot)
    if layout.title_size:
        drawing.add(
            String(
                width / 2,
                6,
                "Reporting period",
                fontName=FONT,
                fontSize=layout.label_size,
                textAnchor="middle",
            )
        )
    # The unit, above the value axis where it reads without turning the head.
    unit_y = height - 32 if layout.title_size else height - layout.label_size - 2
    drawing.add(String(8, unit_y, unit or "Value", fontName=FONT, fontSize=layout.label_size, fillColor=TEXT))
    return drawing


def _value_axis(axis, values: list[Decimal], *, kind: str, layout: Layout) -> None:
    ticks = value_ticks(values, kind=kind, count=layout.value_ticks)
    step, top = ticks[1] - ticks[0], ticks[-1]
    axis.valueMin, axis.valueMax = float(ticks[0]), float(top)
    axis.valueSteps = [float(tick) for tick in ticks]
    labels = {float(tick): _axis_label(tick, kind, step, top) for tick in ticks}
    axis.labelTextFormat = lambda v: labels.get(v) or _axis_label(Decimal(str(v)), kind, step, top)
    axis.labels.fontName = FONT
    axis.labels.fontSize = layout.label_size
    axis.visibleGrid = True
    axis.gridStrokeColor = GRID


def _date_axis(axis, ordinals: list[int], *, layout: Layout) -> None:
    first, last = min(ordinals), max(ordinals)
    axis.valueMin = first
    axis.valueMax = last if last > first else first + 1
    steps = layout.date_ticks if last > first else 0
    axis.valueSteps = [first + (last - first) * i / steps for i in range(steps + 1)] if steps else [first]
    # Under a year, months repeat between ticks: name the day too.
    tick = "%-d %b %Y" if last - first < 366 else "%b %Y"
    axis.labelTextFormat = lambda v: date.fromordinal(int(v)).strftime(tick)
    axis.labels.fontName = FONT
    axis.labels.fontSize = layout.label_size
    if not steps:
        # One release: its date reads from the start of the axis, clear of the value labels.
        axis.labels[0].boxAnchor = "nw"
    elif layout.date_ticks == 1:
        # Two labels only, at the ends of the axis: each reads inwards, so neither runs off the drawing.
        axis.labels[0].boxAnchor = "nw"
        axis.labels[1].boxAnchor = "ne"


# ---------------------------------------------------------------------------
# The description: a chart's numbers in words, from the same points it draws.

# A change of at most this share of the earlier value, either way, over the year is "flat".
FLAT_WITHIN = Decimal("0.01")
YEAR = timedelta(weeks=52)


@dataclass(frozen=True)
class Description:
    """What a chart shows, in sentences: `span` is the first (the SVG's <desc>), `text` all of them."""

    span: str
    details: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join((self.span, *self.details))


def _week(day: date) -> str:
    return f"w/c {formatting.as_of(day)}"


def _movement(now: Point, before: Point, kind: str) -> str:
    """'up 3,527,916 (1.2%)', 'down 2 percentage points', 'no change'."""
    difference = now.value - before.value
    if difference == 0:
        return "no change"
    word = "up" if difference > 0 else "down"
    size = abs(difference)
    if kind == formatting.PERCENT:
        return f"{word} {formatting.grouped(size)} percentage point{'' if size == 1 else 's'}"
    text = f"{word} {formatting.exact(size, kind=kind)}"
    if before.value:
        share = (size / before.value * 100).quantize(Decimal("0.1"))
        text += f" ({formatting.grouped(share)}%)" if share else " (under 0.1%)"
    return text


def trend_word(now: Decimal, before: Decimal) -> str:
    """'rose', 'fell' or 'was flat': flat is a change within FLAT_WITHIN of the earlier value."""
    if abs(now - before) <= abs(before) * FLAT_WITHIN:
        return f"was flat (within {formatting.grouped(FLAT_WITHIN * 100)}% either way)"
    return "rose" if now > before else "fell"


def year_reference(points: list[Point]) -> Point | None:
    """Where the year's change is measured from: 52 weeks before the latest, or the earliest within them."""
    latest = points[-1]
    within = [p for p in points[:-1] if p.day >= latest.day - YEAR]
    return within[0] if within else None


def _over_the_year(points: list[Point], kind: str) -> str:
    latest, reference = points[-1], year_reference(points)
    if reference is None:
        return ""
    movement = _movement(latest, reference, kind)
    trend = trend_word(latest.value, reference.value)
    if reference.day == latest.day - YEAR:
        return f"Over the year, since {_week(reference.day)}, it {trend}: {movement}."
    return f"Since {_week(reference.day)}, the earliest release in the last year, it {trend}: {movement}."


def _stated(point: Point, kind: str) -> str:
    return qualified.stated(point.value, point.qualifier, kind=kind)


def _extremes(points: list[Point], kind: str) -> str:
    values = [p.value for p in points]
    high, low = max(values), min(values)
    if high == low:
        return f"It was {_stated(points[-1], kind)} in every release shown."
    highest = next(p for p in points if p.value == high)
    lowest = next(p for p in points if p.value == low)
    return (
        f"Highest: {_stated(highest, kind)}, {_week(highest.day)}; "
        f"lowest: {_stated(lowest, kind)}, {_week(lowest.day)}."
    )


def describe_chart(points: list[Point], *, title: str, kind: str = formatting.TOTAL) -> Description:
    """The chart in words: latest value, changes since the previous release and over the year,
    highest and lowest points, whether it rose, fell or was flat, and where the axis starts."""
    points = [replace(p, value=Decimal(p.value)) for p in points]
    if not points:
        return Description(f"{title}: no figures yet.")
    first, latest = points[0], points[-1]
    if len(points) == 1:
        return Description(f"{title}: one release so far, {_week(latest.day)}: {_stated(latest, kind)}.")
    span = (
        f"{title}, {len(points)} releases from {formatting.as_of(first.day)} to "
        f"{formatting.as_of(latest.day)}: from {_stated(first, kind)} to {_stated(latest, kind)}."
    )
    previous = points[-2]
    details = [
        f"Latest figure, {_week(latest.day)}: {_stated(latest, kind)}.",
        f"Since the previous release, {_week(previous.day)}: {_movement(latest, previous, kind)}.",
        _over_the_year(points, kind),
        _extremes(points, kind),
    ]
    if not axis_starts_at_zero([p.value for p in points]):
        details.append("The axis does not start at zero.")
    if any(qualified.is_bound(p.qualifier) for p in points):
        details.append("Some of these figures are bounds or approximations, so the changes are approximate.")
    return Description(span, tuple(d for d in details if d))


def describe(points: list[Point], *, title: str, kind: str = formatting.TOTAL) -> str:
    """The chart's description as one text: beside the chart on the page, under it in the PDF."""
    return describe_chart(points, title=title, kind=kind).text


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
    # No version attribute: inline SVG in HTML has none (reportlab writes version="1.0").
    svg = re.sub(r'(<svg\b[^>]*?)\s+version="[^"]*"', r"\1", svg, count=1)
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
