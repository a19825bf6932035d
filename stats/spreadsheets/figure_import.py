"""The figure import as a plain service: read a file of figures into a plan, show it, apply it.

`plan_figures` reads every row once with the figure resource's widgets, checks the whole file
(each cell, duplicates, the release's state and the importer's role, corrections, the publishing
checks) and returns a plan: the problems, or every change old → new. `apply_figures` writes a plan
in one transaction, with history through django-simple-history, and records what goes with it
(corrections, notes, the release's new version). A confirmation re-reads the held file and applies
it only if the plan is the one previewed (`FigurePlan.digest`).
"""

from __future__ import annotations

import bisect
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import tablib
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from common.resources import Problem, normalise_header, sheet_row
from common.spreadsheets import ImportRefused  # noqa: F401  (callers catch it from here)
from stats.models import Correction, Explanation, Figure, Metric, Release
from stats.publishing import public, services, signals, tasks, workflow
from stats.publishing.checks import ERROR, ProposedFigure, check_figures
from stats.publishing.tasks import announce
from stats.spreadsheets.resources import FigureResource, needs_correction
from stats.wording import formatting

FIELDS_WRITTEN = ["value", "as_of", "qualifier", "note", "kind", "is_confirmed"]
BATCH = 2000


@dataclass(frozen=True)
class Snapshot:
    """A figure as it was before the import (the import edits the model instance itself)."""

    pk: int
    value: Decimal
    as_of: date | None
    qualifier: str
    note: str
    is_confirmed: bool = True

    @classmethod
    def of(cls, figure: Figure | None) -> Snapshot | None:
        if figure is None:
            return None
        return cls(figure.pk, figure.value, figure.as_of, figure.qualifier, figure.note, figure.is_confirmed)


@dataclass
class Change:
    """One row of a figure import: what the figure was and what it becomes."""

    row: int
    release: Release
    metric: Metric
    value: Decimal
    as_of: date | None
    qualifier: str | None
    note: str | None
    old: Snapshot | None = None
    previous: Decimal | None = None  # the value in the release before this one
    warnings: list[str] = field(default_factory=list)
    needs_explanation: bool = False  # a fall the import's explanation explains

    @property
    def action(self) -> str:
        if self.old is None:
            return "new"
        if self.changes_anything:
            return "changed"
        return "confirmed" if self.confirms else "unchanged"

    @property
    def confirms(self) -> bool:
        """The supplier re-sent a copied figure unchanged: the import confirms it is still right."""
        return self.old is not None and not self.old.is_confirmed and not self.changes_anything

    @property
    def writes(self) -> bool:
        return self.changes_anything or self.confirms

    @property
    def changes_anything(self) -> bool:
        old = self.old
        return (
            old is None
            or old.value != self.value
            or old.as_of != self.as_of
            or (self.qualifier is not None and old.qualifier != self.qualifier)
            or (self.note is not None and old.note != self.note)
        )

    @property
    def proposed(self) -> ProposedFigure:
        """The figure as it would be, for the publishing checks (an empty qualifier keeps the old)."""
        qualifier = self.qualifier if self.qualifier is not None else (self.old.qualifier if self.old else "")
        m = self.metric
        return ProposedFigure(
            slug=m.slug, name=m.name, kind=m.kind, value=self.value, as_of=self.as_of, qualifier=qualifier
        )

    def history_reason(self, reason: str) -> str:
        """What the import did to this figure, for its history: its own change, and the import's
        explanation or correction reason only where it applies to it."""
        if self.action == "confirmed":
            text = "Imported: confirmed unchanged"
        elif self.old is None:
            text = f"Imported: new, {self.now}"
        elif self.old.value != self.value:
            text = f"Imported: {self.was} → {self.now}"
        else:
            text = "Imported: date, qualifier or note changed"
        reason = (reason or "").strip()
        if reason and needs_correction(self.release) and self.changes_anything:
            return f"Corrected: {reason}"[:100]  # as a correction made on the release page reads
        if reason and self.needs_explanation:
            text += f"; fall explained: {reason}"
        return text[:100]

    @property
    def was(self) -> str:
        return formatting.exact(self.old.value, kind=self.metric.kind) if self.old else "—"

    @property
    def now(self) -> str:
        return formatting.exact(self.value, kind=self.metric.kind)

    @property
    def last_release(self) -> str:
        return formatting.exact(self.previous, kind=self.metric.kind) if self.previous is not None else "—"

    @property
    def difference(self) -> str:
        if self.old is None or self.old.value == self.value:
            return ""
        return formatting.change(self.value, self.old.value, kind=self.metric.kind)


def _empty(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _repeated_row(release: Release | None, metric: Metric | None, line: int, seen: dict) -> list[str]:
    """The message for a release and metric an earlier row already gives; `seen` remembers each
    pair's first row."""
    if release is None or metric is None:
        return []
    key = (release.pk, metric.pk)
    if key in seen:
        return [
            f"Row {line}: {metric.slug} for {release.period_label} is already given in row "
            f"{seen[key]}. Keep one of the two rows."
        ]
    seen[key] = line
    return []


class FigureChecker(FigureResource):
    """Reads a file of figures with the resource's widgets and checks it whole; keeps the changes."""

    def __init__(self, *, release: Release | None = None, reason: str = "", user=None, **kwargs):
        super().__init__(release=release, **kwargs)
        self.reason = (reason or "").strip()
        self.user = user
        self.releases_in_file: list[Release] = []
        self.existing: dict[tuple[int, int], Figure] = {}
        self.changes: list[Change] = []
        self.warnings: list[str] = []
        self.not_sent: list[int] = []  # rows left without a value: their figures stay as they are
        self.previous_periods: dict[int, date] = {}
        self._refusals: dict[int, str] = {}

    def check_headers(self, dataset) -> list[Problem]:
        headers = [normalise_header(h) for h in (dataset.headers or [])]
        dataset.headers = headers
        known = self.known_columns()
        if self.release is not None and "period" not in headers and set(headers) & set(known):
            dataset.append_col([self.release.period_date] * len(dataset), header="period")
        return super().check_headers(dataset)

    def check_rows(self, dataset, **kwargs) -> list[Problem]:
        problems: list[Problem] = []
        changes: list[Change] = []
        seen: dict[tuple[int, int], int] = {}
        cols = dataset.headers
        for number, values in enumerate(dataset, 1):
            row = dict(zip(cols, values, strict=False))
            line = sheet_row(number)
            left_out = self._left_out(row, line)
            if left_out is not None:
                problems.extend(Problem(message) for message in left_out)
                continue
            release, metric, parsed, found = self._read_row(row, number)
            found.extend(self._release_problems(release, line))
            found.extend(_repeated_row(release, metric, line, seen))
            if found:
                problems.extend(Problem(message) for message in found)
                continue
            changes.append(
                Change(
                    row=line,
                    release=release,
                    metric=metric,
                    value=parsed["value"],
                    as_of=parsed["as_of"],
                    qualifier=parsed["qualifier"],
                    note=parsed["note"],
                )
            )
        if problems:
            return problems
        self._compare_with_existing(changes, cols)
        problems.extend(self.check_corrections(changes))
        problems.extend(self.check_integrity(changes))
        self.changes = changes
        return problems

    def _left_out(self, row: dict, line: int) -> list[str] | None:
        """A row whose value cell is empty is one the supplier did not send: the figure stays as it is
        (None: the row is read as usual). Empty, but with an as-of date, qualifier or note: refused."""
        if "value" not in row or not _empty(row["value"]):
            return None
        given = [name for name in ("as_of", "qualifier", "note") if name in row and not _empty(row[name])]
        if not given:
            self.not_sent.append(line)
            return []
        return [
            f"Row {line}, column “value”: empty, but {', '.join(f'“{name}”' for name in given)} "
            f"{'is' if len(given) == 1 else 'are'} given. Give the value too, or leave the row’s value, "
            "as_of, qualifier and note all empty to keep the figure as it is."
        ]

    def _read_row(self, row: dict, number: int):
        """The row's release, metric and other cells as the widgets read them, and the messages for the
        cells they could not read."""
        fields = self.fields
        found = []
        release = metric = None
        try:
            release = self.release_of_row(row, row_number=number)
        except ValueError as error:
            found.append(str(error))
        try:
            metric = fields["metric_slug"].clean(row, row_number=number)
        except ValueError as error:
            found.append(str(error))
        parsed = {}
        for name in ("value", "as_of", "qualifier", "note"):
            if name not in row:
                parsed[name] = None
                continue
            if name == "value" and metric is None:
                continue  # cannot read the number without knowing what it counts
            try:
                parsed[name] = fields[name].clean(row, row_number=number)
            except ValueError as error:
                found.append(str(error))
        return release, metric, parsed, found

    def _release_problems(self, release: Release | None, line: int) -> list[str]:
        """Why the row may not change its release: another release's period than this one's, or the
        release's state and the importer's role."""
        found = []
        if release is not None and self.release is not None and release.pk != self.release.pk:
            found.append(
                f"Row {line}, column “period”: {release.period_date.isoformat()} is not this release’s "
                f"period ({self.release.period_date.isoformat()}). Import it from that release’s page."
            )
        refused = self.refusal_for(release) if release is not None else ""
        if refused:
            found.append(f"Row {line}, column “period”: {refused}")
        return found

    def _compare_with_existing(self, changes: list[Change], cols) -> None:
        """Give each change the figure it replaces (a file without as_of keeps each figure's as_of)."""
        self.releases_in_file = sorted({c.release for c in changes}, key=lambda r: r.period_date)
        self.existing = existing = {
            (f.release_id, f.metric_id): f
            for f in Figure.objects.filter(release__in=self.releases_in_file).select_related(None)
        }
        for change in changes:
            change.old = Snapshot.of(existing.get((change.release.pk, change.metric.pk)))
            if "as_of" not in cols:
                change.as_of = change.old.as_of if change.old else None

    def refusal_for(self, release: Release) -> str:
        """Why this import may not change `release`'s figures (its state, the importer's role), or ""."""
        if release.pk in self._refusals:
            return self._refusals[release.pk]
        action = workflow.content_action(release)
        state = workflow.STATE_LABELS[workflow.state_of(release)]
        if action is None:
            hint = "" if release.status == Release.Status.WITHDRAWN else " Return it to draft to change it."
            refused = (
                f"the release for {release.period_label} is {state}; its figures cannot be changed.{hint}"
            )
        elif self.user is not None and not workflow.allowed(self.user, action, release):
            refused = (
                f"the release for {release.period_label} is {state}; only "
                + ("those who may correct a published release" if action == "correct" else "its editors")
                + " can change its figures."
            )
        else:
            refused = ""
        self._refusals[release.pk] = refused
        return refused

    def check_corrections(self, changes: list[Change]) -> list[Problem]:
        """Changing a published release needs a correction reason, which goes on its public page."""
        if self.reason:
            return []
        rows = defaultdict(list)
        for change in changes:
            if needs_correction(change.release) and change.changes_anything:
                rows[change.release].append(change.row)
        return [
            Problem(
                f"The release for {release.period_label} is published: give a correction reason to "
                f"change its figures (rows {', '.join(map(str, lines[:10]))}"
                f"{'…' if len(lines) > 10 else ''}). "
                "The reason is shown to the public."
            )
            for release, lines in rows.items()
        ]

    def previous_values(
        self, releases: list[Release], changes: list[Change]
    ) -> dict[int, dict[str, Decimal]]:
        """For each release in the file, the values of the release before it (file rows win)."""
        compared = list(
            Release.objects.exclude(status__in=(Release.Status.WITHDRAWN, Release.Status.DRAFT)).values_list(
                "pk", "period_date"
            )
        )
        in_file = {r.pk: r.period_date for r in releases}
        pool = sorted(set(compared) | set(in_file.items()), key=lambda item: item[1])
        dates = [d for _, d in pool]
        previous_of = {}
        for release in releases:
            index = bisect.bisect_left(dates, release.period_date)
            if index > 0:
                previous_of[release.pk] = pool[index - 1][0]
        periods = dict(pool)
        self.previous_periods = {pk: periods[prev] for pk, prev in previous_of.items()}
        values: dict[int, dict[str, Decimal]] = defaultdict(dict)
        for release_id, slug, value in Figure.objects.filter(
            release_id__in=set(previous_of.values())
        ).values_list("release_id", "metric__slug", "value"):
            values[release_id][slug] = value
        for change in changes:
            values[change.release.pk][change.metric.slug] = change.value
        return {pk: values.get(prev, {}) for pk, prev in previous_of.items()}

    def explained_slugs(self, releases: list[Release]) -> dict[int, set[str]]:
        """Metrics whose fall an explanation on the release already explains ("Explain a fall or jump")."""
        explained = defaultdict(set)
        for release_id, slug in Explanation.objects.filter(
            release__in=releases, release__status=Release.Status.DRAFT
        ).values_list("release_id", "figure__metric__slug"):
            explained[release_id].add(slug)
        return explained

    def check_integrity(self, changes: list[Change]) -> list[Problem]:
        """The publishing checks (falls, jumps) for every release the file touches.

        A fall is allowed when an explanation already explains it, or when the import gives one (the
        reason box): a draft then gets an explanation per fall, a published release a correction.
        """
        problems = []
        by_release = defaultdict(list)
        for change in changes:
            by_release[change.release].append(change)
        previous = self.previous_values(list(by_release), changes)
        explained = self.explained_slugs(list(by_release))
        for release, rows in by_release.items():
            by_slug = {c.metric.slug: c for c in rows}
            before = previous.get(release.pk, {})
            for change in rows:
                change.previous = before.get(change.metric.slug)
            findings = check_figures(
                [c.proposed for c in rows],
                previous.get(release.pk, {}),
                period_date=release.period_date,
                previous_period=self.previous_periods.get(release.pk),
            )
            for finding in findings:
                change = by_slug.get(finding.metric_slug)
                if finding.check == "falls" and change is not None:
                    if finding.metric_slug in explained[release.pk]:
                        continue
                    if self.reason:
                        change.needs_explanation = not needs_correction(release)
                        continue
                message = (
                    f"{release.period_label}: {finding.message}" if len(by_release) > 1 else finding.message
                )
                if finding.level == ERROR:
                    problems.append(Problem(message, row=change.row if change else None))
                else:
                    if change:
                        change.warnings.append(finding.message)
                    self.warnings.append(str(Problem(message, row=change.row if change else None)))
        return problems


@dataclass
class FigurePlan:
    """What a file of figures would do (the preview), or did once applied."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    existing: dict[tuple[int, int], Figure] = field(default_factory=dict, repr=False)
    applied: bool = False
    not_sent: list[int] = field(default_factory=list)  # rows with no value: their figures kept

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def summary(self) -> str:
        confirmed = self.count("confirmed")
        return (
            f"{len(self.changes)} rows: {self.count('new')} new, {self.count('changed')} changed, "
            + (f"{confirmed} confirmed as still right, " if confirmed else "")
            + f"{self.count('unchanged')} unchanged"
            + (f"; {len(self.not_sent)} rows without a value, kept as they are" if self.not_sent else "")
        )

    @property
    def digest(self) -> str:
        """What the plan would write, old and new: the same file on the same data gives the same digest."""
        parts = [
            (
                c.row,
                c.release.pk,
                c.metric.pk,
                c.value,
                c.as_of,
                c.qualifier,
                c.note,
                c.old,
                c.needs_explanation,
            )
            for c in self.changes
        ]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


FigureImport = FigurePlan  # the name the admin's preview and older callers use


def plan_figures(
    dataset: tablib.Dataset, *, release: Release | None = None, reason: str = "", user=None
) -> FigurePlan:
    """Read and check a file of figures into a plan; nothing is written."""
    checker = FigureChecker(release=release, reason=reason, user=user)
    problems = checker.check_dataset(dataset)
    if problems:
        return FigurePlan(problems=[str(p) for p in problems])
    return FigurePlan(
        warnings=list(checker.warnings),
        changes=list(checker.changes),
        existing=checker.existing,
        not_sent=list(checker.not_sent),
    )


@transaction.atomic
def apply_figures(plan: FigurePlan, *, reason: str = "", user=None) -> FigurePlan:
    """Write a checked plan in one transaction, with its history, corrections, notes and versions."""
    if not plan.ok:
        raise ValueError("A plan with problems cannot be applied.")
    by = user if getattr(user, "pk", None) else None
    created, updated = [], []
    for change in plan.changes:
        if not change.writes:
            continue
        figure = plan.existing.get((change.release.pk, change.metric.pk))
        if figure is None:
            figure = Figure(release=change.release, metric=change.metric)
            created.append(figure)
        else:
            updated.append(figure)
        figure.value = change.value
        figure.as_of = change.as_of
        if change.qualifier is not None:
            figure.qualifier = change.qualifier
        if change.note is not None:
            figure.note = change.note
        figure.kind = change.metric.kind
        figure.is_confirmed = True  # a supplier's figure is this release's own, not a copy
        figure._change_reason = change.history_reason(reason)
    why = "Imported from a spreadsheet"
    bulk_create_with_history(created, Figure, batch_size=BATCH, default_user=by, default_change_reason=why)
    bulk_update_with_history(
        updated, Figure, FIELDS_WRITTEN, batch_size=BATCH, default_user=by, default_change_reason=why
    )
    record_import_corrections(changes=plan.changes, reason=reason, user=user)
    record_import_explanations(changes=plan.changes, reason=reason, user=user)
    touched = {c.release.pk for c in plan.changes if c.writes}
    services.record_edits(touched, by=user, reason="Imported figures")
    for release in {c.release for c in plan.changes if c.writes and needs_correction(c.release)}:
        tasks.build_files_after_commit(release)  # corrected: its files change
    explained = Explanation.objects.filter(
        release__in=touched, release__status=Release.Status.DRAFT
    ).values_list("release_id", flat=True)
    for release in Release.objects.filter(pk__in=set(explained)):
        services.refresh_explanations(release)
    public.release_content_changed(*{c.release for c in plan.changes if c.writes})  # corrected, if out
    plan.applied = True
    return plan


def import_figures(
    dataset: tablib.Dataset,
    *,
    release: Release | None = None,
    reason: str = "",
    user=None,
    dry_run: bool = True,
) -> FigurePlan:
    """Check (dry run) or apply a file of figures: all rows in one transaction, or none."""
    plan = plan_figures(dataset, release=release, reason=reason, user=user)
    if plan.ok and not dry_run:
        apply_figures(plan, reason=reason, user=user)
    return plan


def record_import_explanations(*, changes: list[Change], reason: str, user=None) -> list[Explanation]:
    """One explanation per fall the import's explanation explains in a draft, published beside it
    (the figure's earlier explanation, if any, takes the new text)."""
    falls = [c for c in changes if c.needs_explanation]
    if not falls:
        return []
    figures = {
        (f.release_id, f.metric_id): f
        for f in Figure.objects.filter(
            release__in={c.release.pk for c in falls}, metric__in={c.metric.pk for c in falls}
        ).select_related("metric")
    }
    by = user if getattr(user, "pk", None) else None
    return Explanation.objects.bulk_create(
        [
            Explanation(
                release=c.release,
                figure=figures[(c.release.pk, c.metric.pk)],
                subject=c.metric.name,
                reason=reason.strip(),
                created_by=by,
            )
            for c in falls
        ],
        update_conflicts=True,
        unique_fields=["figure"],
        update_fields=["reason", "created_by", "created_at"],
    )


def record_import_corrections(*, changes: list[Change], reason: str, user=None) -> list[Correction]:
    """One public correction per figure an import changes in a published release."""
    changed = [c for c in changes if needs_correction(c.release) and c.changes_anything]
    if not changed:
        return []
    figures = {
        (f.release_id, f.metric_id): f
        for f in Figure.objects.filter(
            release__in={c.release.pk for c in changed}, metric__in={c.metric.pk for c in changed}
        )
    }
    by = user if getattr(user, "pk", None) else None
    corrections = Correction.objects.bulk_create(
        Correction(
            release=c.release,
            figure=figures.get((c.release.pk, c.metric.pk)),
            subject=c.metric.name,
            old_value=c.was if c.old else "",
            new_value=c.now,
            reason=reason.strip(),
            created_by=by,
        )
        for c in changed
    )
    for correction in corrections:
        announce(signals.correction_published, correction_id=correction.pk)
    return corrections
