"""Phone numbers as people read and dial them; no database access."""

from __future__ import annotations

import phonenumbers

UK = 44


def display(number) -> str:
    """UK numbers in national format ("020 7004 1555"), others in international format."""
    if not number or not number.is_valid():
        return str(number or "")
    formats = phonenumbers.PhoneNumberFormat
    return number.format_as(formats.NATIONAL if number.country_code == UK else formats.INTERNATIONAL)


def international(number) -> str:
    """ "+44 20 7004 1555": what an address book stores, so it dials from abroad too."""
    return number.format_as(phonenumbers.PhoneNumberFormat.INTERNATIONAL) if number else ""
