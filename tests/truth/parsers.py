"""One parser per output: what a reader sees there, as a flat dict of facts.

Every parser reads the bytes or text the public gets, never the view's context or the models:
pages and emails with Beautiful Soup, the PDF with pypdf (positions of the text, as it is laid
out), spreadsheets with openpyxl, the calendar with icalendar. Each states only what its output
shows. An explanation of a fall is recognised by its words (the texts the press office wrote,
passed in as `explanations`) found anywhere but where corrections are listed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from xml.etree import ElementTree

from bs4 import BeautifulSoup
from icalendar import Calendar
from openpyxl import load_workbook
from pypdf import PdfReader

from .facts import Facts, fact
from .wording import (
    day,
    moment,
    next_release,
    number,
    period_of,
    squash,
    stated_number,
    uk_day_of,
)

NONE = "none"
METRIC_LINK = re.compile(r"/statistics/metrics/([\w-]+)/")
RELEASE_LINK = re.compile(r"/statistics/(\d{4}-\d{2}-\d{2})/")


def soup(html: str | bytes) -> BeautifulSoup:
    return BeautifulSoup(html.decode("utf-8") if isinstance(html, bytes) else html, "html.parser")


def text(node) -> str:
    return squash(node.get_text(" ")) if node is not None else ""


def found_explanations(words: str, explanations) -> list[str]:
    """The explanation texts a reader finds in `words` (squashed), in their own order."""
    words = squash(words)
    return [squash(e) for e in explanations if squash(e) and squash(e) in words]


def listed(values) -> str:
    """A set of texts as one fact: sorted, joined; "" for none."""
    return " | ".join(sorted(values))


# --- facts shared by several outputs -------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """A correction notice as an output states it."""

    subject: str
    was: str
    now: str
    reason: str


def corrections_facts(period: str, notices: list[Notice], *, count: int | None = None) -> Facts:
    found: Facts = {
        ("release", period, "corrections"): fact(len(notices) if count is None else count),
        ("release", period, "correction reasons"): fact(listed(squash(n.reason) for n in notices)),
    }
    for n in notices:
        key = ("correction", period, squash(n.subject), squash(n.reason))
        found[key] = fact(f"was {squash(n.was)}, now {squash(n.now)}")
    return found


def figure_facts(period: str, slug: str, *, wording=None, change=None, as_of=None, **plain) -> Facts:
    """A figure's facts: its wording (and the number it states), change and as-of date as written."""
    found: Facts = {}
    if wording is not None:
        wording = squash(wording)
        found[("figure", period, slug, "wording")] = fact(wording)
        found[("figure", period, slug, "value")] = fact(stated_number(wording), wording)
    if change is not None:
        change = squash(change)
        found[("figure", period, slug, "change")] = fact("" if change in ("–", "-", "—") else change, change)
    if as_of is not None:
        found[("figure", period, slug, "as_of")] = fact(day(as_of), squash(as_of) or "the reporting period")
    for name, value in plain.items():
        found[("figure", period, slug, name.replace("_", " "))] = fact(value)
    return found


def pre_release_fact(period: str, used, unused) -> Facts:
    entries = [f"used: {squash(h)}" for h in used] + [f"not used: {squash(h)}" for h in unused]
    return {("release", period, "pre-release"): fact(listed(entries) or NONE)}


# --- the release page (and the latest release, /statistics/) --------------------------------------


def _summary_rows(article) -> dict[str, object]:
    rows = {}
    for row in article.select("dl.newsroom-release__facts .nhsuk-summary-list__row"):
        rows[text(row.find("dt"))] = row.find("dd")
    return rows


def _time(node) -> str:
    found = node.find("time") if node is not None else None
    return found["datetime"] if found is not None and found.has_attr("datetime") else ""


def _cell(node) -> str:
    """A table cell as read, without the labels a narrow screen shows or a sorting hint."""
    for label in node.select(".nhsuk-table__heading, .nhsuk-u-visually-hidden"):
        label.extract()
    return text(node)


# A heading over corrections: "Correction", "Corrections", "Corrections to this release".
CORRECTIONS_HEADING = re.compile(r"^Corrections?\b[^.:]{0,40}$")


def _correction_sections(article) -> list:
    """The parts of a page that list corrections: each section headed as corrections are."""
    sections = []
    for heading in article.find_all(["h2", "h3"]):
        if CORRECTIONS_HEADING.match(text(heading)):
            sections.append(heading.find_parent("section") or heading.parent)
    return sections


def _notices(section) -> list[Notice]:
    notices = []
    for item in section.find_all("li"):
        paragraphs = item.find_all("p")
        if not paragraphs:
            continue
        subject = text(item.find("strong"))
        first = text(paragraphs[0])
        changed = re.match(r"^.*?: was (.*), now (.*)\.$", first)
        reason = next((text(p) for p in paragraphs[1:] if not text(p).startswith("Corrected ")), "")
        notices.append(
            Notice(subject, changed.group(1) if changed else "", changed.group(2) if changed else "", reason)
        )
    return notices


def release_page(html: str, *, explanations=(), latest: bool = False) -> Facts:
    """A release's page; `latest` for /statistics/, which also says which release is the latest and
    (it should) when the next one is due."""
    article = soup(html).find("article")
    rows = _summary_rows(article)
    period = _time(rows.get("Reporting period"))
    found: Facts = {("release", period, "public"): fact("yes", "the page answers")}
    found |= _page_summary(period, rows)
    if latest:
        found |= _page_next_release(period, rows, article)
    found |= _page_figures(period, article)
    # Corrections where they are listed, and explanations: their words anywhere else.
    sections = _correction_sections(article)
    found |= corrections_facts(period, [n for section in sections for n in _notices(section)])
    cite = article.select_one(".newsroom-cite")
    found |= _page_citation(period, text(cite))
    for part in [
        *sections,
        cite,
        *(s for s in article.find_all("span") if text(s).startswith("Revised from")),
    ]:
        if part is not None:
            part.extract()
    found[("release", period, "explanations")] = fact(listed(found_explanations(text(article), explanations)))
    return found | _page_pre_release(period, article)


def _page_summary(period: str, rows: dict) -> Facts:
    found: Facts = {}
    if "Published" in rows:
        when, said = moment(_time(rows["Published"])), text(rows["Published"])
        found[("release", period, "published")] = fact(when, said)
        found[("release", period, "published day")] = fact(uk_day_of(when), said)
    if "Compared with" in rows:
        said = text(rows["Compared with"])
        found[("release", period, "compared with")] = fact(period_of(said), said)
    if "Status" in rows:
        found[("release", period, "designation")] = fact(text(rows["Status"]))
    return found


NEXT = re.compile(r"\bnext\b.*\b(release|update)|\b(release|update)\b.*\bnext\b", re.IGNORECASE)


def _page_next_release(period: str, rows: dict, article) -> Facts:
    """The latest release's "next update": a row of its summary named "Next …", or any other line
    with a time that speaks of the next release or update (not the links between releases)."""
    found: Facts = {("site", "latest release"): fact(period)}
    shown = next((dd for name, dd in rows.items() if name.lower().startswith("next")), None)
    for moment_ in article.find_all("time") if shown is None else ():
        line = moment_.parent
        if NEXT.search(text(line)) and line.find_parent("nav") is None:
            shown = line
            break
    if shown is None:
        found[("site", "next release")] = fact(NONE, "no next release date on the page")
    elif shown.find("time") is None and re.search(r"\bno release date\b", text(shown), re.IGNORECASE):
        found[("site", "next release")] = fact(NONE, text(shown))
    else:
        when = moment(_time(shown) or text(shown))
        found[("site", "next release")] = fact(next_release(period_of(text(shown)) or "?", when), text(shown))
    return found


def _page_figures(period: str, article) -> Facts:
    """The figures tables: one row per measure, its address naming its key."""
    found: Facts = {}
    for table in article.select("table.newsroom-figures"):
        headers = [_cell(th) for th in table.select("thead th")]
        for row in table.select("tbody tr"):
            link = row.find("a", href=METRIC_LINK)
            if link is None:
                continue
            cells = dict(zip(headers[1:], row.find_all("td"), strict=False))
            revisions = [s for s in row.find("th").find_all("span") if text(s).startswith("Revised from")]
            as_of = cells.get("As of")
            found |= figure_facts(
                period,
                METRIC_LINK.search(link["href"]).group(1),
                wording=_cell(cells["Figure"]) if "Figure" in cells else None,
                change=_cell(cells["Change"]) if "Change" in cells else None,
                as_of=(_time(as_of) or "") if as_of is not None else None,
                revisions=str(len(revisions)),
            )
    return found


def _page_citation(period: str, cite: str) -> Facts:
    """ "Cite this release": the version, when it was last corrected, the citation itself."""
    version = re.search(r"This is version (\d+)", cite)
    if not version:
        return {}
    corrected = re.search(r"This is version \d+ of the release, corrected on (\d+ \w+ \d{4})", cite)
    found: Facts = {
        ("release", period, "version"): fact(version.group(1), version.group(0)),
        ("release", period, "corrected on"): fact(
            day(corrected.group(1)) if corrected else "", corrected.group(0) if corrected else "not corrected"
        ),
    }
    citation = re.search(r"Citation: (.*?) Cite in BibTeX", cite)
    if citation:
        found[("release", period, "citation")] = fact(squash(citation.group(1)))
    return found


def _page_pre_release(period: str, article) -> Facts:
    """Who had pre-release access (a page without the section had nobody)."""
    record = article.select_one(".newsroom-pre-release")
    used, unused = [], []
    for heading in record.find_all("h3") if record is not None else []:
        items = [text(li) for li in heading.find_next_sibling("ul").find_all("li")]
        if "did not use" in text(heading):
            unused += items
        elif "used it" in text(heading):
            used += items
    return pre_release_fact(period, used, unused)


def json_ld(html: str) -> Facts:
    """The page's schema.org Dataset, as a search engine reads it."""
    found: Facts = {}
    for block in soup(html).find_all("script", type="application/ld+json"):
        data = json.loads(block.string)
        if data.get("@type") != "Dataset":
            continue
        period = RELEASE_LINK.search(data.get("url", ""))
        if period is None:
            continue
        period = period.group(1)
        found[("release", period, "version")] = fact(data.get("version", ""))
        if data.get("citation"):
            found[("release", period, "citation")] = fact(squash(data["citation"]))
        if data.get("datePublished"):
            found[("release", period, "published")] = fact(
                moment(data["datePublished"]), data["datePublished"]
            )
    return found


# --- the PDF ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fragment:
    page: int
    x: float
    y: float
    text: str


def pdf_fragments(content: bytes) -> list[Fragment]:
    """Each piece of text with where it is drawn, in drawing order; the page bands left out."""
    found = []
    for number_, page in enumerate(PdfReader(io.BytesIO(content)).pages):
        height = float(page.mediabox.height)
        pieces = []

        def visit(piece, cm, tm, font, size, pieces=pieces, number_=number_):
            if piece.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                pieces.append(Fragment(number_, x, y, piece))

        page.extract_text(visitor_text=visit)
        found += [p for p in pieces if 40 < p.y < height - 40]
    return found


def pdf_lines(fragments: list[Fragment]) -> list[str]:
    lines: list[list[Fragment]] = []
    for piece in fragments:
        if lines and lines[-1][-1].page == piece.page and abs(lines[-1][-1].y - piece.y) < 1:
            lines[-1].append(piece)
        else:
            lines.append([piece])
    return [squash("".join(p.text for p in line)) for line in lines]


PDF_COLUMNS = ("Measure", "Figure", "Change", "As of")


def pdf_tables(fragments: list[Fragment], names: set[str]) -> list[list[str]]:
    """The figures tables' rows, each as its cells' text (`PDF_COLUMNS`).

    Cells are drawn one after another, each from its top line down (top-aligned), a row from the
    measure's column: a piece drawn no lower than the one before starts the next cell; one drawn at
    the measure column's left edge after a whole row starts the next row. A row counts only if
    its first cell names a measure (`names`), so what follows a table is never read as one.
    """
    rows: list[list[str]] = []
    index = 0
    while index < len(fragments):
        piece = fragments[index]
        index += 1
        if piece.text.strip() != PDF_COLUMNS[0]:
            continue
        left = piece.x
        width = len(PDF_COLUMNS)
        cells: list[list[str]] = [[PDF_COLUMNS[0]]]
        previous = piece
        while index < len(fragments):
            piece = fragments[index]
            at_left = abs(piece.x - left) < 2
            if at_left and len(cells) == width:
                finished = [squash(" ".join(c)) for c in cells]
                if finished[0] != PDF_COLUMNS[0]:
                    rows.append(finished)
                cells = [[piece.text]]
            elif piece.page == previous.page and piece.y > previous.y - 0.5 and len(cells) < width:
                cells.append([piece.text])
            elif len(cells) == width and not at_left:
                break
            else:
                cells[-1].append(piece.text)
            previous = piece
            index += 1
        if len(cells) == width:
            rows.append([squash(" ".join(c)) for c in cells])
    return [row for row in rows if _measure(row[0], names)]


def _measure(cell: str, names) -> str:
    return next(
        (
            name
            for name in sorted(names, key=len, reverse=True)
            if cell == name or cell.startswith((name + " (", name + " Why it changed:"))
        ),
        "",
    )


def _pdf_section(lines: list[str], heading: re.Pattern, ends: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The lines under the first heading matching `heading` up to the next of `ends`, and every
    other line."""
    start = next((i for i, line in enumerate(lines) if heading.match(line)), None)
    if start is None:
        return [], lines
    stop = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(ends)), len(lines))
    return lines[start + 1 : stop], lines[:start] + lines[stop:]


def pdf_release(content: bytes, *, names: dict[str, str], explanations=()) -> Facts:
    """The release summary PDF. `names` maps each measure's name to its key (as the page lists them)."""
    fragments = pdf_fragments(content)
    lines = pdf_lines(fragments)
    period = next((period_of(line) for line in lines if line.startswith("Reporting period:")), "")
    found = _pdf_opening(period, lines)
    for row in pdf_tables(fragments, set(names)):
        measure, this, change, as_of = row
        slug = names.get(_measure(measure, names))
        if slug is None:  # a row naming no measure the release has
            continue
        found |= figure_facts(period, slug, wording=this, change=change, as_of=as_of)
    notice = re.search(
        r"This release has been corrected since it came out \((\d+) corrections?\)", " ".join(lines)
    )
    section, rest = _pdf_section(
        lines,
        CORRECTIONS_HEADING,
        ("About these statistics", "Media contacts", "This PDF is a printable summary"),
    )
    found |= corrections_facts(period, _pdf_notices(section), count=int(notice.group(1)) if notice else 0)
    found[("release", period, "explanations")] = fact(
        listed(found_explanations(" ".join(rest), explanations))
    )
    return found


def _pdf_opening(period: str, lines: list[str]) -> Facts:
    found: Facts = {}
    for line in lines:
        if line.startswith("Published:"):
            said = line.removeprefix("Published:").strip()
            found[("release", period, "published")] = fact(moment(said), said)
            found[("release", period, "published day")] = fact(uk_day_of(moment(said)), said)
        elif line.startswith("Status:"):
            found[("release", period, "designation")] = fact(line.removeprefix("Status:").strip())
        elif line.startswith("Compared with:"):
            found[("release", period, "compared with")] = fact(period_of(line), line)
    return found


def _pdf_notices(section: list[str]) -> list[Notice]:
    """The "Corrections" part: "<subject> (corrected <day>)", then "Was …; now …." and the reason."""
    entries: list[tuple[str, list[str]]] = []
    for line in section:
        starts = re.match(r"^(.*) \(corrected (.+)\)$", line)
        if starts:
            entries.append((starts.group(1), []))
        elif entries:
            entries[-1][1].append(line)
    notices = []
    for subject, body in entries:
        words = squash(" ".join(body))
        match = re.match(r"^Was (.*?); now (.*?)\. (.*)$", words)
        notices.append(Notice(subject, *(match.groups() if match else ("", "", words))))
    return notices


# --- data files ----------------------------------------------------------------------------------


def _row_facts(row: dict) -> Facts:
    period, slug = day(str(row.get("period") or "")), row.get("metric_slug") or ""
    as_of = row.get("as_of")
    as_of = as_of.date().isoformat() if hasattr(as_of, "date") else str(as_of or "")
    return figure_facts(
        period,
        slug,
        as_of=as_of,
        value=number(row.get("value")),
        qualifier=str(row.get("qualifier") or ""),
    )


def csv_figures(content: bytes) -> Facts:
    found: Facts = {}
    for row in csv.DictReader(io.StringIO(content.decode("utf-8-sig"))):
        found |= _row_facts(row)
    return found


def xlsx_figures(content: bytes) -> Facts:
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    headers = [str(h) for h in next(rows)]
    found: Facts = {}
    for values in rows:
        if any(v is not None for v in values):
            found |= _row_facts(dict(zip(headers, values, strict=False)))
    book.close()
    return found


def _without(data, keys: tuple[str, ...]):
    if isinstance(data, dict):
        return {k: _without(v, keys) for k, v in data.items() if k not in keys}
    if isinstance(data, list):
        return [_without(v, keys) for v in data]
    return data


def release_json(data: dict, *, explanations=()) -> Facts:
    """A release as JSON: the API's release, its JSON download, and an `?as_of=` vintage of either."""
    period = data["period"]
    found: Facts = {("release", period, "public"): fact("yes", "the release is in the API")}
    if data.get("published"):
        found[("release", period, "published")] = fact(moment(data["published"]), data["published"])
        found[("release", period, "published day")] = fact(
            uk_day_of(moment(data["published"])), data["published"]
        )
    if data.get("designation"):
        found[("release", period, "designation")] = fact(data["designation"]["label"])
    found[("release", period, "compared with")] = fact(data.get("previous") or "", data.get("previous"))
    citation = data.get("citation") or {}
    if citation:
        found[("release", period, "version")] = fact(citation["version"])
        found[("release", period, "citation")] = fact(squash(citation["text"]))
        corrected = citation.get("corrected_at")
        found[("release", period, "corrected on")] = fact(
            uk_day_of(moment(corrected)) if corrected else "", corrected or "not corrected"
        )
    for programme in data.get("programmes", []):
        for figure in programme["figures"]:
            slug = figure["metric_slug"]
            found |= figure_facts(
                period,
                slug,
                wording=figure["display"],
                change=figure["change"],
                as_of=figure["as_of"] or "",
                qualifier=figure["qualifier"],
                revisions=str(len(figure.get("revisions", []))),
            )
            found[("figure", period, slug, "value")] = fact(number(figure["value"]), figure["value"])
            if figure.get("previous_value") is not None:
                found[("figure", period, slug, "previous value")] = fact(number(figure["previous_value"]))
    notices = [Notice(c["subject"], c["was"], c["now"], c["reason"]) for c in data.get("corrections", [])]
    found |= corrections_facts(period, notices)
    rest = json.dumps(_without(data, ("corrections", "revisions")), ensure_ascii=False)
    found[("release", period, "explanations")] = fact(
        listed(found_explanations(rest.replace("\\n", " "), explanations))
    )
    record = data.get("pre_release")
    if record is not None:
        holders = [f"{h['job_title']}, {h['organisation']}" for h in record.get("used", [])]
        unused = [f"{h['job_title']}, {h['organisation']}" for h in record.get("granted_not_used", [])]
        found |= pre_release_fact(period, holders, unused)
    return found


def api_release_list(data: dict) -> Facts:
    releases = data["releases"]
    found: Facts = {("site", "public releases"): fact(listed(r["period"] for r in releases))}
    if releases:
        found[("site", "latest release")] = fact(releases[0]["period"])
    for release in releases:
        period = release["period"]
        found[("release", period, "public")] = fact("yes", "listed")
        found[("release", period, "published")] = fact(moment(release["published"]), release["published"])
    return found


def series_json(data: dict) -> Facts:
    """A measure's series: the API's, or its JSON download."""
    slug = data["slug"]
    found: Facts = {}
    for figure in data["figures"]:
        found |= figure_facts(
            figure["period"],
            slug,
            as_of=figure["as_of"] or "",
            value=number(figure["value"]),
            qualifier=figure["qualifier"],
        )
    return found


# --- CSV on the Web, zips --------------------------------------------------------------------------


def csvw(data: dict) -> Facts:
    """A release CSV's metadata: its corrections, as notes."""
    period = RELEASE_LINK.search(data.get("dcat:landingPage", {}).get("@id", ""))
    if period is None:
        return {}
    notices = []
    for note in data.get("notes", []):
        if note.get("oa:motivatedBy", {}).get("@id") != "oa:editing":  # a note that corrects nothing
            continue
        body = note["oa:hasBody"]["rdf:value"]
        revised = re.match(r"^(.*?): Revised from (.*) to (.*) on \d{1,2} \w+ \d{4}: (.*)$", body, re.S)
        if revised:
            notices.append(Notice(*revised.groups()))
        else:
            subject, _, reason = body.partition(": ")
            notices.append(Notice(subject, "", "", reason))
    return corrections_facts(period.group(1), notices)


def release_zip_figures(content: bytes) -> Facts:
    """The figures in a zip's CSV (a measure's zip: its series)."""
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        return {
            k: v
            for name in bundle.namelist()
            if name.endswith(".csv")
            for k, v in csv_figures(bundle.read(name)).items()
        }


def release_zip(content: bytes) -> Facts:
    found: Facts = {}
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        for name in bundle.namelist():
            if name.endswith(".csv"):
                found |= csv_figures(bundle.read(name))
            elif name.endswith("-metadata.json"):
                metadata = json.loads(bundle.read(name))
                period = re.search(r"\d{4}-\d{2}-\d{2}", metadata.get("dc:source", {}).get("@id", ""))
                metadata["dcat:landingPage"] = {"@id": f"/statistics/{period.group(0)}/"} if period else {}
                found |= csvw(metadata)
        readme = bundle.read("README.txt").decode("utf-8")
    period = period_of(readme.splitlines()[0])
    published = re.search(r"^Published: (.*)$", readme, re.M)
    if published:
        found[("release", period, "published day")] = fact(day(published.group(1)), published.group(0))
    version = re.search(r"^Version (\d+)(?:, corrected on (.*))?$", readme, re.M)
    if version:
        found[("release", period, "version")] = fact(version.group(1), version.group(0))
        found[("release", period, "corrected on")] = fact(day(version.group(2) or ""), version.group(0))
    status = re.search(r"^Status: (.*?) \(what this means", readme, re.M)
    if status:
        found[("release", period, "designation")] = fact(status.group(1))
    return found


# --- site-wide pages -------------------------------------------------------------------------------


def home(html: str) -> Facts:
    page = soup(html)
    found: Facts = {}
    latest = page.find(id="latest-heading")
    period = period_of(text(latest)) if latest else ""
    if period:
        found[("site", "latest release")] = fact(period, text(latest))
        found[("release", period, "public")] = fact("yes", text(latest))
        for card in page.select(".nhsuk-card"):
            link = card.find("a", href=METRIC_LINK)
            value = card.select_one(".newsroom-headline__value")
            if link is None or value is None:
                continue
            slug = METRIC_LINK.search(link["href"]).group(1)
            change = next(
                (
                    text(p)
                    for p in card.find_all("p")
                    if "previous release" in text(p) or "earlier" in text(p)
                ),
                "",
            )
            found |= figure_facts(
                period,
                slug,
                wording=text(value),
                change=change.removeprefix("Change since the previous release: ")
                if "Change since" in change
                else "",
            )
    heading = page.find(id="next-heading")
    if heading is not None:
        section = heading.find_parent("section")
        said = text(section.find("p"))
        due = re.search(r"for w/c (.*?) are due", said)
        when = section.find("time")
        found[("site", "next release")] = fact(
            next_release(day(due.group(1)) if due else "", moment(when["datetime"]) if when else ""), said
        )
    for link in page.select(".newsroom-archive__item a"):
        match = RELEASE_LINK.search(link["href"])
        if match:
            found[("release", match.group(1), "public")] = fact("yes", text(link))
    return found


def archive(html: str) -> Facts:
    periods = []
    for link in soup(html).select(".newsroom-archive__item a"):
        match = RELEASE_LINK.search(link["href"])
        if match:
            periods.append(match.group(1))
    found: Facts = {("site", "public releases"): fact(listed(periods))}
    if periods:
        found[("site", "latest release")] = fact(max(periods))
    for period in periods:
        found[("release", period, "public")] = fact("yes", "listed")
    return found


def feed(content: bytes) -> Facts:
    atom = "{http://www.w3.org/2005/Atom}"
    root = ElementTree.fromstring(content)
    entries = root.findall(f"{atom}entry")
    found: Facts = {}
    periods = []
    for entry in entries:
        period = re.search(r"\d{4}-\d{2}-\d{2}", entry.findtext(f"{atom}id", "")).group(0)
        periods.append(period)
        published = entry.findtext(f"{atom}published", "")
        found[("release", period, "public")] = fact("yes", "an entry")
        found[("release", period, "published")] = fact(moment(published), published)
        category = entry.find(f"{atom}category")
        if category is not None:
            found[("release", period, "designation")] = fact(category.get("term"))
    if entries:
        found[("site", "latest release")] = fact(periods[0])
    if len(entries) < 30:  # the feed holds the latest 30: below that, every public release
        found[("site", "public releases")] = fact(listed(periods))
    return found


def calendar_page(html: str) -> Facts:
    page = soup(html)
    found: Facts = {}
    coming = []
    upcoming = page.find(id="upcoming-heading")
    table = upcoming.find_next_sibling() if upcoming else None
    if table is not None and table.name == "table":
        for row in table.select("tbody tr"):
            cells = row.find_all("td")
            period = period_of(text(cells[0]))
            when = moment(cells[1].find("time")["datetime"])
            coming.append((when, period, text(cells[1])))
            found[("release", period, "publish time")] = fact(when, text(cells[1]))
            found[("release", period, "date status")] = fact(text(cells[2]).lower(), text(cells[2]))
    changes = page.find(id="changes-heading")
    counted: Counter = Counter()
    listing = changes.find_next_sibling() if changes else None
    if listing is not None and listing.name == "ul":
        for item in listing.find_all("li", recursive=False):
            period = period_of(text(item.find("strong")))
            counted[period] += 1
            if "cancelled (was due" in text(item):
                found[("release", period, "date status")] = fact("cancelled", text(item))
    for period, count in counted.items():
        found[("release", period, "date changes")] = fact(count)
    for period in {p for _, p, _ in coming} - set(counted):
        found[("release", period, "date changes")] = fact(0)
    soonest = min(coming) if coming else None
    found[("site", "next release")] = (
        fact(next_release(soonest[1], soonest[0]), f"{soonest[1]}: {soonest[2]}")
        if soonest
        else fact(NONE, "No release dates have been announced yet.")
    )
    return found


def calendar_ics(content: bytes, *, now) -> Facts:
    found: Facts = {}
    coming = []
    for event in Calendar.from_ical(content).walk("VEVENT"):
        period = period_of(str(event.get("SUMMARY")))
        start = event.decoded("DTSTART")
        when = moment(start.isoformat())
        status = str(event.get("STATUS"))
        out = str(event.get("DESCRIPTION", "")).startswith("Published")
        if status == "CANCELLED":
            found[("release", period, "date status")] = fact("cancelled", status)
        elif out:
            found[("release", period, "date status")] = fact("out", "Published")
            found[("release", period, "published")] = fact(when, start.isoformat())
        else:
            found[("release", period, "date status")] = fact(
                {"TENTATIVE": "provisional", "CONFIRMED": "confirmed"}.get(status, status), status
            )
            found[("release", period, "publish time")] = fact(when, start.isoformat())
            if start > now:
                coming.append((when, period, start.isoformat()))
    soonest = min(coming) if coming else None
    found[("site", "next release")] = (
        fact(next_release(soonest[1], soonest[0]), f"{soonest[1]}: {soonest[2]}")
        if soonest
        else fact(NONE, "no coming event")
    )
    return found


def revisions_page(html: str, *, periods=()) -> Facts:
    """Every correction listed, by release; `periods`: public releases to state "none" for if unlisted."""
    by_period: dict[str, list[Notice]] = {p: [] for p in periods}
    tables = [t for t in soup(html).find_all("table") if "orrection" in text(t.find("caption"))]
    for row in (row for table in tables for row in table.select("tbody tr")):
        cells = row.find_all("td")
        link = cells[1].find("a")
        match = RELEASE_LINK.search(link["href"]) if link else None
        if match is None:
            continue
        was, now = (text(c) for c in cells[3:5])
        notice = Notice(text(cells[2]), "" if was == "—" else was, "" if now == "—" else now, text(cells[5]))
        by_period.setdefault(match.group(1), []).append(notice)
    found: Facts = {}
    for period, notices in by_period.items():
        found |= corrections_facts(period, notices)
    return found


# --- a measure's pages and files -------------------------------------------------------------------


def metric_page(html: str) -> Facts:
    page = soup(html)
    slug = ""
    for row in page.select(".nhsuk-summary-list__row"):
        if text(row.find("dt")) == "Name in the data files":
            slug = text(row.find("dd"))
    found: Facts = {}
    lede = page.select_one(".nhsuk-lede-text")
    latest = re.match(r"^Latest figure: (.*) \(week commencing (.*)\)\.$", text(lede)) if lede else None
    if latest:
        found |= figure_facts(day(latest.group(2)), slug, wording=latest.group(1))
    table = page.select_one("table.nhsuk-table")
    if table is None:
        return found
    headers = [_cell(th) for th in table.select("thead th")]
    for row in table.select("tbody tr"):
        cells = dict(zip(headers, row.find_all("td"), strict=False))
        link = cells[headers[0]].find("a") if headers else None
        if link is None:
            continue
        period = RELEASE_LINK.search(link["href"]).group(1)
        change = (
            text(cells["Change since previous release"]) if "Change since previous release" in cells else None
        )
        found |= figure_facts(
            period,
            slug,
            wording=text(cells["Figure"]),
            change=change,
            as_of=text(cells["As of"]) if "As of" in cells else None,
        )
    return found


# --- email alerts ----------------------------------------------------------------------------------


def alert(message) -> tuple[str, Facts]:
    """An email alert as its reader sees it (the HTML part); its kind and its facts."""
    subject = message.subject
    html = next((body for body, kind in getattr(message, "alternatives", []) if kind == "text/html"), "")
    page = soup(html)
    heading = text(page.find("h1"))
    period = period_of(heading)
    found: Facts = {}
    if subject.startswith("Published: "):
        published = next((text(p) for p in page.find_all("p") if text(p).startswith("Published ")), "")
        said = published.removeprefix("Published ").rstrip(".")
        found[("release", period, "published")] = fact(moment(said), said)
        for card in page.find_all("div", style=re.compile("border:1px")):
            link = card.find("a", href=METRIC_LINK)
            paragraphs = card.find_all("p")
            if link is None or len(paragraphs) < 4:
                continue
            slug = METRIC_LINK.search(link["href"]).group(1)
            last = text(paragraphs[3])
            as_of = re.search(r"\. As of (.*)\.$", last)
            change = re.sub(r"\. As of .*$", "", last)
            found |= figure_facts(
                period,
                slug,
                wording=text(paragraphs[2]),
                change=change.removeprefix("Change since the previous release: ")
                if "Change since" in change
                else "",
                as_of=as_of.group(1) if as_of else "",
            )
        line = next((text(p) for p in page.find_all("p") if text(p).startswith("Next release:")), "")
        due = re.match(r"^Next release: w/c (.*?), due (.*)\.$", line)
        found[("site", "next release")] = fact(
            next_release(day(due.group(1)), moment(due.group(2))) if due else NONE, line
        )
        return "release alert", found
    if subject.startswith("Correction: "):
        bold = text(page.find("p", style=re.compile("font-weight:bold")))
        rows = {text(tr.find("th")): text(tr.find("td")) for tr in page.find_all("tr")}
        subject_ = re.sub(r" \([^()]*\)$", "", bold)
        was, now = (rows.get(k, "") for k in ("Was", "Now"))
        was, now = ("" if v == "(empty)" else v for v in (was, now))
        found[("correction", period, subject_, rows.get("Why", ""))] = fact(f"was {was}, now {now}")
        return "correction alert", found
    if subject.startswith(("Date changed: ", "Cancelled: ")):
        if "has been cancelled" in text(page):
            found[("release", period, "date status")] = fact("cancelled", subject)
        else:
            rows = {text(tr.find("th")): text(tr.find("td")) for tr in page.find_all("tr")}
            found[("release", period, "publish time")] = fact(
                moment(rows.get("Now", "")), rows.get("Now", "")
            )
        return "date change alert", found
    return "", {}
