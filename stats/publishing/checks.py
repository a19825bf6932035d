"""Integrity checks run before a release is submitted, approved or imported into.

`check_figures` takes plain values (no database), so imports and the
publishing workflow apply exactly the same rules; `check_release` gathers a
saved release's values and adds the statement checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings

from stats.selectors import comparison_releases, previous_figure_values
from stats.wording import formatting, qualified, ukclock

ERROR = "error"
WARNING = "warning"


# What is checked before a release goes for review, is approved or published, and by imports:
# shown on each confirmation page, with what each check found.
CHECKS = {
    "unconfirmed": "Every figure copied from the previous release has been updated or confirmed.",
    "summary": "The release has a summary for the archive, feed and search results.",
    "placeholders": "Every bullet’s placeholders name a figure in this release.",
    "range": "No figure is negative, and percentages are between 0 and 100.",
    "as_of": "No “as of” date is after the release period, or left from before the previous release.",
    "qualifier": "A qualifier’s words (“almost 520,000”) fit the figure they word.",
    "falls": "Totals to date and best-ever records do not fall, unless an explanation says why.",
    "jumps": "Changes of more than {threshold}% since the previous release are checked by a person.",
    "timing": "The publish time is close to the release period (within {days} days).",
    "status": "The statistics’ status is the previous release’s, or its change is checked by a person.",
}
TIMING_DAYS = 31


@dataclass(frozen=True)
class Finding:
    level: str  # ERROR stops the release; WARNING must be acknowledged
    message: str
    metric_slug: str = ""
    check: str = ""  # a key of CHECKS

    @property
    def is_error(self) -> bool:
        return self.level == ERROR


@dataclass(frozen=True)
class CheckResult:
    description: str
    errors: int
    warnings: int


def check_list(findings: Iterable[Finding]) -> list[CheckResult]:
    """Each check with how many errors and warnings it found, in the order people read them."""
    findings = list(findings)
    threshold = formatting.grouped(change_threshold() * 100)
    return [
        CheckResult(
            description.format(threshold=threshold, days=TIMING_DAYS),
            sum(1 for f in findings if f.check == key and f.is_error),
            sum(1 for f in findings if f.check == key and not f.is_error),
        )
        for key, description in CHECKS.items()
    ]


@dataclass(frozen=True)
class ProposedFigure:
    slug: str
    name: str
    kind: str
    value: Decimal
    as_of: date | None = None
    explained: bool = False  # an explanation explains a fall
    qualifier: str = ""

    @classmethod
    def of(cls, figure, *, explained: bool = False) -> ProposedFigure:
        """From a saved figure (its metric, value, as-of date and qualifier)."""
        m = figure.metric
        return cls(
            slug=m.slug,
            name=m.name,
            kind=m.kind,
            value=figure.value,
            as_of=figure.as_of,
            explained=explained,
            qualifier=figure.qualifier,
        )


def change_threshold() -> Decimal:
    return Decimal(str(settings.NEWSROOM_CHANGE_WARNING_THRESHOLD))


def check_figures(
    figures: Iterable[ProposedFigure],
    previous: dict[str, Decimal],
    *,
    period_date: date,
    previous_period: date | None = None,
    threshold: Decimal | None = None,
) -> list[Finding]:
    """Findings for figures against the previous release's values (keyed by metric slug), whose
    period was `previous_period`."""
    threshold = change_threshold() if threshold is None else threshold
    findings = []
    for figure in figures:
        value, name = Decimal(figure.value), figure.name
        shown = formatting.exact(value, kind=figure.kind)
        if value < 0:
            findings.append(
                Finding(ERROR, f"{name}: {shown} is negative; counts cannot be.", figure.slug, "range")
            )
            continue
        if figure.kind == formatting.PERCENT and value > 100:
            findings.append(
                Finding(ERROR, f"{name}: {shown} is not a percentage (0 to 100).", figure.slug, "range")
            )
            continue
        if figure.as_of and figure.as_of > period_date:
            findings.append(
                Finding(
                    ERROR,
                    f"{name}: the “as of” date {formatting.as_of(figure.as_of)} is after the "
                    f"release period ({formatting.as_of(period_date)}).",
                    figure.slug,
                    "as_of",
                )
            )
        wording = qualified.misfit(value, figure.qualifier, kind=figure.kind)
        if wording:
            findings.append(Finding(ERROR, f"{name}: {wording}", figure.slug, "qualifier"))
        old = previous.get(figure.slug)
        if old is None:
            continue
        old = Decimal(old)
        stale = _stale_as_of(figure, old, previous_period)
        if stale:
            findings.append(stale)
        if figure.kind in (formatting.TOTAL, formatting.RECORD) and value < old and not figure.explained:
            what = "total to date" if figure.kind == formatting.TOTAL else "best-ever record"
            findings.append(
                Finding(
                    ERROR,
                    f"{name}: {shown} is lower than last release’s "
                    f"{formatting.exact(old, kind=figure.kind)}, but a {what} cannot fall. "
                    "Check the figure. If it is right, explain the fall: in an import, write it in the "
                    "“Explanation” box; on the release page, use “Explain a fall or jump”. The "
                    "explanation is published beside the figure.",
                    figure.slug,
                    "falls",
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
                    "jumps",
                )
            )
    return findings


def _stale_as_of(figure: ProposedFigure, old: Decimal, previous_period: date | None) -> Finding | None:
    """A changed figure still "as of" a day before the previous release's period: a date carried from
    an earlier week, which cannot be this figure's. (An unchanged figure may stand at its day still.)"""
    if figure.as_of is None or previous_period is None or figure.as_of >= previous_period:
        return None
    if Decimal(figure.value) == old:
        return None
    day, before = formatting.as_of(figure.as_of), formatting.as_of(previous_period)
    return Finding(
        ERROR,
        f"{figure.name}: the figure changed, but it still says “as of {day}”, a day before the "
        f"previous release’s period ({before}), so the date was carried from an earlier week. Clear "
        "the “as of” date if the figure stands at this release’s period, or give the day it is for.",
        figure.slug,
        "as_of",
    )


def check_release(release, *, explained: Iterable[str] = ()) -> list[Finding]:
    """All findings for a saved release, compared with the release before it.

    `explained` names metric slugs whose fall an explanation explains.
    """
    from stats.models import Metric

    explained = set(explained)
    figures = list(release.figures.select_related("metric"))
    previous, before = previous_figure_values(release, among=comparison_releases())
    findings = check_figures(
        [ProposedFigure.of(f, explained=f.metric.slug in explained) for f in figures],
        {f.metric.slug: before[f.metric_id] for f in figures if f.metric_id in before},
        period_date=release.period_date,
        previous_period=previous.period_date if previous is not None else None,
    )
    unconfirmed = [f.metric.name for f in figures if not f.is_confirmed]
    if unconfirmed:
        count = len(unconfirmed)
        findings.insert(
            0,
            Finding(
                ERROR,
                f"{count} figure{'s are' if count != 1 else ' is'} copied from the previous release and "
                f"not yet updated: change the value or confirm it ({', '.join(unconfirmed)}).",
                check="unconfirmed",
            ),
        )
    if not release.summary.strip():
        findings.append(
            Finding(
                ERROR,
                "The release has no summary: write one or two sentences for the archive, feed and "
                "search results.",
                check="summary",
            )
        )
    if previous is not None and previous.designation != release.designation:
        findings.append(
            Finding(
                WARNING,
                f"The statistics’ status is {release.get_designation_display().lower()}, but the "
                f"previous release (w/c {previous.period_label}) was "
                f"{previous.get_designation_display().lower()}. Check the change is right.",
                check="status",
            )
        )
    values = {f.metric.slug: f.as_value() for f in figures}
    statements = list(release.statements.select_related("programme"))
    slugs = {p.slug for s in statements for p in formatting.placeholders(s.text)}
    known = set(Metric.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    for statement in statements:
        for problem in formatting.problems(statement.text, values, known):
            findings.append(
                Finding(
                    ERROR,
                    f"{statement.programme.name} bullet {statement.order}: {problem}",
                    check="placeholders",
                )
            )
    return findings


def check_timing(period_date: date, publish_at: datetime | None) -> list[Finding]:
    """A warning when the publish time is far from the release period (a mistyped year, say)."""
    if publish_at is None:
        return []
    day = publish_at.astimezone(ukclock.UK).date()
    period = f"w/c {period_date.day} {period_date:%B %Y}"
    when = f"{day.day} {day:%B %Y}"
    if day < period_date:
        message = f"It would come out on {when}, before its period ({period}) has begun."
    elif (day - period_date).days > TIMING_DAYS:
        gap = (day - period_date).days
        span = f"{gap // 365} year{'s' if gap // 365 != 1 else ''}" if gap >= 365 else f"{gap} days"
        message = f"It is for {period} but would come out on {when}, {span} later."
    else:
        return []
    return [Finding(WARNING, f"{message} Check the period and the publish time.", check="timing")]
