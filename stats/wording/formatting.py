"""Number wording for statistics: exact, rounded, percentages and money.

Plain values in, strings out: nothing here touches the database, so the
page, the PDF and the downloads all word a number the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

# Qualifier keys, as stored on a figure.
AUTO = "auto"
EXACT = ""
OVER = "over"
MORE_THAN = "more_than"
APPROXIMATELY = "approximately"
ALMOST = "almost"
AROUND = "around"

QUALIFIER_WORDS = {
    OVER: "over",
    MORE_THAN: "more than",
    APPROXIMATELY: "approximately",
    ALMOST: "almost",
    AROUND: "around",
}

# Which way a qualifier rounds: "over 300 million" is below the value,
# "almost 500,000" above it, "around 58%" the nearest.
_ROUNDING = {
    OVER: ROUND_FLOOR,
    MORE_THAN: ROUND_FLOOR,
    ALMOST: ROUND_CEILING,
    APPROXIMATELY: ROUND_HALF_UP,
    AROUND: ROUND_HALF_UP,
}

# Metric kinds, as stored on a metric.
TOTAL, PERIOD, LEVEL, PERCENT, RECORD, AMOUNT = (
    "total",
    "period",
    "level",
    "percent",
    "record",
    "amount",
)

FORMATS = ("exact", "rounded", "percent", "money", "as_of")

_SCALES = ((Decimal(10) ** 9, "billion", "bn"), (Decimal(10) ** 6, "million", "m"))
_SMALL_WORDS = {1: "one"}


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 12.50 -> '12.5'."""
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def grouped(value: Decimal | int | float) -> str:
    """Exact value with thousands separators: 306774292 -> '306,774,292'."""
    value = Decimal(value)
    text = _plain(value)
    negative = text.startswith("-")
    whole, _, fraction = text.lstrip("-").partition(".")
    whole = f"{int(whole):,}"
    result = f"{whole}.{fraction}" if fraction else whole
    return f"-{result}" if negative else result


def significant(value: Decimal, digits: int, rounding: str) -> Decimal:
    """Round to `digits` significant figures in the given direction."""
    if value == 0:
        return value
    exponent = value.adjusted() - digits + 1
    if exponent <= 0:
        return value.quantize(Decimal(1), rounding=rounding)
    step = Decimal(10) ** exponent
    return (value / step).quantize(Decimal(1), rounding=rounding) * step


def scaled(value: Decimal) -> str:
    """A round number in words: 300000000 -> '300 million', 37000 -> '37,000'."""
    for size, word, _short in _SCALES:
        if value >= size:
            count = value / size
            if count in _SMALL_WORDS:
                return f"{_SMALL_WORDS[int(count)]} {word}"
            return f"{grouped(count)} {word}"
    return grouped(value)


def percent(value: Decimal | int | float) -> str:
    """A percentage: 85 -> '85%', 12.50 -> '12.5%'."""
    return f"{grouped(Decimal(value))}%"


def money(value: Decimal | int | float) -> str:
    """Pounds in the house short form: 900000000 -> '£900m', 1500 -> '£1,500'."""
    value = Decimal(value)
    for size, _word, short in _SCALES:
        if value >= size:
            return f"£{grouped(value / size)}{short}"
    return f"£{grouped(value)}"


def resolve_qualifier(value: Decimal, qualifier: str, *, digits: int = 2) -> tuple[str, Decimal]:
    """The qualifier to print and the rounded value it qualifies.

    `auto` rounds down to two significant figures and says "over" only when
    that dropped something; an explicit qualifier rounds in its own direction.
    """
    value = Decimal(value)
    if qualifier == EXACT:
        return EXACT, value
    if qualifier == AUTO:
        rounded_value = significant(value, digits, ROUND_FLOOR)
        return (EXACT if rounded_value == value else OVER), rounded_value
    return qualifier, significant(value, digits, _ROUNDING[qualifier])


def rounded(value: Decimal | int | float, qualifier: str = AUTO, *, kind: str = TOTAL) -> str:
    """Rounded wording derived from the exact value.

    306774292 (auto) -> 'over 300 million'; 22725621 (more than) ->
    'more than 22 million'; 58 % (around) -> 'around 58%'.
    """
    value = Decimal(value)
    if kind == PERCENT:
        # Percentages are already small numbers: qualify the whole percent.
        word, number = resolve_qualifier(value, qualifier, digits=max(value.adjusted() + 1, 1))
        text = percent(number)
    elif kind == AMOUNT:
        word, number = resolve_qualifier(value, qualifier)
        text = money(number)
    else:
        word, number = resolve_qualifier(value, qualifier)
        text = scaled(number)
    return f"{QUALIFIER_WORDS[word]} {text}" if word else text


def exact(value: Decimal | int | float, *, kind: str = TOTAL) -> str:
    """The value as it is best shown in full for its kind."""
    if kind == PERCENT:
        return percent(value)
    if kind == AMOUNT:
        return money(value)
    return grouped(value)


def as_of(day: date | None) -> str:
    """A date in the seed's short style: '26 Feb 2010'."""
    return f"{day.day} {day:%b %Y}" if day else ""


def change(current: Decimal | None, previous: Decimal | None, *, kind: str = TOTAL) -> str:
    """Change since the previous release: '+3,527,916 (+1.2%)', 'no change', ''."""
    if current is None or previous is None:
        return ""
    difference = Decimal(current) - Decimal(previous)
    if difference == 0:
        return "no change"
    sign = "+" if difference > 0 else "−"
    if kind == PERCENT:
        return f"{sign}{grouped(abs(difference))} percentage points"
    text = f"{sign}{exact(abs(difference), kind=kind)}"
    if previous:
        ratio = (difference / Decimal(previous) * 100).quantize(Decimal("0.1"))
        text += f" ({sign}{grouped(abs(ratio))}%)"
    return text


@dataclass(frozen=True)
class FigureValue:
    """What a placeholder needs to know about one figure."""

    value: Decimal
    kind: str = TOTAL
    qualifier: str = AUTO
    as_of: date | None = None


def format_figure(figure: FigureValue, style: str = "") -> str:
    """Word a figure in the named style; the default suits its kind."""
    if style == "rounded":
        return rounded(figure.value, figure.qualifier, kind=figure.kind)
    if style == "percent":
        return percent(figure.value)
    if style == "money":
        return money(figure.value)
    if style == "as_of":
        return as_of(figure.as_of)
    return exact(figure.value, kind=figure.kind)


PLACEHOLDER = re.compile(r"\{([^{}|]*)(?:\|([^{}]*))?\}")


@dataclass(frozen=True)
class Placeholder:
    slug: str
    style: str


def placeholders(text: str) -> list[Placeholder]:
    """Every `{slug}` or `{slug|style}` in a statement, in order."""
    return [Placeholder(m.group(1).strip(), (m.group(2) or "").strip()) for m in PLACEHOLDER.finditer(text)]


def problems(text: str, figures: dict[str, FigureValue], known_slugs: set[str]) -> list[str]:
    """What stops a statement from rendering, in words a press officer understands."""
    found = []
    for placeholder in placeholders(text):
        slug, style = placeholder.slug, placeholder.style
        if style and style not in FORMATS:
            found.append(
                f"“{{{slug}|{style}}}” uses an unknown format “{style}”. Use one of: {', '.join(FORMATS)}."
            )
        elif slug not in known_slugs:
            found.append(f"“{{{slug}}}” does not name a metric. Check the spelling of the metric slug.")
        elif slug not in figures:
            found.append(f"“{{{slug}}}” has no figure in this release. Add a figure for that metric first.")
        elif style == "as_of" and figures[slug].as_of is None:
            found.append(f"“{{{slug}|as_of}}” needs the figure to have an “as of” date.")
    if "{" in PLACEHOLDER.sub("", text) or "}" in PLACEHOLDER.sub("", text):
        found.append("A curly bracket is not closed: placeholders look like {metric-slug}.")
    return found


MISSING = "[figure not available]"


def render_statement(text: str, figures: dict[str, FigureValue]) -> str:
    """Fill a statement's placeholders; a sentence that opens with one is capitalised.

    A placeholder that cannot be filled shows a plain marker rather than
    breaking the page; the admin refuses such statements before they publish.
    """

    def fill(match: re.Match) -> str:
        figure = figures.get(match.group(1).strip())
        style = (match.group(2) or "").strip()
        if figure is None or style not in (*FORMATS, ""):
            return MISSING
        if style == "as_of" and figure.as_of is None:
            return MISSING
        return format_figure(figure, style)

    result = PLACEHOLDER.sub(fill, text)
    if text.lstrip().startswith("{") and result:
        result = result[0].upper() + result[1:]
    return result
