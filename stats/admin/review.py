"""A publisher's review: every figure old → new against the previous release, and the full history
of a release, its figures and its bullets, field by field, as people read them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.admin import readable_changes
from stats import selectors
from stats.models import Figure, Metric, Release, Statement
from stats.publishing import services
from stats.wording import formatting


@dataclass
class ChangeRow:
    programme: str
    metric: str
    previous: str
    current: str
    change: str
    unconfirmed: bool
    findings: list[str]


def release_changes(release: Release) -> dict[str, Any]:
    """Every figure old → new against the previous release, and bullets added or removed."""
    previous = release.previous(selectors.comparison_releases())
    figures = {f.metric_id: f for f in release.figures.select_related("metric__programme")}
    old = {
        f.metric_id: f for f in Figure.objects.filter(release=previous).select_related("metric__programme")
    }
    findings = services.release_findings(release)
    by_slug: dict[str, list[str]] = {}
    for finding in findings:
        by_slug.setdefault(finding.metric_slug, []).append(finding.message)
    rows = []
    for metric_id in sorted(
        figures.keys() | old.keys(),
        key=lambda m: (figures.get(m) or old.get(m)).metric.programme.display_order,
    ):
        figure, before = figures.get(metric_id), old.get(metric_id)
        metric = (figure or before).metric
        rows.append(
            ChangeRow(
                programme=metric.programme.name,
                metric=metric.name,
                previous=before.display if before else "—",
                current=figure.display if figure else "(removed)",
                change=(
                    formatting.change(figure.value, before.value, kind=metric.kind)
                    if figure and before
                    else ""
                )
                or "—",
                unconfirmed=bool(figure and not figure.is_confirmed),
                findings=by_slug.get(metric.slug, []),
            )
        )
    bullets = {(s.programme.name, s.text) for s in release.statements.select_related("programme")}
    old_bullets = {
        (s.programme.name, s.text)
        for s in Statement.objects.filter(release=previous).select_related("programme")
    }
    return {
        "previous": previous,
        "rows": rows,
        "added_bullets": sorted(bullets - old_bullets),
        "removed_bullets": sorted(old_bullets - bullets),
        "general_findings": [f for f in findings if not f.metric_slug],
        "explanations": list(release.explanations.all()),
        "corrections": list(release.corrections.all()),
    }


@dataclass
class HistoryEntry:
    when: Any
    who: Any
    what: str
    kind: str
    reason: str
    changes: list[tuple[str, str, str]]


HISTORY_SKIP = ("version", "updated_at")


def release_history(release: Release) -> list[HistoryEntry]:
    """Every recorded change to the release, its figures and its statements, newest first."""
    names = dict(Metric.objects.filter(figures__release=release).values_list("pk", "name"))
    names.update(
        Metric.objects.filter(
            pk__in=Figure.history.filter(release_id=release.pk).values("metric_id")
        ).values_list("pk", "name")
    )
    entries = []
    groups = [
        (
            "Release",
            list(release.history.order_by("history_date", "history_id").select_related("history_user")),
        ),
        (
            "Figure",
            list(
                Figure.history.filter(release_id=release.pk)
                .order_by("history_date", "history_id")
                .select_related("history_user")
            ),
        ),
        (
            "Statement",
            list(
                Statement.history.filter(release_id=release.pk)
                .order_by("history_date", "history_id")
                .select_related("history_user")
            ),
        ),
    ]
    models = {"Release": Release, "Figure": Figure, "Statement": Statement}
    for label, records in groups:
        last: dict[int, Any] = {}
        for record in records:
            before = last.get(record.id)
            if label == "Figure":
                what = f"Figure: {names.get(record.metric_id, record.metric_id)}"
            elif label == "Statement":
                what = f"Statement: {record.text[:60]}"
            else:
                what = "Release"
            entries.append(
                HistoryEntry(
                    when=record.history_date,
                    who=services.done_by(record.history_user, record.history_change_reason),
                    what=what,
                    kind=record.get_history_type_display(),
                    reason=record.history_change_reason or "",
                    changes=readable_changes(models[label], record, before, skip=HISTORY_SKIP),
                )
            )
            last[record.id] = record
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries
