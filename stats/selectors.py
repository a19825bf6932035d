"""One plain description of a release, read by the page, the PDF and the downloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from contacts.models import MediaContact, group_by_programme
from stats.models import Correction, Figure, Release, Statement
from stats.outputs.charts import Point
from stats.wording import formatting


@dataclass
class FigureRow:
    metric_slug: str
    metric_name: str
    unit: str
    kind: str
    value: Decimal
    display: str
    qualifier: str
    as_of: date | None
    note: str
    previous: Decimal | None
    change: str
    # For the page: the metric's address, and the date the figure stands at (its own, else the period's).
    metric_url: str = ""
    as_of_shown: date | None = None
    as_of_label: str = ""


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
        for kind in HEADLINE_KINDS:
            for row in self.figures:
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

    @property
    def figures(self) -> list[FigureRow]:
        return [row for section in self.sections for row in section.figures]


def build_release_document(release: Release, *, visible=None) -> ReleaseDocument:
    """Everything a release shows, in a fixed number of queries.

    `visible` is the queryset of releases the reader may see (public ones by
    default); it decides the previous release figures are compared with.
    """
    visible = Release.objects.public() if visible is None else visible
    previous, previous_values = previous_figure_values(release, among=visible)
    following = release.next(visible)
    figures = list(Figure.objects.filter(release=release).select_related("metric__programme"))
    values = {figure.metric.slug: figure.as_value() for figure in figures}
    contacts = list(MediaContact.objects.active().prefetch_related("programmes"))
    contacts_by_programme = group_by_programme(contacts)
    sections: dict[int, Section] = {}

    def section_for(programme) -> Section:
        if programme.pk not in sections:
            sections[programme.pk] = Section(
                programme.slug,
                programme.name,
                programme_url=programme.get_absolute_url(),
                order=(programme.display_order, programme.name),
                contacts=contacts_by_programme.get(programme.pk, []),
            )
        return sections[programme.pk]

    statements = Statement.objects.filter(release=release).select_related("programme")
    for statement in statements:
        section_for(statement.programme).bullets.append(statement.render(values))
    for figure in figures:
        old = previous_values.get(figure.metric_id)
        shown = figure.as_of or release.period_date
        section_for(figure.metric.programme).figures.append(
            FigureRow(
                metric_slug=figure.metric.slug,
                metric_name=figure.metric.name,
                unit=figure.metric.unit,
                kind=figure.kind,
                value=figure.value,
                display=figure.display,
                qualifier=figure.qualifier,
                as_of=figure.as_of,
                note=figure.note,
                previous=old,
                change=formatting.change(figure.value, old, kind=figure.kind),
                metric_url=figure.metric.get_absolute_url(),
                as_of_shown=shown,
                as_of_label=formatting.as_of(shown),
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
        corrections=list(release.corrections.all()),
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
        .values_list("metric_id", "release__period_date", "value")
    )
    series: dict[int, list[Point]] = {getattr(m, "pk", m): [] for m in metrics}
    for metric_id, day, value in rows:
        series[metric_id].append(Point(day, value))
    return series


def comparison_releases():
    """Releases a new one is compared with: approved or on their way to approval."""
    return Release.objects.filter(status__in=Release.COMPARABLE_STATUSES)


def previous_figure_values(release, *, among):
    """The release before `release` among the releases `among`, and its values by metric id.

    Public pages pass `Release.objects.public()`; the checks and the admin pass `comparison_releases()`.
    """
    previous = release.previous(among)
    if previous is None:
        return None, {}
    return previous, dict(Figure.objects.filter(release=previous).values_list("metric_id", "value"))


def next_publish_time() -> datetime | None:
    """When the next approved release comes out (the moment an embargo lifts), or None.

    The public cache asks this (settings.NEWSROOM_NEXT_PUBLISH_TIME) so nothing it keeps outlives it.
    """
    return Release.objects.upcoming().values_list("publish_at", flat=True).first()
