"""One plain description of a release, read by the page, the PDF and the downloads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from contacts import phones
from contacts.models import MediaContact, group_by_programme
from stats.designations import StatisticsStatus
from stats.models import (
    Correction,
    Figure,
    PreReleaseAccess,
    PreReleaseBreach,
    PreReleaseGrant,
    Release,
    Statement,
)
from stats.outputs.charts import Point
from stats.wording import formatting, qualified, ukclock


@dataclass
class FigureRow:
    metric_slug: str
    metric_name: str
    unit: str
    kind: str
    value: Decimal
    # As every public page and file states it: exact, or a bound in its words ("over 20 million").
    display: str
    qualifier: str
    as_of: date | None
    note: str
    previous: Decimal | None
    change: str
    # For the page: the metric's address, and the figure's own "as of" date as the CSV gives it
    # (empty when the figure stands at the reporting period, as the CSV's empty as_of says).
    metric_url: str = ""
    as_of_label: str = ""
    previous_qualifier: str = ""
    # The public corrections that changed this figure's value, oldest first (each links its notice).
    revisions: list[Correction] = field(default_factory=list)
    # Why the figure moved since the previous release, as the release explained it when it came out
    # (an explanation, written before publication; never a correction).
    explanation: str = ""

    @property
    def previous_display(self) -> str:
        """The previous release's figure as stated there, or ""."""
        if self.previous is None:
            return ""
        return qualified.stated(self.previous, self.previous_qualifier, kind=self.kind)


# A programme's headline figure: its first figure of the first of these kinds it has (totals first).
HEADLINE_KINDS = (
    formatting.TOTAL,
    formatting.PERIOD,
    formatting.LEVEL,
    formatting.RECORD,
    formatting.PERCENT,
    formatting.AMOUNT,
)


@dataclass
class Section:
    programme_slug: str
    programme_name: str
    programme_url: str = ""
    order: tuple = ()
    bullets: list[str] = field(default_factory=list)
    figures: list[FigureRow] = field(default_factory=list)
    # Active media contacts covering the programme, in listing order.
    contacts: list[MediaContact] = field(default_factory=list)

    @property
    def headline(self) -> FigureRow | None:
        """The programme's headline figure: on the home page, and charted in the release PDF."""
        return headline_of(self.figures)


def headline_of(rows):
    """The first of `rows` (in the programme's order) of the first kind in HEADLINE_KINDS, or None."""
    for kind in HEADLINE_KINDS:
        for row in rows:
            if row.kind == kind:
                return row
    return None


@dataclass
class ReleaseDocument:
    release: Release
    heading: str
    period_date: date
    publish_at: datetime | None
    sections: list[Section]
    notes: list[str]
    corrections: list[Correction]
    contacts: list[MediaContact]
    previous: Release | None
    next: Release | None

    @cached_property
    def pre_release(self) -> PublicRecord:
        """Who had pre-release access, once the release is public (empty before); read when shown."""
        return public_record(self.release)

    @property
    def late_note(self) -> str:
        """When the release's email alerts went out, if it was marked published late (the task
        worker stopped, say): "its email alerts went out from 09:31:12 GMT: 72 seconds late"; ""
        otherwise. It was public from its time all the same."""
        release = self.release
        if not release.marked_late_by:
            return ""
        went_out = ukclock.late_label(release.publish_at, release.published_at)
        return f"its email alerts went out from {went_out}"

    @property
    def figures(self) -> list[FigureRow]:
        return [row for section in self.sections for row in section.figures]

    @property
    def explained(self) -> list[FigureRow]:
        """The figures whose movement since the previous release the release explains, in order."""
        return [row for row in self.figures if row.explanation]

    @property
    def statistics_status(self) -> StatisticsStatus:
        """The statistics' status (accredited, official, in development, management information)."""
        return self.release.statistics_status

    @cached_property
    def lead_statistician(self) -> LeadStatistician | None:
        return lead_statistician_of(self.release)


@dataclass(frozen=True)
class LeadStatistician:
    """The statistician responsible for a release, as its page, PDF and API name them."""

    name: str
    email: str
    phone: phones.Dial | None  # the tel: link and the number as the page prints it
    phone_international: str  # "+44 20 7946 0000", for the API and address books

    @property
    def in_words(self) -> str:
        """ "Name, email, phone", as the PDF and the zip's README print it."""
        return ", ".join(filter(None, [self.name, self.email, self.phone.text if self.phone else ""]))


def lead_statistician_of(release: Release) -> LeadStatistician | None:
    """The release's named lead statistician, or None for a release that names nobody."""
    if not release.statistician_name:
        return None
    dial = phones.dial(release.statistician_phone)
    return LeadStatistician(
        name=release.statistician_name,
        email=release.statistician_email,
        phone=dial,
        phone_international=phones.international(release.statistician_phone) if dial else "",
    )


FIGURE_FIELDS = (
    "pk",
    "metric__slug",
    "metric__name",
    "metric__unit",
    "metric_id",
    "value",
    "kind",
    "qualifier",
    "as_of",
    "note",
    "explanation__reason",
)
F_SLUG, F_VALUE, F_KIND, F_QUALIFIER, F_AS_OF = (
    FIGURE_FIELDS.index(f) for f in ("metric__slug", "value", "kind", "qualifier", "as_of")
)
PROGRAMME_FIELDS = ("id", "slug", "name", "display_order")
PROGRAMME_FIELDS_OF_METRIC = tuple(f"metric__programme__{field}" for field in PROGRAMME_FIELDS)
SLUG_MARK = "slug-mark"


def figure_row(
    *, slug, name, unit, url, kind, value, qualifier, as_of, note, previous, revisions=(), explanation=""
) -> FigureRow:
    """One figure as every output reads it; `previous` is the previous release's (value, qualifier)."""
    old, old_qualifier = previous
    return FigureRow(
        metric_slug=slug,
        metric_name=name,
        unit=unit,
        kind=kind,
        value=value,
        display=qualified.stated(value, qualifier, kind=kind),
        qualifier=qualifier,
        as_of=as_of,
        note=note,
        previous=old,
        change=formatting.change(value, old, kind=kind),
        metric_url=url,
        as_of_label=formatting.as_of(as_of),
        previous_qualifier=old_qualifier,
        revisions=list(revisions),
        explanation=explanation or "",
    )


def build_release_document(release: Release, *, visible=None) -> ReleaseDocument:
    """Everything a release shows, in a fixed number of queries.

    `visible` is the queryset of releases the reader may see (public ones by
    default); it decides the previous release figures are compared with.
    """
    visible = Release.objects.public() if visible is None else visible
    previous, following = neighbours(release, among=visible)
    previous_figures = _figures_of(previous)
    # Plain rows, no model instances: the figures with their measure and programme, the bullets.
    figures = list(
        Figure.objects.filter(release=release).values_list(*FIGURE_FIELDS, *PROGRAMME_FIELDS_OF_METRIC)
    )
    values = {
        row[F_SLUG]: formatting.FigureValue(
            value=row[F_VALUE], kind=row[F_KIND], qualifier=row[F_QUALIFIER], as_of=row[F_AS_OF]
        )
        for row in figures
    }
    contacts = list(MediaContact.objects.active())
    contacts_by_programme = group_by_programme(contacts)
    # Each address reversed once a page, the slug put in after.
    metric_url = reverse("statistics:metric-detail", args=[SLUG_MARK]).replace(SLUG_MARK, "{}")
    programme_url = reverse("statistics:programme-detail", args=[SLUG_MARK]).replace(SLUG_MARK, "{}")
    sections: dict[int, Section] = {}

    def section_for(pk: int, slug: str, name: str, display_order: int) -> Section:
        if pk not in sections:
            sections[pk] = Section(
                slug,
                name,
                programme_url=programme_url.format(slug),
                order=(display_order, name),
                contacts=contacts_by_programme.get(pk, []),
            )
        return sections[pk]

    statements = Statement.objects.filter(release=release).values_list(
        "text", *(f"programme__{field}" for field in PROGRAMME_FIELDS)
    )
    for text, *programme in statements:
        section_for(*programme).bullets.append(formatting.render_statement(text, values))
    corrections = list(release.corrections.all())
    revisions: dict[int, list[Correction]] = {}
    for correction in sorted(corrections, key=lambda c: c.created_at):
        if correction.figure_id:
            revisions.setdefault(correction.figure_id, []).append(correction)
    for row in figures:
        pk, slug, name, unit, metric_id, value, kind, qualifier, as_of, note, explanation = row[
            : len(FIGURE_FIELDS)
        ]
        section_for(*row[len(FIGURE_FIELDS) :]).figures.append(
            figure_row(
                slug=slug,
                name=name,
                unit=unit,
                url=metric_url.format(slug),
                kind=kind,
                value=value,
                qualifier=qualifier,
                as_of=as_of,
                note=note,
                previous=previous_figures.get(metric_id, (None, "")),
                revisions=revisions.get(pk, []),
                explanation=explanation,
            )
        )
    ordered = sorted(sections.values(), key=lambda section: section.order)
    return ReleaseDocument(
        release=release,
        heading=release.heading,
        period_date=release.period_date,
        publish_at=release.publish_at,
        sections=ordered,
        notes=release.paragraphs(),
        corrections=corrections,
        contacts=contacts,
        previous=previous,
        next=following,
    )


def series_for(metrics, *, visible=None, last: int | None = None) -> dict[int, list[Point]]:
    """Each metric's values across the visible releases, oldest first, in one query.

    With `last`, only the most recent `last` visible releases are used.
    """
    visible = Release.objects.public() if visible is None else visible
    releases = visible.order_by("-period_date").values("pk")
    if last is not None:
        releases = releases[:last]
    rows = (
        Figure.objects.filter(metric__in=metrics, release__in=releases)
        .order_by("release__period_date")
        .values_list("metric_id", "release__period_date", "value", "qualifier")
    )
    series: dict[int, list[Point]] = {getattr(m, "pk", m): [] for m in metrics}
    for metric_id, day, value, qualifier in rows:
        series[metric_id].append(Point(day, value, qualifier))
    return series


@dataclass(frozen=True)
class HeadlineTrend:
    """A programme's headline measure over the releases up to one release (as the release PDF charts it)."""

    programme_name: str
    metric_name: str
    kind: str
    points: list[Point]


def headline_trends(window: list[Release], *, last: int) -> dict[int, list[HeadlineTrend]]:
    """For each release of `window` (public releases, newest first, consecutive), its programmes'
    headline measures over the last `last` releases up to it, by release pk; one query.

    Releases near the old end of the window see fewer than `last` releases: pass `last - 1`
    more releases than you need trends for.
    """
    figures = list(
        Figure.objects.filter(release__in=[release.pk for release in window]).select_related(
            "metric__programme"
        )
    )
    by_release: dict[int, list[Figure]] = {}
    for figure in figures:
        by_release.setdefault(figure.release_id, []).append(figure)
    values = {(figure.release_id, figure.metric_id): figure for figure in figures}
    trends: dict[int, list[HeadlineTrend]] = {}
    for index, release in enumerate(window):
        span = list(reversed(window[index : index + last]))  # oldest first, up to this release
        programmes: dict[int, list[Figure]] = {}
        for figure in by_release.get(release.pk, []):
            programmes.setdefault(figure.metric.programme_id, []).append(figure)
        found = []
        for rows in sorted(programmes.values(), key=lambda rows: _programme_order(rows[0].metric.programme)):
            headline = headline_of(rows)
            points = [
                Point(other.period_date, figure.value, figure.qualifier)
                for other in span
                if (figure := values.get((other.pk, headline.metric_id)))
            ]
            found.append(
                HeadlineTrend(headline.metric.programme.name, headline.metric.name, headline.kind, points)
            )
        trends[release.pk] = found
    return trends


def _programme_order(programme) -> tuple:
    return (programme.display_order, programme.name)


def comparison_releases():
    """Releases a new one is compared with: approved or on their way to approval."""
    return Release.objects.filter(status__in=Release.COMPARABLE_STATUSES)


def previous_figure_values(release, *, among):
    """The release before `release` among the releases `among`, and its values by metric id.

    Public pages pass `Release.objects.public()`; the checks and the admin pass `comparison_releases()`.
    """
    previous = release.previous(among)
    return previous, {metric_id: value for metric_id, (value, _) in _figures_of(previous).items()}


def neighbours(release, *, among) -> tuple[Release | None, Release | None]:
    """The releases either side of `release` among `among`, in one query."""
    before = among.filter(period_date__lt=release.period_date).order_by("-period_date").values("pk")[:1]
    after = among.filter(period_date__gt=release.period_date).order_by("period_date").values("pk")[:1]
    found = list(Release.objects.filter(Q(pk=Subquery(before)) | Q(pk=Subquery(after))))
    previous = next((r for r in found if r.period_date < release.period_date), None)
    following = next((r for r in found if r.period_date > release.period_date), None)
    return previous, following


def _figures_of(release) -> dict:
    """A release's figures as (value, qualifier) by metric id; {} for no release."""
    if release is None:
        return {}
    rows = Figure.objects.filter(release=release).values_list("metric_id", "value", "qualifier")
    return {metric_id: (value, qualifier) for metric_id, value, qualifier in rows}


def next_publish_time() -> datetime | None:
    """When the next approved release comes out (the moment an embargo lifts), or None.

    The public cache asks this (settings.NEWSROOM_NEXT_PUBLISH_TIME) so nothing it keeps outlives it.
    """
    return Release.objects.upcoming().values_list("publish_at", flat=True).first()


# --- The public record -------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    job_title: str
    organisation: str


@dataclass(frozen=True)
class PublicRecord:
    """Who had pre-release access to a public release, generated from the ledger."""

    used: tuple[Holder, ...] = ()  # granted and opened their link
    unused: tuple[Holder, ...] = ()  # granted, never opened, not revoked
    breaches: tuple[PreReleaseBreach, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.used or self.unused or self.breaches)

    @property
    def hours(self) -> int:
        return int(getattr(settings, "PRE_RELEASE_HOURS", 24))

    def as_data(self) -> dict:
        def holders(rows):
            return [{"job_title": h.job_title, "organisation": h.organisation} for h in rows]

        return {
            "hours_before_publication": self.hours,
            "used": holders(self.used),
            "granted_not_used": holders(self.unused),
            "breaches": [
                {"recorded_at": b.recorded_at.isoformat(), "explanation": b.explanation}
                for b in self.breaches
            ],
        }


def public_record(release: Release, *, now: dt.datetime | None = None) -> PublicRecord:
    """The release's pre-release access as published: nothing at all before its publish time.

    A grant revoked before its holder opened the link gave no access and is not listed. One query
    when there is nothing to list (most releases); then the grants and the breaches, if any.
    """
    now = now or timezone.now()
    if release.publish_at is None or release.publish_at > now:
        return PublicRecord()
    granted, breached = (
        Release.objects.filter(pk=release.pk)
        .annotate(
            granted=Exists(PreReleaseGrant.objects.filter(release=OuterRef("pk"))),
            breached=Exists(PreReleaseBreach.objects.filter(release=OuterRef("pk"))),
        )
        .values_list("granted", "breached")
        .get()
    )
    used, unused = [], []
    if granted:
        opened = PreReleaseAccess.objects.filter(
            grant=OuterRef("pk"), outcome=PreReleaseAccess.Outcome.OPENED
        )
        grants = (
            PreReleaseGrant.objects.filter(release=release)
            .annotate(opened=Exists(opened))
            .values_list("job_title", "organisation", "revoked_at", "opened")
        )
        for title, organisation, revoked_at, was_opened in grants:
            if was_opened:
                used.append(Holder(title, organisation))
            elif revoked_at is None:
                unused.append(Holder(title, organisation))
    breaches = tuple(PreReleaseBreach.objects.filter(release=release)) if breached else ()
    return PublicRecord(tuple(used), tuple(unused), breaches)
