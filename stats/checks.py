"""Integrity checks run before a release is submitted, approved or imported into.

`check_figures` takes plain values (no database), so imports and the
publishing workflow apply exactly the same rules; `check_release` gathers a
saved release's values and adds the statement checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings

from . import formatting

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    level: str  # ERROR stops the release; WARNING must be acknowledged
    message: str
    metric_slug: str = ""

    @property
    def is_error(self) -> bool:
        return self.level == ERROR


@dataclass(frozen=True)
class ProposedFigure:
    slug: str
    name: str
    kind: str
    value: Decimal
    as_of: date | None = None
    explained: bool = False  # a correction note explains a fall


def change_threshold() -> Decimal:
    return Decimal(str(settings.NEWSROOM_CHANGE_WARNING_THRESHOLD))


def check_figures(
    figures: Iterable[ProposedFigure],
    previous: dict[str, Decimal],
    *,
    period_date: date,
    threshold: Decimal | None = None,
) -> list[Finding]:
    """Findings for figures against the previous release's values (keyed by metric slug)."""
    threshold = change_threshold() if threshold is None else threshold
    findings = []
    for figure in figures:
        value, name = Decimal(figure.value), figure.name
        shown = formatting.exact(value, kind=figure.kind)
        if value < 0:
            findings.append(Finding(ERROR, f"{name}: {shown} is negative; counts cannot be.", figure.slug))
            continue
        if figure.kind == formatting.PERCENT and value > 100:
            findings.append(Finding(ERROR, f"{name}: {shown} is not a percentage (0 to 100).", figure.slug))
            continue
        if figure.as_of and figure.as_of > period_date:
            findings.append(
                Finding(
                    ERROR,
                    f"{name}: the “as of” date {formatting.as_of(figure.as_of)} is after the "
                    f"release period ({formatting.as_of(period_date)}).",
                    figure.slug,
                )
            )
        old = previous.get(figure.slug)
        if old is None:
            continue
        old = Decimal(old)
        if figure.kind in (formatting.TOTAL, formatting.RECORD) and value < old and not figure.explained:
            what = "total to date" if figure.kind == formatting.TOTAL else "best-ever record"
            findings.append(
                Finding(
                    ERROR,
                    f"{name}: {shown} is lower than last release’s "
                    f"{formatting.exact(old, kind=figure.kind)}, but a {what} cannot fall. "
                    "Check the figure, or add a correction note explaining why.",
                    figure.slug,
                )
            )
        elif old and abs(value - old) / old > threshold:
            findings.append(
                Finding(
                    WARNING,
                    f"{name}: changed by {formatting.change(value, old, kind=figure.kind)} since "
                    f"last release (from {formatting.exact(old, kind=figure.kind)} to {shown}), "
                    f"more than {formatting.grouped(threshold * 100)}%. Confirm it is right.",
                    figure.slug,
                )
            )
    return findings


def comparison_releases():
    """Releases a new one is compared with: approved or on their way to approval."""
    from .models import Release

    Status = Release.Status
    return Release.objects.filter(status__in=(Status.IN_REVIEW, Status.SCHEDULED, Status.PUBLISHED))


def check_release(release, *, explained: Iterable[str] = ()) -> list[Finding]:
    """All findings for a saved release, compared with the release before it.

    `explained` names metric slugs whose fall a correction note explains.
    """
    from .models import Figure, Metric

    explained = set(explained)
    previous_release = release.previous(comparison_releases())
    figures = list(release.figures.select_related("metric"))
    previous = (
        dict(Figure.objects.filter(release=previous_release).values_list("metric__slug", "value"))
        if previous_release
        else {}
    )
    findings = check_figures(
        [
            ProposedFigure(
                slug=f.metric.slug,
                name=f.metric.name,
                kind=f.metric.kind,
                value=f.value,
                as_of=f.as_of,
                explained=f.metric.slug in explained,
            )
            for f in figures
        ],
        previous,
        period_date=release.period_date,
    )
    values = {f.metric.slug: f.as_value() for f in figures}
    statements = list(release.statements.select_related("programme"))
    slugs = {p.slug for s in statements for p in formatting.placeholders(s.text)}
    known = set(Metric.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    for statement in statements:
        for problem in formatting.problems(statement.text, values, known):
            findings.append(Finding(ERROR, f"{statement.programme.name} bullet {statement.order}: {problem}"))
    return findings
