"""The statistics' status of a release, as the Office for Statistics Regulation (OSR) names them.

One place for the four statuses, what each means in plain English, and where the public reads
more about them (the statement of compliance, `statistics:compliance`). The release page, its PDF,
the feed, the API and the zip's README all word a status from here.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse


class Designation(models.TextChoices):
    ACCREDITED = "accredited_official", "Accredited official statistics"
    OFFICIAL = "official", "Official statistics"
    IN_DEVELOPMENT = "official_in_development", "Official statistics in development"
    MANAGEMENT_INFORMATION = "management_information", "Management information"


# What each status means, one or two sentences each: the compliance page, the API and the PDF.
MEANINGS = {
    Designation.ACCREDITED: (
        "Official statistics that the Office for Statistics Regulation has independently reviewed and "
        "found to comply with the standards of trustworthiness, quality and value in the Code of "
        "Practice for Statistics."
    ),
    Designation.OFFICIAL: (
        "Statistics published by an organisation that produces official statistics, following the Code "
        "of Practice for Statistics. The Office for Statistics Regulation has not accredited them."
    ),
    Designation.IN_DEVELOPMENT: (
        "Official statistics that are new or are being developed. They are published so that users can "
        "help shape them, and their methods may change as they are tested."
    ),
    Designation.MANAGEMENT_INFORMATION: (
        "Operational data collected to run and monitor the programmes, published for openness but not "
        "as official statistics."
    ),
}

# The NHS.UK tag colour of each status; the tag's words, never its colour, say which it is.
TAG_COLOURS = {
    Designation.ACCREDITED: "nhsuk-tag--green",
    Designation.OFFICIAL: "nhsuk-tag--blue",
    Designation.IN_DEVELOPMENT: "nhsuk-tag--yellow",
    Designation.MANAGEMENT_INFORMATION: "nhsuk-tag--grey",
}


class StatisticsStatus:
    """A release's status as every output words it: label, meaning, tag colour and where it is explained."""

    def __init__(self, code: str):
        self.designation = Designation(code)

    @property
    def code(self) -> str:
        return self.designation.value

    @property
    def label(self) -> str:
        return str(self.designation.label)

    @property
    def meaning(self) -> str:
        return MEANINGS[self.designation]

    @property
    def tag_class(self) -> str:
        return TAG_COLOURS[self.designation]

    @property
    def anchor(self) -> str:
        """The id of the status's section on the compliance page, e.g. "official-in-development"."""
        return self.code.replace("_", "-")

    @property
    def explanation_path(self) -> str:
        """The compliance page's section on this status (a path: add the site's address for files)."""
        return f"{reverse('statistics:compliance')}#{self.anchor}"

    def __str__(self) -> str:
        return self.label


def every_status() -> list[StatisticsStatus]:
    """The four statuses, most assured first, as the compliance page explains them."""
    return [StatisticsStatus(code) for code in Designation.values]
