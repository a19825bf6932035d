"""Release summaries and programme reports as A4 PDFs, built from plain values.

No database access here: the views turn a release into the dataclasses below
and pass them in, so a PDF builds (and tests) from plain data alone.
Open-source reportlab writes untagged PDF: the web page stays the accessible
version, and these files make no PDF/UA claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    ListFlowable,
    ListItem,
    Paragraph,
    Spacer,
)

from stats.outputs import charts
from stats.outputs.charts import Point
from stats.outputs.pdf_layout import (
    FRAME_WIDTH,
    NHS_BLUE,
    ChartFlowable,
    Heading,
    build,
    chart_drawing,
    contacts,
    escaped,
    history_table,
    make_styles,
    notice,
    section_contacts,
    table,
)
from stats.wording import formatting

FONT, FONT_BOLD = charts.FONT, charts.FONT_BOLD
# The "As of" column gives a figure's own date, as the downloads' as_of column does.
AS_OF_NOTE = "Figures are for the reporting period unless the “As of” column gives another day."
# ---------------------------------------------------------------------------
# Plain data the views pass in.


@dataclass(frozen=True)
class Chart:
    """One metric's points, drawn with charts.trend_chart exactly as on the web."""

    title: str
    points: tuple[Point, ...]
    kind: str = formatting.TOTAL
    unit: str = ""
    description: str = ""  # the chart in words (charts.describe), printed under it


@dataclass(frozen=True)
class FigureLine:
    """One row of a release's figures table, worded as the page words it."""

    metric: str
    value: str
    change: str = ""
    as_of: str = ""
    note: str = ""
    explanation: str = ""  # why it moved since the previous release, as the release explained it


@dataclass(frozen=True)
class ContactCard:
    name: str
    remit: str = ""
    organisation: str = ""
    phone: str = ""
    email: str = ""
    out_of_hours: str = ""
    website: str = ""
    note: str = ""
    checked: str = ""  # when its details were last checked, as the page says: "3 March 2010"


@dataclass(frozen=True)
class ProgrammeSection:
    key: str
    name: str
    bullets: tuple[str, ...] = ()
    figures: tuple[FigureLine, ...] = ()
    chart: Chart | None = None
    contacts: tuple[ContactCard, ...] = ()


@dataclass(frozen=True)
class CorrectionNote:
    corrected: str
    subject: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True)
class ReleaseSummary:
    heading: str
    period: str
    published: str
    organisation: str
    url: str = ""
    previous_period: str = ""
    sections: tuple[ProgrammeSection, ...] = ()
    notes: tuple[str, ...] = ()
    corrections: tuple[CorrectionNote, ...] = ()
    contacts: tuple[ContactCard, ...] = ()
    synthetic: bool = False
    preview: bool = False
    responsible: str = ""  # the office responsible for the release, with its phone
    status: str = ""  # the statistics' status: "Official statistics"
    status_url: str = ""  # where the status is explained (the statement of compliance)
    lead_statistician: str = ""  # "Name, email, phone"
    # A personal copy's watermark ("Pre-release access for …"): a strip across the top of every page.
    notice: str = ""


@dataclass(frozen=True)
class HistoryRow:
    period: str
    value: str
    change: str = ""
    as_of: str = ""
    note: str = ""


@dataclass(frozen=True)
class MetricHistory:
    key: str
    name: str
    chart: Chart
    definition: str = ""
    unit: str = ""
    rows: tuple[HistoryRow, ...] = ()


@dataclass(frozen=True)
class ProgrammeReport:
    name: str
    organisation: str
    span: str
    releases: int
    description: str = ""
    url: str = ""
    metrics: tuple[MetricHistory, ...] = ()
    synthetic: bool = False
    contacts: tuple[ContactCard, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------
# Documents.


def release_pdf(summary: ReleaseSummary, *, invariant: bool = False) -> bytes:
    """The release summary: bullets, figures table and trend chart per programme."""
    styles = make_styles()
    story = _release_opening(summary, styles)
    # The page's columns, each wide enough for one line of its longest usual text: a bound in its words
    # with its exact figure ("more than 22 million (22,725,621)"), "+18,774,292 (+12.5%)", "26 Feb 2010".
    widths = [FRAME_WIDTH * share for share in (0.30, 0.33, 0.225, 0.145)]
    for section in summary.sections:
        story.extend(_release_section(section, widths, styles))
    if summary.corrections:
        story.extend(_corrections(summary.corrections, styles))
    if summary.notes:
        story.append(Heading("About these statistics", styles["h2"], key="about"))
        story.extend(Paragraph(escaped(paragraph), styles["body"]) for paragraph in summary.notes)
    story.extend(contacts(summary.contacts, styles))
    story.append(Spacer(1, 6 * mm))
    story.append(
        Paragraph(
            "This PDF is a printable summary. The web version is the accessible, authoritative "
            "version of these statistics.",
            styles["small"],
        )
    )
    return build(
        story,
        title=summary.heading,
        subject=f"Deployment statistics for {summary.period}",
        author=summary.organisation,
        band_note=f"Deployment statistics for {summary.period}",
        footer=f"{summary.organisation} · deployment statistics for {summary.period}",
        invariant=invariant,
        watermark=summary.notice,
    )


def _release_opening(summary: ReleaseSummary, styles) -> list:
    """The title, the period and dates, and the notices above a release summary's programmes."""
    story: list = [
        Spacer(1, 4 * mm),
        Heading(summary.heading, styles["title"], key="release", level=0),
        Paragraph(f"<b>Reporting period:</b> {escaped(summary.period)}", styles["lede"]),
        Paragraph(f"<b>Published:</b> {escaped(summary.published or 'not yet published')}", styles["lede"]),
    ]
    if summary.responsible:
        story.append(Paragraph(f"<b>Responsible:</b> {escaped(summary.responsible)}", styles["lede"]))
    if summary.status:
        story.append(Paragraph(f"<b>Status:</b> {escaped(summary.status)}", styles["lede"]))
    if summary.lead_statistician:
        story.append(
            Paragraph(f"<b>Lead statistician:</b> {escaped(summary.lead_statistician)}", styles["lede"])
        )
    if summary.preview and not summary.notice:  # a personal copy says so at the top of every page
        story[1:1] = [
            notice("Preview: this release is not public yet. Do not share it.", styles),
            Spacer(1, 3 * mm),
        ]
    if summary.previous_period:
        story.append(
            Paragraph(
                f"<b>Compared with:</b> the release for {escaped(summary.previous_period)}", styles["lede"]
            )
        )
    if summary.url:
        story.append(
            Paragraph(f"Web version with accessible tables: {escaped(summary.url)}", styles["small"])
        )
    if summary.status_url:
        story.append(Paragraph(f"What this status means: {escaped(summary.status_url)}", styles["small"]))
    story.append(Paragraph(AS_OF_NOTE, styles["small"]))
    if summary.synthetic:
        story.append(Paragraph("These figures are synthetic demonstration data.", styles["small"]))
    if summary.corrections:
        count = len(summary.corrections)
        story.append(Spacer(1, 2 * mm))
        story.append(
            notice(
                f"This release has been corrected since it came out ({count} "
                f"correction{'s' if count > 1 else ''}): "
                "see “Corrections” after the figures.",
                styles,
            )
        )
    story.append(Spacer(1, 2 * mm))
    return story


def _release_section(section: ProgrammeSection, widths: list[float], styles) -> list:
    """One programme in a release summary: its bullets, figures table, trend chart and media contacts."""
    story: list = [
        CondPageBreak(60 * mm),
        Heading(section.name, styles["h2"], key=f"programme-{section.key}", level=1),
    ]
    if section.bullets:
        story.append(
            ListFlowable(
                [ListItem(Paragraph(escaped(b), styles["body"]), leftIndent=12) for b in section.bullets],
                bulletType="bullet",
                start="•",
                bulletFontName=FONT,
                bulletColor=NHS_BLUE,
                leftIndent=12,
            )
        )
    if section.figures:
        rows: list[list] = [["Measure", "Figure", "Change", "As of"]]
        for line in section.figures:
            metric: str | list = line.metric + (f" ({line.note})" if line.note else "")
            if line.explanation:
                metric = [
                    Paragraph(escaped(metric), styles["cell"]),
                    Paragraph(f"Why it changed: {escaped(line.explanation)}", styles["cell-note"]),
                ]
            rows.append([metric, line.value, line.change or "–", line.as_of or "–"])
        story += [Spacer(1, 2 * mm), table(rows, widths, numeric={1, 2, 3}, styles=styles)]
    if section.chart is not None and len(section.chart.points) > 1:
        story += [Spacer(1, 3 * mm), *_chart(section.chart, FRAME_WIDTH * 0.8, styles)]
    if section.contacts:
        story += [Spacer(1, 2 * mm), section_contacts(section.contacts, styles)]
    return story


def _chart(chart: Chart, width: float, styles) -> list:
    """A chart and, under it, what it shows in words: kept on one page together."""
    parts: list = [ChartFlowable(chart_drawing(chart), width)]
    if chart.description:
        parts.append(Paragraph(escaped(chart.description), styles["small"]))
    return [KeepTogether(parts)]


def _corrections(corrections: tuple[CorrectionNote, ...], styles) -> list:
    """The "Corrections" part of a release summary: what each correction changed, and why."""
    story: list = [Heading("Corrections", styles["h2"], key="corrections")]
    for note in corrections:
        story.append(
            KeepTogether(
                [
                    Paragraph(
                        f"<b>{escaped(note.subject)}</b> (corrected {escaped(note.corrected)})",
                        styles["body"],
                    ),
                    Paragraph(f"Was {escaped(note.old)}; now {escaped(note.new)}.", styles["body"]),
                    Paragraph(escaped(note.reason), styles["body"]),
                ]
            )
        )
    return story


def programme_pdf(report: ProgrammeReport, *, invariant: bool = False) -> bytes:
    """Every metric of one programme over the whole archive: a chart and a table each."""
    styles = make_styles()
    title = f"{report.name}: deployment statistics over time"
    story: list = [
        Spacer(1, 4 * mm),
        Heading(title, styles["title"], key="programme", level=0),
        Paragraph(f"<b>Releases covered:</b> {report.releases} ({escaped(report.span)})", styles["lede"]),
    ]
    if report.description:
        story.append(Paragraph(escaped(report.description), styles["body"]))
    if report.url:
        story.append(Paragraph(f"Web version with accessible tables: {escaped(report.url)}", styles["small"]))
    if report.synthetic:
        story.append(Paragraph("Some of these figures are synthetic demonstration data.", styles["small"]))
    for metric in report.metrics:
        story.append(CondPageBreak(90 * mm))
        story.append(Heading(metric.name, styles["h2"], key=f"metric-{metric.key}", level=1))
        if metric.definition:
            story.append(Paragraph(escaped(metric.definition), styles["body"]))
        story.extend(_chart(metric.chart, FRAME_WIDTH, styles))
        story.append(Spacer(1, 3 * mm))
        if metric.rows:
            story.append(history_table(metric.rows, styles))
    story.extend(contacts(report.contacts, styles))
    return build(
        story,
        title=title,
        subject=f"{report.name} deployment statistics, {report.span}",
        author=report.organisation,
        band_note="Deployment statistics over time",
        footer=f"{report.organisation} · {report.name}",
        invariant=invariant,
    )
