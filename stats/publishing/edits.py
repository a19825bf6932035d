"""Edits to a release and its rows: versions, locks, the editor on record, explanations.

Every write to a release or its figures and bullets goes through here (forms, inlines, imports,
workflow steps), so a page opened before someone else's save is refused and the editor is known.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from stats import selectors
from stats.models import Explanation, Figure, Release
from stats.publishing import public
from stats.wording import formatting

Status = Release.Status


class StaleRelease(Exception):
    """Someone else saved the release, or one of its rows, after this page was opened."""


def stale_message(release: Release, seen: int | None) -> str:
    if seen is None:
        return (
            f"The page you saved did not say which version of “{release}” you had opened, so nothing "
            "was saved. Reload the page, then make your changes again."
        )
    return (
        f"Someone else saved “{release}” after you opened it (you had version {seen}, "
        f"it is now version {release.version}). Nothing was saved: reload the page to see their "
        "changes, then make yours again."
    )


def claim_version(release_id: int, seen: int | None) -> int:
    """Move the release's version on from `seen` in one atomic step; StaleRelease if it has moved.

    Of two people saving pages opened at the same version, exactly one succeeds.
    """
    if seen is None or not Release.objects.filter(pk=release_id, version=seen).update(
        version=F("version") + 1
    ):
        raise StaleRelease(stale_message(Release.objects.get(pk=release_id), seen))
    return seen + 1


def record_edit(release_id: int, *, by, reason: str, seen: int | None = None, check: bool = False) -> Release:
    """A change to a release's figures or statements: new version, last editor, a history entry.

    Every write path (the figure and statement pages, imports, confirming figures) records its
    change here, so a page opened before it is refused and the editor cannot also approve.
    With `check`, the change is refused unless the release is still at version `seen`.
    """
    if check:
        claim_version(release_id, seen)
        record_edits([release_id], by=by, reason=reason, bump=False)
    else:
        record_edits([release_id], by=by, reason=reason)
    return Release.objects.get(pk=release_id)


def record_edits(release_ids: Iterable[int], *, by, reason: str, bump: bool = True) -> None:
    """`record_edit` for many releases at once (an import of history): a fixed number of queries."""
    ids = sorted(set(release_ids))
    if not ids:
        return
    editor = by if getattr(by, "pk", None) else None
    changes = {"last_edited_by": editor, "updated_at": timezone.now()}
    if bump:
        changes["version"] = F("version") + 1
    Release.objects.filter(pk__in=ids).update(**changes)  # atomic: a concurrent save cannot lose it
    bulk_update_with_history(
        list(Release.objects.filter(pk__in=ids)),
        Release,
        ["last_edited_by"],
        default_user=editor,
        default_change_reason=reason[:100],
    )


def explanation_values(figure: Figure, previous: Release | None, old_values: dict[int, Decimal]):
    """The "was" and "now" of an explanation of a figure's fall or jump since `previous`."""
    old = old_values.get(figure.metric_id)
    was = (
        f"{formatting.exact(old, kind=figure.kind)} (w/c {previous.period_label})"
        if old is not None and previous is not None
        else ""
    )
    return was, figure.display


def refresh_explanations(release: Release) -> int:
    """A draft's explanations of a fall or jump state its figures as they are now.

    An explanation is written when the press officer explains a figure; the figure may change again
    before the release goes out (by hand or by import), and what is published must state it as it is.
    Returns how many explanations changed.
    """
    if release.status != Status.DRAFT or not release.pk:
        return 0
    notes = list(release.explanations.select_related("figure__metric"))
    if not notes:
        return 0
    previous, old_values = selectors.previous_figure_values(release, among=selectors.comparison_releases())
    changed = []
    for note in notes:
        was, now = explanation_values(note.figure, previous, old_values)
        if (note.old_value, note.new_value) != (was, now):
            note.old_value, note.new_value = was, now
            changed.append(note)
    Explanation.objects.bulk_update(changed, ["old_value", "new_value"])
    return len(changed)


def lock(release: Release, expected_version: int | None) -> Release:
    """The release re-read under a row lock; refused if it changed since the caller looked."""
    fresh = Release.objects.select_for_update().get(pk=release.pk)
    if expected_version is not None and fresh.version != expected_version:
        raise ValidationError(
            f"“{fresh}” was changed by someone else since you opened it "
            f"(version {expected_version}, now {fresh.version}). Reload the page and check it again."
        )
    return fresh


def save_step(release: Release, *, by, reason: str, fields: Iterable[str]) -> Release:
    """Save a transition: one version up, recorded in the history with who and why, and said to the
    public if it shows (`stats.publishing.public`)."""
    fields = list(fields)
    release.version += 1
    release._history_user = by
    release._change_reason = reason[:100]
    release.save(update_fields=[*fields, "version", "updated_at"])
    public.release_saved(release, fields)
    return release


def required_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(f"Give a reason {what}; the public will read it.")
    return reason
