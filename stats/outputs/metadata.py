"""What the data says about itself: schema.org Dataset (JSON-LD), CSV on the Web metadata, citations.

Plain values in, dicts and strings out; nothing here queries the database. The column notes are
written once, here, and read by the CSVW metadata, the zip's README and the developers' page.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.utils.safestring import SafeString, mark_safe

from stats.outputs import downloads
from stats.wording import formatting, ukclock
from stats.wording.ukclock import UK

LICENCE_NAME = "Open Government Licence v3.0"
LICENCE_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
# Where the figures count: the programme is England's NHS (NHS Connecting for Health).
SPATIAL_COVERAGE = {"@type": "Place", "name": "England"}
# Google's Dataset rules: a description of 50 to 5,000 characters.
DESCRIPTION_LENGTH = (50, 5000)
CSVW_CONTEXT = "http://www.w3.org/ns/csvw"
CSVW_MEDIA_TYPE = "application/csvm+json"
METADATA_SUFFIX = "-metadata.json"  # CSVW's default: the metadata of x.csv is at x.csv-metadata.json

KINDS = {
    formatting.TOTAL: "a total to date (cumulative); it never falls without a correction",
    formatting.PERIOD: "a count within the reporting period, e.g. during the week",
    formatting.LEVEL: "a count at a point in time",
    formatting.PERCENT: "a percentage, from 0 to 100",
    formatting.RECORD: "the best ever, e.g. most in a single day; it never falls",
    formatting.AMOUNT: "an amount of money, in pounds (£)",
}
QUALIFIERS = {
    formatting.AUTO: "rounded down to two significant figures, with “over” when that dropped anything "
    "(306,774,292 is “over 300 million”)",
    formatting.OVER: "rounded down, with “over”",
    formatting.MORE_THAN: "rounded down, with “more than” (22,725,621 is “more than 22 million”)",
    formatting.ALMOST: "rounded up, with “almost” (497,000 is “almost 500,000”)",
    formatting.APPROXIMATELY: "rounded to the nearest, with “approximately”",
    formatting.AROUND: "rounded to the nearest, with “around” (57.6% is “around 58%”)",
}


@dataclass(frozen=True)
class Column:
    name: str  # the CSV header, exactly
    title: str
    datatype: str | dict
    description: str
    required: bool = False


COLUMNS = (
    Column(
        "period",
        "Reporting period",
        "date",
        "First day of the reporting period of the release "
        "(“for w/c …”), as yyyy-mm-dd. Any weekday can start a period.",
        required=True,
    ),
    Column(
        "programme",
        "Programme",
        "string",
        "The programme the figure belongs to, e.g. Electronic Prescription Service (EPS).",
        required=True,
    ),
    Column(
        "metric_slug",
        "Metric key",
        "string",
        "The measure’s permanent key, the same in every "
        "release, download and the API (/api/v1/metrics/<key>/).",
        required=True,
    ),
    Column("metric_name", "Measure", "string", "What is counted, in words.", required=True),
    Column(
        "kind",
        "Kind of figure",
        {"base": "string", "format": "|".join(KINDS)},
        "What sort of figure it is: " + "; ".join(f"{key}: {text}" for key, text in KINDS.items()) + ".",
        required=True,
    ),
    Column(
        "unit",
        "Unit",
        "string",
        "What one unit of the value is, e.g. messages, bookings, %, £. Empty when the measure has none.",
    ),
    Column(
        "value",
        "Figure",
        "decimal",
        "The exact figure as a plain number, without separators "
        "or symbols: 306774292; 85 for 85%; 900000000 for £900m. Never rounded.",
        required=True,
    ),
    Column(
        "as_of",
        "As of",
        "date",
        "The day the figure stands at, when that is not the reporting "
        "period (“figure correct as of 26 Feb 2010”), as yyyy-mm-dd; empty otherwise.",
    ),
    Column(
        "qualifier",
        "Qualifier",
        {"base": "string", "format": "|".join(key for key in QUALIFIERS if key)},
        "How the release’s bullets word the figure when they round it: "
        + "; ".join(f"{key}: {text}" for key, text in QUALIFIERS.items())
        + "; empty: the exact figure, never rounded. The value column is always exact.",
    ),
    Column("note", "Note", "string", "A footnote shown with the figure; empty if none."),
    Column(
        "release_url",
        "Release",
        "anyURI",
        "The permanent web address of the release the figure was published in.",
        required=True,
    ),
)

SAFE_CELLS = (
    "A text cell that would begin with =, +, -, @, a tab or a carriage return starts with an "
    "apostrophe (') so that a spreadsheet shows it as text rather than running it as a formula."
)
ENCODING = (
    "UTF-8 without a byte order mark. A copy for Excel, the same rows after a byte order mark so that "
    "Excel shows £, – and ’ correctly, is at the same address ending .excel.csv."
)


def media_type(fmt: str) -> str:
    """The MIME type of a download format: 'csv' -> 'text/csv'."""
    fmt = fmt.lower()
    if fmt in downloads.DATA_FORMATS:
        return downloads.DATA_FORMATS[fmt].content_type.split(";")[0]
    return {"pdf": "application/pdf", "zip": "application/zip", "csvw": CSVW_MEDIA_TYPE}.get(
        fmt, "application/octet-stream"
    )


def json_ld(data: dict) -> SafeString:
    """`data` in a `<script type="application/ld+json">` element, escaped for HTML as json_script does.

    A data block, never run: the Content-Security-Policy's script-src does not apply to it.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # escaped above


def _organisation(name: str, url: str) -> dict:
    return {"@type": "Organization", "name": name, "url": url}


def revision_corrections(corrections: Iterable) -> list:
    """A release's corrections (each changed a figure or bullet after it came out), oldest first."""
    return sorted(corrections, key=lambda c: c.created_at)


def uk_day(moment: dt.datetime) -> str:
    return ukclock.day_label(moment.astimezone(UK))


def revision_text(correction) -> str:
    """'Revised from 306,774,292 to 306,774,399 on 2 December 2026: a supplier resent a day’s count.'"""
    reason = correction.reason.strip()
    was, now = correction.old_value or "(blank)", correction.new_value or "(blank)"
    return f"Revised from {was} to {now} on {uk_day(correction.created_at)}: {reason}"


# --- Citation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    url: str
    version: int
    corrected_at: dt.datetime | None
    text: str
    bibtex: str

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "bibtex": self.bibtex,
            "url": self.url,
            "version": self.version,
            "corrected_at": self.corrected_at.isoformat() if self.corrected_at else None,
        }


def _bibtex_text(text: str) -> str:
    """Text safe inside a BibTeX field: its special characters escaped."""
    for char in "\\{}":
        text = text.replace(char, "")
    for char in "&%$#_":
        text = text.replace(char, "\\" + char)
    return text.replace("~", "\\textasciitilde{}").replace("^", "\\textasciicircum{}")


def release_citation(document, *, url: str, organisation: str) -> Citation:
    """How to cite a release: its permanent address and its version (1, then one more per correction)."""
    release = document.release
    revisions = revision_corrections(document.corrections)
    version = 1 + len(revisions)
    corrected_at = revisions[-1].created_at if revisions else None
    published = document.publish_at or release.publish_at
    year = published.astimezone(UK).year if published else document.period_date.year
    edition = f"version {version}" + (f", corrected on {uk_day(corrected_at)}" if corrected_at else "")
    when = f" Published {uk_day(published)}." if published else ""
    text = f"{organisation} ({year}). {document.heading}, {edition}.{when} {url}"
    fields = {
        "author": "{" + _bibtex_text(organisation) + "}",
        "title": "{" + _bibtex_text(document.heading) + "}",
        "publisher": _bibtex_text(organisation),
        "year": str(year),
        "version": str(version),
        "note": _bibtex_text(edition[0].upper() + edition[1:]),
        "url": url,
    }
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items())
    bibtex = f"@misc{{deployment-statistics-{document.period_date:%Y-%m-%d},\n{body}\n}}"
    return Citation(url=url, version=version, corrected_at=corrected_at, text=text, bibtex=bibtex)


# --- schema.org Dataset ------------------------------------------------------------------------


def _distribution(download_list, *, base: str) -> list[dict]:
    found = []
    for item in download_list:
        entry = {
            "@type": "DataDownload",
            "name": item.label,
            "encodingFormat": media_type(item.format),
            "contentUrl": base + item.url,
        }
        if item.size is not None:
            entry["contentSize"] = downloads.human_size(item.size)
        found.append(entry)
    return found


def dataset_description(text: str, *, more: str) -> str:
    """`text`, with the sentence `more` after it when it is too short to describe a dataset on its own,
    and cut (with an ellipsis) when too long."""
    shortest, longest = DESCRIPTION_LENGTH
    text = text.strip()
    if len(text) < shortest:
        text = f"{text} {more}".strip()
    return text if len(text) <= longest else text[: longest - 1].rstrip() + "…"


class SeriesCoverage(NamedTuple):
    """A measure's public series: its first and last periods, when it first came out, when it last changed."""

    first: dt.date
    last: dt.date
    published: dt.datetime
    modified: dt.datetime


def series_citation(metric, coverage: SeriesCoverage | None, *, url: str, organisation: str) -> str:
    """How to cite a measure's series: its name, the periods it covers, its permanent address."""
    if coverage is None:
        return f"{organisation}. {metric.name} ({metric.programme.name}), weekly deployment statistics. {url}"
    weeks = f"w/c {ukclock.day_label(coverage.first)} to w/c {ukclock.day_label(coverage.last)}"
    return (
        f"{organisation} ({coverage.modified.astimezone(UK).year}). {metric.name} ({metric.programme.name}), "
        f"weekly deployment statistics, {weeks}. {url}"
    )


def _week(first: dt.date, last: dt.date) -> str:
    """An ISO 8601 interval from the first day of one weekly period to the last day of another."""
    return f"{first.isoformat()}/{(last + dt.timedelta(days=6)).isoformat()}"


def release_dataset(document, *, download_list, base: str, organisation: str, catalogue: dict) -> dict:
    """A release as a schema.org Dataset: what it is, when, who, under which licence, and its files."""
    release = document.release
    url = base + release.get_absolute_url()
    citation = release_citation(document, url=url, organisation=organisation)
    publisher = _organisation(organisation, base + "/")
    description = dataset_description(
        release.summary,
        more=f"Weekly deployment statistics for the week commencing {release.period_label}: "
        "how far each programme has been rolled out.",
    )
    dataset = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": url + "#dataset",
        "name": document.heading,
        "description": description,
        "url": url,
        "identifier": url,
        "temporalCoverage": _week(document.period_date, document.period_date),
        "spatialCoverage": SPATIAL_COVERAGE,
        "version": str(citation.version),
        "inLanguage": "en-GB",
        "isAccessibleForFree": True,
        "publisher": publisher,
        "creator": publisher,
        "license": LICENCE_URL,
        "keywords": [section.programme_name for section in document.sections],
        "variableMeasured": [
            {"@type": "PropertyValue", "name": row.metric_name, "unitText": row.unit}
            for row in document.figures
        ],
        "citation": citation.text,
        "includedInDataCatalog": {"@type": "DataCatalog", **catalogue},
        "distribution": _distribution(download_list, base=base),
    }
    if document.publish_at:
        dataset["datePublished"] = document.publish_at.isoformat()
        dataset["dateModified"] = (citation.corrected_at or document.publish_at).isoformat()
    return dataset


def metric_dataset(
    metric, coverage: SeriesCoverage | None, *, download_list, base: str, organisation: str, catalogue: dict
) -> dict:
    """One measure's series as a schema.org Dataset; `coverage`: what its public figures cover, or None."""
    url = base + metric.get_absolute_url()
    publisher = _organisation(organisation, base + "/")
    description = metric.definition.strip() or f"{metric.name}, every weekly release."
    dataset = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": url + "#dataset",
        "name": f"{metric.name}: {metric.programme.name}",
        "description": dataset_description(
            f"{description} One figure per weekly release of the deployment statistics.", more=""
        ),
        "url": url,
        "identifier": metric.slug,
        "inLanguage": "en-GB",
        "isAccessibleForFree": True,
        "publisher": publisher,
        "creator": publisher,
        "license": LICENCE_URL,
        "keywords": [metric.programme.name, metric.name],
        "spatialCoverage": SPATIAL_COVERAGE,
        "citation": series_citation(metric, coverage, url=url, organisation=organisation),
        "variableMeasured": {
            "@type": "PropertyValue",
            "name": metric.name,
            "description": KINDS.get(metric.kind, ""),
            "unitText": metric.unit,
        },
        "includedInDataCatalog": {"@type": "DataCatalog", **catalogue},
        "distribution": _distribution(download_list, base=base),
    }
    if coverage:
        dataset["temporalCoverage"] = _week(coverage.first, coverage.last)
        # The series as of its latest release: a new week, or a correction, makes a new version.
        dataset["version"] = coverage.modified.isoformat()
        dataset["datePublished"] = coverage.published.isoformat()
        dataset["dateModified"] = coverage.modified.isoformat()
    return dataset


# --- CSV on the Web ----------------------------------------------------------------------------


def csvw(
    *,
    csv_url: str,
    title: str,
    description: str,
    organisation: str,
    site_url: str,
    landing_page: str = "",
    modified: dt.datetime | None = None,
    unit: str = "",
    notes: Iterable[dict] = (),
    source: str = "",
) -> dict:
    """W3C CSV on the Web metadata for one of our CSV files (all have the same columns).

    `csv_url` is where the CSV is, absolute on the web, or the file's name beside the metadata in a zip
    (then `source` says where it came from). `unit` is the unit of every value, when one measure.
    """
    columns = []
    for column in COLUMNS:
        entry = {
            "name": column.name,
            "titles": [column.name, column.title],
            "datatype": column.datatype,
            "required": column.required,
            "dc:description": column.description,
        }
        if column.name == "value" and unit:
            entry["schema:unitText"] = unit
        columns.append(entry)
    metadata = {
        "@context": [CSVW_CONTEXT, {"@language": "en"}],
        "url": csv_url,
        "dc:title": title,
        "dc:description": f"{description} {SAFE_CELLS} Encoding: {ENCODING}",
        "dc:publisher": {"schema:name": organisation, "schema:url": {"@id": site_url}},
        "dc:license": {"@id": LICENCE_URL},
        "dc:rights": ATTRIBUTION,
        "dialect": {"encoding": "utf-8", "header": True, "headerRowCount": 1},
        "tableSchema": {
            "columns": columns,
            "primaryKey": ["period", "metric_slug"],
        },
    }
    if landing_page:
        metadata["dcat:landingPage"] = {"@id": landing_page}
    if source:
        metadata["dc:source"] = {"@id": source}
    if modified:
        metadata["dc:modified"] = {"@value": modified.isoformat(), "@type": "xsd:dateTime"}
    notes = list(notes)
    if notes:
        metadata["notes"] = notes
    return metadata


def _annotation(text: str, *, target: str, motive: str, created=None) -> dict:
    note = {
        "@type": "oa:Annotation",
        "oa:motivatedBy": {"@id": motive},
        "oa:hasTarget": {"@id": target},
        "oa:hasBody": {"@type": "oa:TextualBody", "rdf:value": text},
    }
    if created is not None:
        note["dc:created"] = {"@value": created.isoformat(), "@type": "xsd:dateTime"}
    return note


def correction_notes(corrections: Iterable, *, target: str) -> list[dict]:
    """The release's correction notices as CSVW notes (Web Annotations on the table, "editing")."""
    return [
        _annotation(
            f"{correction.subject}: {revision_text(correction)}",
            target=target,
            motive="oa:editing",
            created=correction.created_at,
        )
        for correction in revision_corrections(corrections)
    ]


def explanation_notes(rows: Iterable, *, target: str) -> list[dict]:
    """Why figures moved since the previous release, as the release explained them ("commenting")."""
    return [
        _annotation(
            f"{row.metric_name}: why it changed since the previous release: {row.explanation}",
            target=target,
            motive="oa:commenting",
        )
        for row in rows
        if row.explanation
    ]


def to_json_bytes(data: dict) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
