"""PDF files from the database: plain data for pdf.py, built once per release version and cached."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from urllib.parse import urljoin

from django.conf import settings
from django.db.models import Count, Max, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from common.cache import public_version, remember
from contacts.models import MediaContact
from stats.models import Figure, Metric, Programme, Release
from stats.outputs import charts, downloads, pdf
from stats.outputs.files import record_sizes
from stats.selectors import ReleaseDocument, Section, build_release_document, series_for
from stats.wording import formatting, qualified, ukclock

# Long enough to matter, short enough that a stale key ages out: keys change with every release version.
CACHE_SECONDS = 60 * 60 * 24 * 30
TREND_RELEASES = 12


@dataclass(frozen=True)
class PdfFile:
    content: bytes
    filename: str
    version: str = ""

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def label(self) -> str:
        """The link text's format and size, e.g. “PDF, 76 KB”."""
        return size_label(self.size)


def size_label(size: int) -> str:
    """A file size as the link shows it: “PDF, 76 KB”, “PDF, 1.2 MB”."""
    return f"PDF, {downloads.human_size(size)}"


def _day(day: date | None) -> str:
    return formatting.as_of(day) if day else ""


def _long_day(day: date | None) -> str:
    """A day as the contact cards on the page give it: "3 March 2010"."""
    return ukclock.day_label(day) if day else ""


def _dialled(dial) -> str:
    """A contact's number as printed: the text its page shows, worked out once per contact."""
    return dial.text if dial else ""


def _contact_cards(contacts) -> tuple[pdf.ContactCard, ...]:
    return tuple(
        pdf.ContactCard(
            name=contact.name,
            remit=contact.remit,
            organisation=contact.organisation,
            phone=_dialled(contact.phone_dial),
            email=contact.email,
            out_of_hours=_dialled(contact.out_of_hours_dial),
            website=contact.website,
            note=contact.note,
            checked=_long_day(contact.last_verified),
        )
        for contact in contacts
    )


def headline_slug(section: Section) -> str | None:
    """The metric a programme's small trend chart shows: its headline figure's."""
    return section.headline.metric_slug if section.headline else None


def release_summary(
    document: ReleaseDocument, series: dict[str, list], *, url: str = "", preview: bool = False
) -> pdf.ReleaseSummary:
    """The release document and its trend series as plain data for pdf.release_pdf."""
    release = document.release
    sections = []
    for section in document.sections:
        chart_slug = headline_slug(section)
        chart = None
        if chart_slug:
            row = next(r for r in section.figures if r.metric_slug == chart_slug)
            points = tuple(series.get(chart_slug, ()))
            chart = pdf.Chart(
                title=f"{row.metric_name}, last {TREND_RELEASES} releases",
                points=points,
                kind=row.kind,
                unit=row.unit,
                description=charts.describe(list(points), title=row.metric_name, kind=row.kind),
            )
        sections.append(
            pdf.ProgrammeSection(
                key=section.programme_slug,
                name=section.programme_name,
                bullets=tuple(section.bullets),
                figures=tuple(
                    pdf.FigureLine(
                        metric=row.metric_name,
                        value=row.display,
                        change=row.change,
                        as_of=_day(row.as_of),  # its own date only, as the CSV's as_of
                        note=row.note,
                        explanation=row.explanation,
                    )
                    for row in section.figures
                ),
                chart=chart,
                contacts=_contact_cards(section.contacts),
            )
        )
    published = ukclock.uk_label(document.publish_at, weekday=False)
    lead = release.lead_contact
    responsible = ""
    if lead is not None and lead.is_active:
        responsible = ", ".join(filter(None, [lead.name, _dialled(lead.phone_dial)]))
    status = document.statistics_status
    statistician = document.lead_statistician
    return pdf.ReleaseSummary(
        heading=document.heading,
        period=f"w/c {release.period_label}",
        published=published,
        organisation=settings.NEWSROOM_ORGANISATION,
        url=url,
        previous_period=f"w/c {document.previous.period_label}" if document.previous else "",
        sections=tuple(sections),
        notes=tuple(document.notes),
        corrections=tuple(
            pdf.CorrectionNote(
                corrected=_day(timezone.localtime(c.created_at).date()),
                subject=c.subject,
                old=c.old_value,
                new=c.new_value,
                reason=c.reason,
            )
            for c in document.corrections
        ),
        contacts=_contact_cards(document.contacts),
        synthetic=release.is_synthetic,
        preview=preview,
        responsible=responsible,
        status=status.label,
        status_url=urljoin(url, status.explanation_path) if url else "",
        lead_statistician=statistician.in_words if statistician else "",
    )


def release_trends(document: ReleaseDocument, *, visible) -> dict[str, list]:
    """The last releases up to this one, for each programme's chart metric, by metric slug."""
    slugs = [slug for section in document.sections if (slug := headline_slug(section))]
    metrics = list(Metric.objects.filter(slug__in=slugs).only("pk", "slug"))
    upto = visible.filter(period_date__lte=document.period_date)
    by_id = series_for(metrics, visible=upto, last=TREND_RELEASES)
    return {metric.slug: by_id[metric.pk] for metric in metrics}


def _document_and_trends(release: Release, *, visible, document=None):
    document = document or build_release_document(release, visible=visible)
    return document, release_trends(document, visible=visible)


def build_release_pdf(
    release: Release,
    *,
    visible,
    url: str = "",
    preview: bool = False,
    invariant: bool = False,
    document: ReleaseDocument | None = None,
) -> bytes:
    """Build the release summary PDF now (no cache), in a fixed number of queries.

    Pass the `document` the page already built to share it rather than build it twice.
    """
    document = document or build_release_document(release, visible=visible)
    summary = release_summary(document, release_trends(document, visible=visible), url=url, preview=preview)
    return pdf.release_pdf(summary, invariant=invariant)


def _key(*parts) -> str:
    return "statistics:pdf:" + hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:32]


def _generation():
    """Where the public content stands: it moves on with every committed change the public can see,
    a correction to another release included."""
    return public_version()


def release_cache_key(summary: pdf.ReleaseSummary) -> str:
    """A digest of everything the PDF shows: the same release, as the public reads it, is one file.

    So a PDF built when a release is approved is the one served the second it comes out, and a
    correction, a changed contact or a new release before it makes a new one.
    """
    return _key("release", repr(summary))


def release_pdf_file(
    release: Release, *, visible=None, url: str = "", preview: bool = False, document=None
) -> PdfFile:
    """The release's PDF from the cache, built and stored there on first use.

    `preview` marks a staff preview of a release that is not public yet.
    """
    visible = Release.objects.public() if visible is None else visible

    built: dict[str, bytes] = {}

    def kept(content: bytes) -> bytes:
        """A PDF just built: the page shows its size from now on (staff previews excepted)."""
        if not preview:
            record_sizes(release, {"pdf": len(content)})
        return content

    def digest() -> str:
        summary = release_summary(
            *_document_and_trends(release, visible=visible, document=document), url=url, preview=preview
        )
        key = release_cache_key(summary)
        built[key] = remember(key, lambda: kept(pdf.release_pdf(summary)), CACHE_SECONDS)
        return key

    # Which file this release's page shows now: kept until anything public changes, so a repeat
    # download costs the release lookup only; the file itself is kept by what it shows.
    updated = release.updated_at.isoformat() if release.updated_at else ""
    pointer = _key("release-now", release.pk, release.version, updated, url, preview, _generation())
    key = remember(pointer, digest, CACHE_SECONDS)
    content = built.get(key) or remember(
        key,
        lambda: kept(build_release_pdf(release, visible=visible, url=url, preview=preview)),
        CACHE_SECONDS,
    )
    return PdfFile(
        content=content,
        filename=f"deployment-statistics-{release.period_date:%Y-%m-%d}.pdf",
        version=key.rsplit(":", 1)[-1],
    )


def release_web_url(request, release: Release) -> str:
    """The release page's full address, printed in its PDF (and part of the cache key)."""
    return request.build_absolute_uri(release.get_absolute_url())


# ---------------------------------------------------------------------------
# Programme report: every metric over the whole archive.


def programme_web_url(programme: Programme) -> str:
    try:
        return reverse("statistics:programme-detail", args=[programme.slug])
    except NoReverseMatch:
        return ""


def programme_report(programme: Programme, *, visible, url: str = "") -> pdf.ProgrammeReport:
    """A programme's metrics across the visible releases, as plain data, in five queries."""
    metrics = list(programme.metrics.order_by("display_order", "name"))
    series = series_for(metrics, visible=visible)
    extras = {
        (metric_id, day): (as_of, note)
        for metric_id, day, as_of, note in Figure.objects.filter(metric__in=metrics, release__in=visible)
        .exclude(as_of__isnull=True, note="")
        .values_list("metric_id", "release__period_date", "as_of", "note")
    }
    days = sorted({point.day for points in series.values() for point in points})
    histories = []
    for metric in metrics:
        points = series[metric.pk]
        rows = []
        previous = None
        for point in points:
            as_of, note = extras.get((metric.pk, point.day), (None, ""))
            rows.append(
                pdf.HistoryRow(
                    period=f"w/c {_day(point.day)}",
                    value=qualified.stated(point.value, point.qualifier, kind=metric.kind),
                    change=formatting.change(point.value, previous, kind=metric.kind),
                    as_of=_day(as_of),
                    note=note,
                )
            )
            previous = point.value
        histories.append(
            pdf.MetricHistory(
                key=metric.slug,
                name=metric.name,
                definition=metric.definition,
                unit=metric.unit,
                chart=pdf.Chart(
                    title=metric.name,
                    points=tuple(points),
                    kind=metric.kind,
                    unit=metric.unit,
                    description=charts.describe(points, title=metric.name, kind=metric.kind),
                ),
                rows=tuple(reversed(rows)),  # newest first, as the archive reads
            )
        )
    span = f"w/c {_day(days[0])} to w/c {_day(days[-1])}" if days else "no releases yet"
    synthetic = visible.filter(is_synthetic=True).exists()
    return pdf.ProgrammeReport(
        name=programme.name,
        organisation=settings.NEWSROOM_ORGANISATION,
        span=span,
        releases=len(days),
        description=programme.description,
        url=url,
        metrics=tuple(histories),
        synthetic=synthetic,
        contacts=_contact_cards(MediaContact.objects.active().for_programme(programme)),
    )


def programme_cache_key(programme: Programme, *, visible, url: str = "") -> str:
    """Changes when a visible release is added, removed or saved, or the public cache's generation moves."""
    state = visible.aggregate(count=Count("pk"), latest=Max("updated_at"), versions=Sum("version"))
    archive = (state["count"], state["latest"], state["versions"])
    return _key("programme", programme.pk, programme.name, *archive, url, _generation())


def programme_pdf_file(programme: Programme, *, visible=None, url: str = "") -> PdfFile:
    """The programme report from the cache, built and stored there on first use."""
    visible = Release.objects.public() if visible is None else visible
    key = programme_cache_key(programme, visible=visible, url=url)
    content = remember(
        key, lambda: pdf.programme_pdf(programme_report(programme, visible=visible, url=url)), CACHE_SECONDS
    )
    return PdfFile(
        content=content,
        filename=f"deployment-statistics-{programme.slug}.pdf",
        version=key.rsplit(":", 1)[-1],
    )
