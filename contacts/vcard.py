"""vCard 3.0 (RFC 2426) writer: takes plain values, returns text; no database access."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

CRLF = "\r\n"
MAX_OCTETS = 75


@dataclass
class Card:
    full_name: str
    organisation: str = ""
    uid: str = ""
    phones: list[tuple[str, str]] = field(default_factory=list)  # (label, number); first is the main one
    email: str = ""
    url: str = ""
    note: str = ""
    categories: list[str] = field(default_factory=list)
    revised: date | None = None


def escape(text: str) -> str:
    """Escape a text value: backslash, comma, semicolon and newlines (RFC 2426 §4)."""
    return (
        text.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line into lines of at most 75 octets, never splitting a UTF-8 character."""
    parts: list[str] = []
    current, size, limit = [], 0, MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, MAX_OCTETS - 1  # continuation lines start with a space
        current.append(char)
        size += width
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def card_lines(card: Card) -> list[str]:
    """The unfolded content lines of one card."""
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{escape(card.full_name)}", "N:;;;;"]
    if card.organisation:
        lines.append(f"ORG:{escape(card.organisation)}")
    lines.append("X-ABShowAs:COMPANY")
    for index, (label, number) in enumerate(card.phones, 1):
        if index == 1:
            lines.append(f"TEL;TYPE=WORK,VOICE,PREF:{number}")
        else:
            lines.append(f"item{index}.TEL;TYPE=VOICE:{number}")
            lines.append(f"item{index}.X-ABLabel:{escape(label)}")
    if card.email:
        lines.append(f"EMAIL;TYPE=INTERNET,WORK:{card.email}")
    if card.url:
        lines.append(f"URL:{card.url}")
    if card.note:
        lines.append(f"NOTE:{escape(card.note)}")
    if card.categories:
        lines.append("CATEGORIES:" + ",".join(escape(category) for category in card.categories))
    if card.revised:
        lines.append(f"REV:{card.revised.isoformat()}")
    if card.uid:
        lines.append(f"UID:{card.uid}")
    lines.append("END:VCARD")
    return lines


def serialise(cards: Iterable[Card]) -> str:
    """One or more cards as a .vcf file body: folded lines, CRLF line ends."""
    return "".join(fold(line) + CRLF for card in cards for line in card_lines(card))
