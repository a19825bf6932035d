"""Corrections to public releases: a changed figure or bullet, with a public notice (old → new, why)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from stats.models import Correction, Figure, Release, Statement, check_placeholders
from stats.publishing import signals, workflow
from stats.publishing.edits import lock, required_reason, save_step
from stats.publishing.tasks import announce, build_files_after_commit


def _correctable(release: Release, by) -> Release:
    release = lock(release, None)
    workflow.require(by, "correct", release)
    return release


@transaction.atomic
def correct_figure(
    *,
    figure: Figure,
    by,
    value: Decimal,
    reason: str,
    qualifier: str | None = None,
    as_of: dt.date | None = None,
) -> Correction:
    """Change a figure of a public release and record a public correction (old → new, why)."""
    release = _correctable(figure.release, by)
    reason = required_reason(reason, "for the correction")
    figure = Figure.objects.select_related("metric", "release").get(pk=figure.pk)
    old = figure.display
    figure.value = Decimal(value)
    if qualifier is not None:
        figure.qualifier = qualifier
    if as_of is not None:
        figure.as_of = as_of
    figure.is_confirmed = True
    figure.full_clean()
    if figure.display == old and qualifier is None and as_of is None:
        raise ValidationError(f"{figure.metric.name} is already {old}: nothing to correct.")
    figure._history_user = by
    figure._change_reason = f"Corrected: {reason}"[:100]
    figure.save()
    correction = Correction.objects.create(
        release=release,
        figure=figure,
        subject=figure.metric.name,
        old_value=old,
        new_value=figure.display,
        reason=reason,
        created_by=by,
    )
    release.last_edited_by = by
    save_step(release, by=by, reason=f"Corrected {figure.metric.name}", fields=["last_edited_by"])
    build_files_after_commit(release)
    announce(signals.correction_published, correction_id=correction.pk)
    return correction


@transaction.atomic
def correct_statement(*, statement: Statement, by, text: str, reason: str) -> Correction:
    """Change a bullet of a public release and record a public correction (old → new, why)."""
    release = _correctable(statement.release, by)
    reason = required_reason(reason, "for the correction")
    statement = Statement.objects.select_related("programme").get(pk=statement.pk)
    text = (text or "").strip()
    if not text:
        raise ValidationError("The corrected bullet cannot be empty.")
    if text == statement.text:
        raise ValidationError("The bullet is unchanged: nothing to correct.")
    values = release.figure_values()
    check_placeholders(text, values)
    old = statement.render(values)
    statement.text = text
    statement._history_user = by
    statement._change_reason = f"Corrected: {reason}"[:100]
    statement.save()
    correction = Correction.objects.create(
        release=release,
        statement=statement,
        subject=f"{statement.programme.name} bullet",
        old_value=old,
        new_value=statement.render(values),
        reason=reason,
        created_by=by,
    )
    release.last_edited_by = by
    save_step(
        release, by=by, reason=f"Corrected a {statement.programme.name} bullet", fields=["last_edited_by"]
    )
    build_files_after_commit(release)
    announce(signals.correction_published, correction_id=correction.pk)
    return correction
