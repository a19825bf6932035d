"""A figure as the public reads it: exact, or in the words it is stated with when it is a bound.

A figure stored with the qualifier "over", "more than", "almost", "around" or "approximately"
is a bound or an approximation ("over 20 million"), never an exact count: wherever it appears
(cards, tables, chart descriptions, PDFs) it keeps its words. A figure with no qualifier, or
"auto", is exact and is shown as it is. Plain values in, strings out.
"""

from __future__ import annotations

from decimal import Decimal

from stats.wording import formatting


def is_bound(qualifier: str) -> bool:
    """True when the qualifier makes the figure a bound or an approximation, not an exact count."""
    return qualifier in formatting.QUALIFIER_WORDS


def _words_number(value: Decimal, qualifier: str, kind: str) -> Decimal:
    """The number the qualifier's words name (as `formatting.rounded` rounds it)."""
    digits = max(value.adjusted() + 1, 1) if kind == formatting.PERCENT else 2
    return formatting.resolve_qualifier(value, qualifier, digits=digits)[1]


def stated(
    value: Decimal | int | float, qualifier: str = formatting.EXACT, *, kind: str = formatting.TOTAL
) -> str:
    """The figure as stated: '306,774,292', 'over 20 million', 'more than 22 million (22,725,621)'.

    A bound is shown in its qualifier's words; when those words round the stored value, the
    stored value follows in brackets, as the statements write it, so no digit is hidden.
    """
    value = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not is_bound(qualifier):
        return formatting.exact(value, kind=kind)
    words = formatting.rounded(value, qualifier, kind=kind)
    if _words_number(value, qualifier, kind) == value:
        return words
    return f"{words} ({formatting.exact(value, kind=kind)})"


def misfit(value: Decimal | int | float, qualifier: str, *, kind: str = formatting.TOTAL) -> str:
    """Why a qualifier's words do not fit the figure they word, or "" when they do.

    A bound stored as its round number ("over 20 million" stored as 20,000,000) is a bound: its
    words fit. A figure whose words round it must be near what they say: "almost 520,000" is for
    a figure within a quarter of the rounding step below 520,000 (519,600), not 515,000, which
    was carried from a week when it fitted.
    """
    value = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if qualifier != formatting.ALMOST:  # the others round down, or to the nearest: always near
        return ""
    number = _words_number(value, qualifier, kind)
    if number == value:
        return ""
    step = Decimal(10) ** (number.adjusted() - 1) if kind != formatting.PERCENT else Decimal(1)
    if number - value <= step / 4:
        return ""
    words = formatting.rounded(value, qualifier, kind=kind)
    return (
        f"“{words}” does not fit {formatting.exact(value, kind=kind)}: “almost” is for a figure just "
        f"below a round number. Choose another qualifier (Automatic words it “"
        f"{formatting.rounded(value, formatting.AUTO, kind=kind)}”)."
    )
