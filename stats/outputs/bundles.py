"""A release's or a series' figures as one zip: the CSV, its CSVW metadata, a README and the licence.

Plain values in, bytes out. The zip is the same bytes for the same data (fixed member order and
dates), so its size is stable and a cache can keep it by what it holds.
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
import zipfile
from dataclasses import dataclass

from stats.outputs import metadata
from stats.wording import formatting
from stats.wording.ukclock import UK

README = "README.txt"
LICENCE = "LICENCE.txt"
WIDTH = 78


@dataclass(frozen=True)
class Bundle:
    """What goes in a zip, besides the licence."""

    stem: str  # file names inside: <stem>.csv, <stem>.csv-metadata.json
    title: str
    about: list[str]  # lines under the title: address, published, version
    csv: bytes
    csvw: dict
    citation: str = ""
    modified: dt.datetime | None = None

    @property
    def csv_name(self) -> str:
        return f"{self.stem}.csv"

    @property
    def metadata_name(self) -> str:
        return f"{self.csv_name}{metadata.METADATA_SUFFIX}"


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


def _section(title: str, *paragraphs: str) -> str:
    return "\n\n".join([f"{title}\n{'-' * len(title)}", *paragraphs])


def _files(bundle: Bundle) -> str:
    described = {
        bundle.csv_name: f"The figures, one row per figure. {metadata.ENCODING}",
        bundle.metadata_name: "The same columns described for programs, in the W3C’s CSV on the Web "
        "format (CSVW): names, titles, data types, descriptions, licence.",
        README: "This file.",
        LICENCE: f"The licence: {metadata.LICENCE_NAME}.",
    }
    return "\n".join(f"{name}\n{_wrap(text, '    ')}" for name, text in described.items())


def readme(bundle: Bundle, *, organisation: str, revisions_url: str, api_url: str) -> str:
    """The README: what the files are, what each column means, rounding, revisions, licence."""
    columns = "\n\n".join(
        f"{column.name} ({column.title})\n{_wrap(column.description, '    ')}" for column in metadata.COLUMNS
    )
    kinds = "\n".join(_wrap(f"{key}: {text}.", "    ") for key, text in metadata.KINDS.items())
    qualifiers = "\n".join(
        _wrap(f"{key or '(empty)'}: {text}.", "    ")
        for key, text in {**metadata.QUALIFIERS, formatting.EXACT: "the exact figure, never rounded"}.items()
    )
    parts = [
        bundle.title + "\n" + "=" * len(bundle.title),
        "\n".join([organisation, *bundle.about]),
        _section("Files", _files(bundle)),
        _section("Columns", columns, _wrap(metadata.SAFE_CELLS)),
        _section(
            "How figures are rounded and qualified",
            _wrap(
                "The value column is always the exact figure. The release’s bullets also word "
                "figures rounded, with a qualifier, e.g. “over 300 million (306,774,292)”; "
                "percentages are shown as 85% and money as £900m (pounds, in millions or billions)."
            ),
            "Kinds of figure:\n" + kinds,
            "Qualifiers (the qualifier column):\n" + qualifiers,
            _wrap(
                "A figure with an as_of date stands at that day rather than at the reporting period. "
                "Change since the previous release is worked out against the release before it."
            ),
        ),
        _section(
            "Corrections and revisions",
            _wrap(
                "Published figures are never changed silently. A correction is published with a "
                "notice on the release’s page saying what changed, from what to what, when and why; "
                f"every correction is listed at {revisions_url}. Each correction makes a new version "
                "of the release (version 1 is the first publication)."
            ),
            _wrap(
                "To get the figures as they were published on an earlier day, before later "
                "corrections, add ?as_of=yyyy-mm-dd to the address of a CSV or to the API "
                f"(e.g. {api_url}?as_of=2010-03-10)."
            ),
        ),
    ]
    if bundle.citation:
        parts.append(_section("How to cite", _wrap(bundle.citation)))
    parts.append(
        _section(
            "Licence",
            _wrap(
                f"You may use and re-use these figures free of charge under the {metadata.LICENCE_NAME} "
                f"({metadata.LICENCE_URL}); see {LICENCE}. {metadata.ATTRIBUTION}"
            ),
        )
    )
    return "\n\n\n".join(parts) + "\n"


def licence(*, organisation: str) -> str:
    """A summary of the Open Government Licence v3.0 and where its full text is."""
    paragraphs = [
        f"{metadata.LICENCE_NAME}",
        f"These figures are published by {organisation} and licensed under the {metadata.LICENCE_NAME}. "
        f"The full text of the licence is at {metadata.LICENCE_URL}",
        "You are encouraged to use and re-use the information freely and flexibly, with only a few "
        "conditions. You are free to copy, publish, distribute and transmit the information; adapt "
        "it; and exploit it commercially and non-commercially, for example by combining it with "
        "other information or by including it in your own product or application.",
        "You must, where you do any of the above, acknowledge the source of the information and, "
        "where possible, provide a link to this licence. If the information provider does not give "
        f"a specific attribution statement, use: “{metadata.ATTRIBUTION}”",
        "The licence does not cover personal data, departmental or public sector logos, crests and "
        "the Royal Arms (except where they form an integral part of a document or dataset), military "
        "insignia, third-party rights the provider is not authorised to license, other intellectual "
        "property rights (patents, trade marks, design rights) or identity documents.",
        "You must not use the information in a way that suggests any official status or that the "
        "information provider endorses you or your use of it, and you must not mislead others or "
        "misrepresent the information or its source. The information is licensed ‘as is’, without "
        "warranty; see the licence for the full terms, which are governed by the laws of the part of "
        "the United Kingdom where the information provider has its principal place of business.",
    ]
    return "\n\n".join(_wrap(p) for p in paragraphs) + "\n"


def _stamp(moment: dt.datetime | None) -> tuple[int, int, int, int, int, int]:
    """A zip entry's date: UK wall-clock time of the data's last change (zip dates have no zone)."""
    if moment is None:
        return (1980, 1, 1, 0, 0, 0)
    local = moment.astimezone(UK)
    return (
        max(local.year, 1980),
        local.month,
        local.day,
        local.hour,
        local.minute,
        local.second - local.second % 2,
    )


def to_zip(bundle: Bundle, *, organisation: str, revisions_url: str, api_url: str) -> bytes:
    """The zip itself: the same bytes for the same bundle."""
    members = [
        (bundle.csv_name, bundle.csv),
        (bundle.metadata_name, metadata.to_json_bytes(bundle.csvw)),
        (README, readme(bundle, organisation=organisation, revisions_url=revisions_url, api_url=api_url)),
        (LICENCE, licence(organisation=organisation)),
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=_stamp(bundle.modified))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = content.encode("utf-8") if isinstance(content, str) else content
            archive.writestr(info, data)
    return buffer.getvalue()
