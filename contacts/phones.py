"""Phone numbers as people read and dial them; no database access."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

UK = 44


@dataclass(frozen=True)
class Dial:
    """A phone number ready for a page: its tel: link and the digits a reader dials."""

    href: str
    text: str


def dial(number) -> Dial | None:
    """The link and display text for a stored number, or None when there is none.

    Validating a number is slow, and a number's truthiness and str() each validate
    it again, so pages ask for this once per contact instead.
    """
    if not isinstance(number, phonenumbers.PhoneNumber):
        return None  # the field stores blank as ""
    return Dial(href=number.format_as(phonenumbers.PhoneNumberFormat.RFC3966), text=display(number))


def display(number) -> str:
    """UK numbers in national format ("020 7004 1555"), others in international format."""
    if not number or not number.is_valid():
        return str(number or "")
    formats = phonenumbers.PhoneNumberFormat
    return number.format_as(formats.NATIONAL if number.country_code == UK else formats.INTERNATIONAL)


def international(number) -> str:
    """ "+44 20 7004 1555": what an address book stores, so it dials from abroad too."""
    return number.format_as(phonenumbers.PhoneNumberFormat.INTERNATIONAL) if number else ""
