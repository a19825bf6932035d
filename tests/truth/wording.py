"""Numbers, dates and times read back as the outputs write them, into one normal form each.

Written here rather than borrowed from the product, so that a wording bug in the product cannot
hide by being read back by the same code that wrote it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
UTC = dt.UTC

SCALES = {
    "million": Decimal(10) ** 6,
    "billion": Decimal(10) ** 9,
    "m": Decimal(10) ** 6,
    "bn": Decimal(10) ** 9,
}
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        1,
    )
    for name in names
}
SPACES = re.compile(r"\s+")


def squash(text: str) -> str:
    """Runs of white space (line breaks in a PDF cell, indentation in HTML) as one space."""
    return SPACES.sub(" ", text or "").strip()


def number(value) -> str:
    """A number in one plain form: 306774292, 57.6, 85 (from a cell, JSON or Decimal)."""
    if value is None or value == "":
        return ""
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = format(exact.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


_STATED = re.compile(
    r"^(?:(?P<qualifier>more than|approximately|almost|around|over)\s+)?"
    r"(?P<pound>£)?(?P<digits>[\d,]+(?:\.\d+)?)\s*(?P<scale>million|billion|bn|m)?(?P<percent>%)?"
    r"(?:\s*\((?P<exact>[^)]*)\))?$",
    re.IGNORECASE,
)


def stated_number(text: str) -> str:
    """The figure a reader takes from its wording: the exact number in brackets when there is one,
    else the number the words name. "almost 520,000 (515,000)" -> 515000; "£900m" -> 900000000;
    "one million" -> 1000000; "85%" -> 85. Text that is no number is returned as it is."""
    text = squash(text).replace("one million", "1 million").replace("one billion", "1 billion")
    match = _STATED.match(text)
    if not match:
        return text
    if match.group("exact"):
        return stated_number(match.group("exact"))
    value = Decimal(match.group("digits").replace(",", ""))
    scale = (match.group("scale") or "").lower()
    if scale:
        value *= SCALES[scale]
    return number(value)


_DAY = re.compile(r"(?:[A-Z][a-z]+day\s+)?(\d{1,2})\s+([A-Za-z]+)\.?\s+(\d{4})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::\d{2})?\s*(GMT|BST|UTC)?")


def day(text: str) -> str:
    """A day as ISO: "26 Feb 2010", "Wednesday 10 March 2010", "2010-02-26" -> "2010-02-26"; "" if none."""
    text = squash(text)
    if not text or text in ("–", "-", "—"):
        return ""
    iso = re.search(r"\d{4}-\d{2}-\d{2}", text)
    if iso:
        return iso.group(0)
    match = _DAY.search(text)
    if not match or match.group(2).lower() not in MONTHS:
        return text
    return dt.date(int(match.group(3)), MONTHS[match.group(2).lower()], int(match.group(1))).isoformat()


def moment(text: str) -> str:
    """A publish time as UTC to the minute, "2010-03-10T09:30Z", from the site's ways of writing it:
    "Wednesday 10 March 2010, 09:30 GMT", "10 March 2010, 09:30 BST", an ISO 8601 date-time."""
    text = squash(text)
    if not text:
        return ""
    if re.match(r"\d{4}-\d{2}-\d{2}T", text):
        return utc_minute(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    on, at = _DAY.search(text), _TIME.search(text)
    if not on or not at:
        return text
    local = dt.datetime(
        int(on.group(3)), MONTHS[on.group(2).lower()], int(on.group(1)), int(at.group(1)), int(at.group(2))
    )
    zone = at.group(3) or "GMT"
    aware = local.replace(tzinfo=UTC) if zone == "UTC" else local.replace(tzinfo=UK)
    return utc_minute(aware)


def utc_minute(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UK)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def uk_day_of(value: dt.datetime | str) -> str:
    """The UK day of a moment, ISO."""
    if isinstance(value, str):
        if not value:
            return ""
        value = dt.datetime.strptime(value, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    return value.astimezone(UK).date().isoformat()


def period_of(text: str) -> str:
    """The reporting period a heading names: "… (for w/c 10 March 2010)" -> "2010-03-10"."""
    match = re.search(r"w/c\s+(\d{1,2}\s+[A-Za-z]+\s+\d{4})", squash(text))
    return day(match.group(1)) if match else ""


def next_release(period: str, when: str) -> str:
    """The "next release" fact: which period, at which moment (both normal forms), or "none"."""
    return f"w/c {period} at {when}" if period else "none"
