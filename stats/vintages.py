"""Vintages: the figures as they were published on a past day, before any later correction.

`?as_of=<yyyy-mm-dd>` on the API and the data downloads reads through here. Every change to a figure
or a bullet is kept by django-simple-history (`Figure.history`, `Statement.history`): a figure as
of a day is its last history record up to the end of that UK day, in the releases public by then.

Figures loaded after they were published (the seed release, imported back data) have no record
from before they were loaded: they stand as first recorded. Figures made without history (the
synthetic demonstration data, written in bulk) stand as they are now, unless a correction notice
says what they were before it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from contacts.models import group_by_programme
from stats.models import Correction, Figure, Metric, Programme, Release, Statement
from stats.outputs import downloads
from stats.selectors import FigureRow, ReleaseDocument, Section, build_release_document, figure_row
from stats.wording import formatting
from stats.wording.parsing import parse_number
from stats.wording.ukclock import UK

PARAMETER = "as_of"
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class BadAsOf(ValueError):
    """An `as_of` that names no day we can answer for; the message says why, for the reader."""

    def __init__(self, message: str, *, value: str):
        super().__init__(message)
        self.value = value


@dataclass(frozen=True)
class Vintage:
    """A UK day, and the moment its figures are read at: the end of that day, or now if sooner."""

    day: dt.date
    moment: dt.datetime

    def releases(self):
        """The releases public by then (and still public now: a withdrawn release stays withdrawn)."""
        return Release.objects.public(at=self.moment)


def uk_today(now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(UK).date()


def parse_as_of(raw: str | None, *, now: dt.datetime | None = None) -> Vintage | None:
    """The vintage `?as_of=` asks for, None without one; BadAsOf names the parameter and the value.

    A day after today is today: what is public now.
    """
    if raw is None:
        return None
    now = now or timezone.now()
    day = None
    if ISO_DAY.fullmatch(raw):
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            day = None
    if day is None:
        raise BadAsOf(
            f"The {PARAMETER} parameter must be a date written yyyy-mm-dd, such as "
            f"{PARAMETER}=2010-03-10; “{raw}” is not one.",
            value=raw,
        )
    # A day yet to come is answered as today: the figures public now, never any published later.
    day = min(day, uk_today(now))
    end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=UK) - dt.timedelta(
        microseconds=1
    )
    return Vintage(day=day, moment=min(end_of_day, now))


@dataclass(frozen=True)
class FigureState:
    """One figure as it stood at a moment."""

    figure_id: int
    release_id: int
    metric_id: int
    value: Decimal
    kind: str
    qualifier: str
    as_of: dt.date | None
    note: str

    @classmethod
    def of(cls, row) -> FigureState:
        """From a Figure or one of its history records (they have the same fields)."""
        return cls(
            figure_id=row.id,
            release_id=row.release_id,
            metric_id=row.metric_id,
            value=row.value,
            kind=row.kind,
            qualifier=row.qualifier,
            as_of=row.as_of,
            note=row.note,
        )


def _row_then(records: list, current, moment: dt.datetime):
    """A row as it stood at `moment`: its last history record by then (None if deleted by then).

    With nothing recorded by then, its first record, or the row itself when it has no history.
    """
    known = [record for record in records if record.history_date <= moment]
    if known:
        return None if known[-1].history_type == "-" else known[-1]
    return records[0] if records else current


def _earlier_value(records: list, corrections: list[Correction], kind: str) -> Decimal | None:
    """What a figure was before its first record, when that record is a correction of it.

    A figure written without history (in bulk) is first recorded when it is corrected; the
    correction notice keeps the value it had, as the page showed it ("306,774,292", "£900m").
    """
    if not records or records[0].history_type != "~":
        return None
    shown = next((c.old_value for c in corrections if c.old_value), "")
    try:
        return parse_number(shown, kind=kind) if shown else None
    except ValueError:
        return None


def _history_by_id(history, **where) -> dict[int, list]:
    rows = defaultdict(list)
    for record in history.filter(**where).order_by("history_date", "history_id"):
        rows[record.id].append(record)
    return rows


def figures_then(vintage: Vintage, **where) -> list[FigureState]:
    """The figures matching `where` (e.g. `metric_id=…`) as they stood then, in releases public by then.

    Four queries, whatever the history holds.
    """
    releases = vintage.releases().values("pk")
    current = {figure.pk: figure for figure in Figure.objects.filter(release__in=releases, **where)}
    history = _history_by_id(Figure.history, release__in=releases, **where)
    later = defaultdict(list)
    for correction in Correction.objects.filter(
        figure_id__in=current.keys() | history.keys(), created_at__gt=vintage.moment
    ).order_by("created_at", "pk"):
        later[correction.figure_id].append(correction)
    states = []
    for pk in sorted(current.keys() | history.keys()):
        if any(c.new_value and not c.old_value for c in later[pk]):
            continue  # added to its release by a correction after then
        row = _row_then(history.get(pk, []), current.get(pk), vintage.moment)
        if row is None:
            continue
        state = FigureState.of(row)
        if not any(r.history_date <= vintage.moment for r in history.get(pk, [])):
            earlier = _earlier_value(history.get(pk, []), later[pk], state.kind)
            if earlier is not None:
                state = dataclasses.replace(state, value=earlier)
        states.append(state)
    return states


def _statements_then(release: Release, vintage: Vintage) -> list:
    """The release's bullets as they stood then: (programme id, order, pk, template or worded text)."""
    current = {s.pk: s for s in Statement.objects.filter(release=release)}
    history = _history_by_id(Statement.history, release_id=release.pk)
    later = defaultdict(list)
    for correction in Correction.objects.filter(
        statement_id__in=current.keys() | history.keys(), created_at__gt=vintage.moment
    ).order_by("created_at", "pk"):
        later[correction.statement_id].append(correction)
    bullets = []
    for pk in current.keys() | history.keys():
        records = history.get(pk, [])
        row = _row_then(records, current.get(pk), vintage.moment)
        if row is None:
            continue
        worded = ""
        if records and records[0].history_type == "~" and row is records[0] and later[pk]:
            worded = later[pk][0].old_value  # written in bulk, first recorded when corrected
        bullets.append((row.programme_id, row.order, pk, row.text, worded))
    return bullets


def release_document_then(release: Release, vintage: Vintage) -> ReleaseDocument:
    """A release's document as it was published by the vintage's day, before any later correction."""
    document = build_release_document(release, visible=vintage.releases())
    previous = document.previous
    states = figures_then(vintage, release_id__in=[release.pk] + ([previous.pk] if previous else []))
    mine = [s for s in states if s.release_id == release.pk]
    before = {s.metric_id: (s.value, s.qualifier) for s in states if previous and s.release_id == previous.pk}
    metrics = Metric.objects.select_related("programme").in_bulk({s.metric_id for s in mine})
    bullets = _statements_then(release, vintage)
    programmes = Programme.objects.in_bulk(
        {m.programme_id for m in metrics.values()} | {b[0] for b in bullets}
    )
    contacts = group_by_programme(document.contacts)
    sections: dict[int, Section] = {}

    def section_for(programme_id: int) -> Section:
        if programme_id not in sections:
            programme = programmes[programme_id]
            sections[programme_id] = Section(
                programme.slug,
                programme.name,
                programme_url=programme.get_absolute_url(),
                order=(programme.display_order, programme.name),
                contacts=contacts.get(programme_id, []),
            )
        return sections[programme_id]

    values = {
        metrics[s.metric_id].slug: formatting.FigureValue(s.value, s.kind, s.qualifier, s.as_of) for s in mine
    }
    for programme_id, _order, _pk, text, worded in sorted(
        bullets, key=lambda b: (programmes[b[0]].display_order, programmes[b[0]].name, b[1], b[2])
    ):
        section_for(programme_id).bullets.append(worded or formatting.render_statement(text, values))
    # Explanations were published with the release; corrections count only once made.
    now = {row.metric_slug: row for row in document.figures}
    for state in sorted(mine, key=lambda s: _metric_order(metrics[s.metric_id])):
        metric = metrics[state.metric_id]
        current = now.get(metric.slug)
        row = _figure_row(
            state,
            metric,
            before,
            explanation=current.explanation if current else "",
            revisions=[c for c in current.revisions if c.created_at <= vintage.moment] if current else [],
        )
        section_for(metric.programme_id).figures.append(row)
    return dataclasses.replace(
        document,
        sections=sorted(sections.values(), key=lambda section: section.order),
        corrections=[c for c in document.corrections if c.created_at <= vintage.moment],
    )


def _metric_order(metric: Metric) -> tuple:
    return (metric.programme.display_order, metric.display_order, metric.name)


def _figure_row(
    state: FigureState, metric: Metric, before: dict, *, explanation: str = "", revisions=()
) -> FigureRow:
    """The document's row for a figure as it stood then (made as `build_release_document` makes it)."""
    return figure_row(
        slug=metric.slug,
        name=metric.name,
        unit=metric.unit,
        url=metric.get_absolute_url(),
        kind=state.kind,
        value=state.value,
        qualifier=state.qualifier,
        as_of=state.as_of,
        note=state.note,
        previous=before.get(state.metric_id, (None, "")),
        explanation=explanation,
        revisions=revisions,
    )


def metric_rows_then(metric: Metric, vintage: Vintage, *, request) -> list[downloads.Row]:
    """A metric's series as published by the vintage's day, oldest first, as download rows."""
    states = figures_then(vintage, metric_id=metric.pk)
    releases = Release.objects.only("pk", "period_date").in_bulk({s.release_id for s in states})
    rows = [
        downloads.Row.of_figure(
            s,
            metric=metric,
            period=releases[s.release_id].period_date,
            release_url=request.build_absolute_uri(releases[s.release_id].get_absolute_url()),
        )
        for s in states
    ]
    return sorted(rows, key=lambda row: row.period)
