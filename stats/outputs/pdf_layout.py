"""The release and programme PDFs' layout: styles, page decoration, tables, notices, contact cards.

Plain reportlab building blocks for `stats.outputs.pdf`; no database, no Django.
"""

from __future__ import annotations

from io import BytesIO
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import registerFontFamily, stringWidth
from reportlab.platypus import (
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)

from stats.outputs import charts

FONT, FONT_BOLD = charts.FONT, charts.FONT_BOLD
if TYPE_CHECKING:
    from stats.outputs.pdf import Chart, ContactCard, HistoryRow

NHS_BLUE = charts.NHS_BLUE
NHS_DARK_BLUE = colors.HexColor("#003087")
TEXT = charts.TEXT
SECONDARY = colors.HexColor("#4c6272")
PALE_GREY = colors.HexColor("#f0f4f5")
BORDER = colors.HexColor("#d8dde0")
WARM_YELLOW = colors.HexColor("#fff9c4")

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN - 12  # the frame pads its content by 6 pt a side
BAND_HEIGHT = 16 * mm
TOP_MARGIN = 20 * mm
# A personal copy's watermark: a strip across the top of every page, above everything else.
WATERMARK_SIZE, WATERMARK_LEADING, WATERMARK_PADDING = 9, 11, 2 * mm
WATERMARK_EDGE = colors.HexColor("#ffeb3b")


# ---------------------------------------------------------------------------
# Styles: one TrueType family (Bitstream Vera, shipped with reportlab), embedded.


def make_styles() -> dict[str, ParagraphStyle]:
    charts.register_fonts()
    registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13.5, textColor=TEXT, spaceAfter=4)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, textColor=SECONDARY),
        "title": ParagraphStyle(
            "title",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=20,
            leading=25,
            textColor=NHS_BLUE,
            spaceAfter=8,
        ),
        "lede": ParagraphStyle("lede", parent=body, fontSize=11, leading=15, spaceAfter=2),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=14,
            leading=18,
            textColor=NHS_BLUE,
            spaceBefore=12,
            spaceAfter=6,
        ),
        "h3": ParagraphStyle(
            "h3", parent=body, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=8, spaceAfter=3
        ),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5, spaceAfter=0),
        "cell-note": ParagraphStyle(
            "cell-note", parent=body, fontSize=7.5, leading=9.5, spaceAfter=0, textColor=SECONDARY
        ),
        "cell-right": ParagraphStyle(
            "cell-right", parent=body, fontSize=8.5, leading=10.5, spaceAfter=0, alignment=TA_RIGHT
        ),
        "head": ParagraphStyle(
            "head", parent=body, fontName=FONT_BOLD, fontSize=8.5, leading=10.5, textColor=colors.white
        ),
        "head-right": ParagraphStyle(
            "head-right",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=8.5,
            leading=10.5,
            textColor=colors.white,
            alignment=TA_RIGHT,
        ),
    }


def escaped(value: str) -> str:
    """User text made safe for Paragraph's mini-markup."""
    return escape(value or "")


# ---------------------------------------------------------------------------
# Flowables.


class Heading(Paragraph):
    """A heading that becomes a bookmark in the PDF outline."""

    def __init__(self, text: str, style: ParagraphStyle, *, key: str, level: int = 0):
        super().__init__(escaped(text), style)
        self.outline_key = key
        self.outline_title = text
        self.outline_level = level


class ChartFlowable(Flowable):
    """A chart Drawing placed at a fixed width, scaled as a whole (labels included)."""

    def __init__(self, drawing: Drawing, width: float):
        super().__init__()
        self.drawing = drawing
        self.scale = min(1.0, width / drawing.width)
        self.width = drawing.width * self.scale
        self.height = drawing.height * self.scale

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self):
        self.canv.saveState()
        self.canv.scale(self.scale, self.scale)
        renderPDF.draw(self.drawing, self.canv, 0, 0)
        self.canv.restoreState()


def chart_drawing(chart: Chart) -> Drawing:
    """The same Drawing the web page renders as SVG."""
    return charts.trend_chart(list(chart.points), title=chart.title, kind=chart.kind, unit=chart.unit)


def watermark_lines(text: str) -> list[str]:
    """The watermark as the lines it takes across the page (a long name wraps, never runs off)."""
    charts.register_fonts()
    return simpleSplit(text, FONT_BOLD, WATERMARK_SIZE, PAGE_WIDTH - 2 * MARGIN) if text else []


def watermark_height(lines: list[str]) -> float:
    return len(lines) * WATERMARK_LEADING + 2 * WATERMARK_PADDING if lines else 0


class Document(SimpleDocTemplate):
    """Adds outline entries for headings, the running header and footer, and a watermark."""

    def __init__(
        self, buffer, *, running_title: str, band_note: str, footer: str, watermark: list[str], **kwargs
    ):
        self.running_title = running_title
        self.band_note = band_note
        self.footer = footer
        self.watermark = watermark
        super().__init__(buffer, **kwargs)

    def afterFlowable(self, flowable):
        key = getattr(flowable, "outline_key", None)
        if key:
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.outline_title, key, level=flowable.outline_level, closed=False)

    def _endBuild(self):
        # "of y": one form drawn on every page, filled in once the page count is known.
        canvas = self.canv
        canvas.beginForm("page-total")
        canvas.setFont(FONT, 8)
        canvas.setFillColor(SECONDARY)
        canvas.drawString(0, 0, str(self.page))
        canvas.endForm()
        super()._endBuild()


def draw_watermark(canvas, lines: list[str]) -> None:
    """The strip at the very top of the page: the band or running header sits below it."""
    height = watermark_height(lines)
    canvas.setFillColor(WARM_YELLOW)
    canvas.rect(0, PAGE_HEIGHT - height, PAGE_WIDTH, height, stroke=0, fill=1)
    canvas.setFillColor(WATERMARK_EDGE)
    canvas.rect(0, PAGE_HEIGHT - height, 4, height, stroke=0, fill=1)
    canvas.setFillColor(TEXT)
    canvas.setFont(FONT_BOLD, WATERMARK_SIZE)
    baseline = PAGE_HEIGHT - WATERMARK_PADDING - WATERMARK_SIZE
    for line in lines:
        canvas.drawString(MARGIN, baseline, line)
        baseline -= WATERMARK_LEADING


def decorate(canvas, doc: Document, *, first: bool) -> None:
    canvas.saveState()
    if doc.watermark:
        draw_watermark(canvas, doc.watermark)
    top = PAGE_HEIGHT - watermark_height(doc.watermark)
    if first:
        canvas.setFillColor(NHS_BLUE)
        canvas.rect(0, top - BAND_HEIGHT, PAGE_WIDTH, BAND_HEIGHT, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont(FONT_BOLD, 12)
        canvas.drawString(MARGIN, top - BAND_HEIGHT + 6 * mm, doc.author or "")
        canvas.setFont(FONT, 9)
        canvas.drawRightString(PAGE_WIDTH - MARGIN, top - BAND_HEIGHT + 6 * mm, doc.band_note)
    else:
        canvas.setFont(FONT, 8)
        canvas.setFillColor(SECONDARY)
        canvas.drawString(MARGIN, top - 11 * mm, doc.running_title)
        canvas.setStrokeColor(NHS_BLUE)
        canvas.setLineWidth(1.5)
        canvas.line(MARGIN, top - 13 * mm, PAGE_WIDTH - MARGIN, top - 13 * mm)
    canvas.setStrokeColor(BORDER)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN, 14 * mm, PAGE_WIDTH - MARGIN, 14 * mm)
    canvas.setFont(FONT, 8)
    canvas.setFillColor(SECONDARY)
    canvas.drawString(MARGIN, 9 * mm, doc.footer)
    label = f"Page {canvas.getPageNumber()} of "
    x = PAGE_WIDTH - MARGIN - stringWidth("Page 999 of 999", FONT, 8)
    canvas.drawString(x, 9 * mm, label)
    canvas.translate(x + stringWidth(label, FONT, 8), 9 * mm)
    canvas.doForm("page-total")
    canvas.restoreState()


def build(
    story: list,
    *,
    title: str,
    subject: str,
    author: str,
    band_note: str,
    footer: str,
    invariant: bool,
    watermark: str = "",
) -> bytes:
    """The PDF's bytes; a `watermark` (one person's copy) heads every page, over no other text."""
    buffer = BytesIO()
    lines = watermark_lines(watermark)
    doc = Document(
        buffer,
        running_title=title,
        band_note=band_note,
        footer=footer,
        watermark=lines,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=TOP_MARGIN + watermark_height(lines),
        bottomMargin=20 * mm,
        title=title,
        author=author,
        subject=subject,
        creator=author,
        lang="en-GB",
        displayDocTitle=True,
        initialFontName=FONT,
        invariant=1 if invariant else 0,
    )
    doc.build(
        story,
        onFirstPage=lambda c, d: decorate(c, d, first=True),
        onLaterPages=lambda c, d: decorate(c, d, first=False),
    )
    return buffer.getvalue()


def table(rows: list[list], widths: list[float], *, numeric: set[int], styles) -> Table:
    """A clean table: blue header row, light bands, numbers right-aligned."""
    header = [
        Paragraph(escaped(label), styles["head-right" if index in numeric else "head"])
        for index, label in enumerate(rows[0])
    ]
    body = [
        [
            Paragraph(escaped(cell), styles["cell-right" if index in numeric else "cell"])
            if isinstance(cell, str)
            else cell  # flowables made by the caller
            for index, cell in enumerate(row)
        ]
        for row in rows[1:]
    ]
    table = Table([header, *body], colWidths=widths, repeatRows=1, hAlign="LEFT")
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("BACKGROUND", (0, 0), (-1, 0), NHS_BLUE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, BORDER),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    commands.append(("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, PALE_GREY]))
    table.setStyle(TableStyle(commands))
    return table


def history_table(history: tuple[HistoryRow, ...], styles) -> Table:
    """Newest first; the "As of" and "Note" columns only when some row has one."""
    columns = [("Reporting period", 0.25), ("Figure", 0.2), ("Change", 0.25)]
    with_as_of = any(r.as_of for r in history)
    with_note = any(r.note for r in history)
    if with_as_of:
        columns.append(("As of", 0.15))
    if with_note:
        columns.append(("Note", 0.3))
    rows = [[label for label, _share in columns]]
    for r in history:
        row = [r.period, r.value, r.change or "–"]
        if with_as_of:
            row.append(r.as_of)
        if with_note:
            row.append(r.note)
        rows.append(row)
    total = sum(share for _label, share in columns)
    widths = [share / total * FRAME_WIDTH for _label, share in columns]
    if not with_note:
        # Short cells never wrap: plain strings draw several times faster than Paragraphs.
        return plain_table(rows, widths, numeric={1, 2})
    return table(rows, widths, numeric={1, 2}, styles=styles)


def plain_table(rows: list[list[str]], widths: list[float], *, numeric: set[int]) -> Table:
    """The same look as table, for cells of one short line each (no markup is parsed)."""
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("LEADING", (0, 0), (-1, -1), 10.5),
        ("TEXTCOLOR", (0, 1), (-1, -1), TEXT),
        ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), NHS_BLUE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, BORDER),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, PALE_GREY]),
    ]
    commands.extend(("ALIGN", (column, 0), (column, -1), "RIGHT") for column in sorted(numeric))
    table.setStyle(TableStyle(commands))
    return table


def notice(text: str, styles) -> Table:
    """A highlighted one-line warning, as NHS.UK's warning callout."""
    table = Table([[Paragraph(f"<b>{escaped(text)}</b>", styles["body"])]], colWidths=[FRAME_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), WARM_YELLOW),
                ("LINEBEFORE", (0, 0), (0, -1), 4, colors.HexColor("#ffeb3b")),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
            ]
        )
    )
    return table


def _card_lines(contact: ContactCard) -> list[str]:
    """A media contact's card, line by line, as marked-up text."""
    lines = [f"<b>{escaped(contact.name)}</b>"]
    if contact.remit:
        lines.append(escaped(contact.remit))
    if contact.organisation and contact.organisation not in contact.name:
        lines.append(escaped(contact.organisation))
    labelled = (
        ("Telephone: ", contact.phone),
        ("Out of hours: ", contact.out_of_hours),
        ("Email: ", contact.email),
    )
    lines += [f"{label}{escaped(value)}" for label, value in labelled if value]
    lines += [escaped(value) for value in (contact.website, contact.note) if value]
    if contact.checked:
        lines.append(f"Details checked on {escaped(contact.checked)}")
    return lines


def contacts(contacts: tuple[ContactCard, ...], styles) -> list:
    if not contacts:
        return []
    story: list = [Heading("Media contacts", styles["h2"], key="media-contacts")]
    cards = [Paragraph("<br/>".join(_card_lines(contact)), styles["cell"]) for contact in contacts]
    half = FRAME_WIDTH / 2
    grid = [cards[i : i + 2] + [""] * (2 - len(cards[i : i + 2])) for i in range(0, len(cards), 2)]
    table = Table(grid, colWidths=[half, half], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    story.append(table)
    return story


def section_contacts(contacts: tuple[ContactCard, ...], styles) -> Paragraph:
    """One line under a programme's figures: who answers media questions about it."""
    offices = []
    for contact in contacts:
        parts = [
            f"<b>{escaped(contact.name)}</b>" + (f" ({escaped(contact.remit)})" if contact.remit else "")
        ]
        if contact.phone:
            parts.append(f"telephone {escaped(contact.phone)}")
        if contact.out_of_hours:
            parts.append(f"out of hours {escaped(contact.out_of_hours)}")
        if contact.email:
            parts.append(escaped(contact.email))
        offices.append(", ".join(parts))
    return Paragraph("Media enquiries: " + "; ".join(offices) + ".", styles["body"])
