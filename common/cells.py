"""Spreadsheet cells that are safe to open: text can never run as a formula.

Shared by every CSV/XLSX/JSON writer: admin exports, the contacts export, supplier templates and
public downloads. Numbers and dates stay native; empty text becomes an empty cell.
"""

from __future__ import annotations

from decimal import Decimal

# A text cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A value ready for a spreadsheet cell: risky text gets a leading apostrophe."""
    if isinstance(value, str):
        if value == "":
            return None
        if value.startswith(FORMULA_TRIGGERS):
            return "'" + value
    return value


def unescape_cell(value):
    """Undo `safe_cell` on a value read back from a spreadsheet."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1] in FORMULA_TRIGGERS:
        return value[1:]
    return value


def plain_number(value: Decimal) -> int | float:
    """A stored decimal as a spreadsheet/JSON number: 306774292.0000 -> 306774292."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value.normalize())


def human_size(size: int) -> str:
    """File size as the public reads it: '76 KB', '1.2 MB', '900 bytes'."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"
