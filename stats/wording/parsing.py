"""Reading numbers and dates as suppliers write them in spreadsheets.

Plain values in, Python values out (or a ValueError whose message a press
officer can act on); nothing here touches the database.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from stats.wording import formatting

COUNT_KINDS = (formatting.TOTAL, formatting.PERIOD, formatting.LEVEL, formatting.RECORD)

_SPACES = re.compile(r"[\s\u00a0\u2009\u202f]+")
_PLAIN = re.compile(r"^-?\d+(\.\d+)?$")
_GROUPED_COMMA = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_GROUPED_SPACE = re.compile(r"^-?\d{1,3}( \d{3})+(\.\d+)?$")
_MONEY_SCALES = {"k": Decimal(10) ** 3, "m": Decimal(10) ** 6, "bn": Decimal(10) ** 9}
_MONEY = re.compile(r"^£?\s*(?P<number>[\d.,]+)\s*(?P<scale>k|m|bn|million|billion)?$", re.IGNORECASE)
_SCALE_WORDS = {"million": "m", "billion": "bn"}

# Every figure is below this: SQLite keeps 15 significant digits, so larger ones would not read back.
FIGURE_LIMIT = Decimal(10) ** 15
BELOW_LIMIT = f"A figure must be below {formatting.grouped(FIGURE_LIMIT)}."


def too_large(value: Decimal) -> str:
    """The message for a figure at or over FIGURE_LIMIT."""
    return f"{formatting.grouped(value)} is too large. {BELOW_LIMIT}"


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %b %Y", "%d %B %Y", "%d.%m.%Y")


def _grouped_or_plain(text: str, shown: str) -> Decimal:
    """1234, 1,234 or 1 234 (with an optional .5); anything else is refused."""
    if _PLAIN.match(text):
        return Decimal(text)
    if _GROUPED_COMMA.match(text):
        return Decimal(text.replace(",", ""))
    spaced = _SPACES.sub(" ", text)
    if _GROUPED_SPACE.match(spaced):
        return Decimal(spaced.replace(" ", ""))
    if re.fullmatch(r"-?[\d.,\s]+", text) and re.search(r"\d", text):
        raise ValueError(
            f"“{shown}” is ambiguous: write it with a full stop for decimals and commas only "
            "between thousands, e.g. 1,234.5 or 1234.5."
        )
    raise ValueError(f"“{shown}” is not a number.")


def parse_number(raw, *, kind: str | None) -> Decimal:
    """A figure's value from a cell or a form: 1,234 / 1 234 / 12.5% (percentages) / £900m (money).

    With `kind=None` (a form, before it knows the metric) a % or £ is read without checking that it
    suits the metric; the model's own checks do that when the figure is saved.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError("the value is empty: fill it in or delete the row.")
    if isinstance(raw, bool):
        raise ValueError(f"“{raw}” is not a number.")
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))
    else:
        value = _number_from_text(str(raw).strip(), kind)
    if not value.is_finite():
        raise ValueError(f"“{raw}” is not a number.")
    _refuse_out_of_range(value, kind)
    return value.quantize(Decimal("0.0001"))


def _number_from_text(shown: str, kind: str | None) -> Decimal:
    """A number as typed: 1,234 / 1 234, 12.5% for a percentage or £900m for money."""
    text = _SPACES.sub(" ", shown)
    if text.endswith("%"):
        if kind not in (None, formatting.PERCENT):
            raise ValueError(f"“{shown}” is a percentage, but this metric is not measured in per cent.")
        return _grouped_or_plain(text[:-1].strip(), shown)
    if text.startswith("£") or (kind == formatting.AMOUNT and _MONEY.match(text)):
        return _money(text, shown, kind)
    return _grouped_or_plain(text, shown)


def _money(text: str, shown: str, kind: str | None) -> Decimal:
    """An amount of money as typed: £900m, £1.2bn, 900 million or £900,000,000."""
    if kind not in (None, formatting.AMOUNT):
        raise ValueError(f"“{shown}” is an amount of money, but this metric does not count pounds.")
    match = _MONEY.match(text)
    if not match:
        raise ValueError(f"“{shown}” is not an amount of money; write it like £900m or 900000000.")
    value = _grouped_or_plain(match["number"], shown)
    scale = (match["scale"] or "").lower()
    scale = _SCALE_WORDS.get(scale, scale)
    if scale:
        value *= _MONEY_SCALES[scale]
    return value


def _refuse_out_of_range(value: Decimal, kind: str | None) -> None:
    """Refuse a value no figure of this kind can have: negative, over 100 per cent, too large for the
    database, or a fraction of a count."""
    shown = formatting.grouped(value)
    if value < 0:
        raise ValueError(f"{shown} is negative; figures cannot be.")
    if kind == formatting.PERCENT and value > 100:
        raise ValueError(f"{shown} is not a percentage: use 0 to 100.")
    if value >= FIGURE_LIMIT:
        raise ValueError(too_large(value))
    if kind in COUNT_KINDS and value != value.to_integral_value():
        raise ValueError(f"{shown} is not a whole number; this metric counts things.")


def parse_date(raw) -> date | None:
    """A date from a cell: a spreadsheet date, 2010-03-03, 03/03/2010 or 3 March 2010."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = _SPACES.sub(" ", str(raw).strip())
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"“{text}” is not a date; write it like 2010-03-03 or 03/03/2010.")
