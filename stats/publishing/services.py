"""The publishing workflow: every change of state, called by the admin, commands and tests alike.

Each function is keyword-only, runs in one transaction, locks the release row,
checks the caller's permission and the release's state, and refuses with a
`PermissionDenied` or `ValidationError` whose message says what to do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from stats import selectors
from stats.models import Correction, Figure, Release, ReleaseDateChange, Statement, check_placeholders
from stats.outputs.files import build_files_after_commit
from stats.publishing import checks, permissions
from stats.wording import formatting, ukclock

Status = Release.Status
# Releases still to come: their date may move or be cancelled.
UNPUBLISHED = (Status.DRAFT, Status.IN_REVIEW, Status.SCHEDULED)


# --- helpers -----------------------------------------------------------------


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
    """The "was" and "now" of a note explaining a figure's fall or jump since `previous`."""
    old = old_values.get(figure.metric_id)
    was = (
        f"{formatting.exact(old, kind=figure.kind)} (w/c {previous.period_label})"
        if old is not None and previous is not None
        else ""
    )
    return was, figure.display


def refresh_explanations(release: Release) -> int:
    """A draft's notes explaining a fall or jump state its figures as they are now.

    A note is written when the press officer explains a figure; the figure may change again before
    the release goes out (by hand or by import), and the public notice must state what is published.
    Returns how many notes changed.
    """
    if release.status != Status.DRAFT or not release.pk:
        return 0
    notes = list(release.corrections.filter(figure__isnull=False).select_related("figure__metric"))
    if not notes:
        return 0
    previous, old_values = selectors.previous_figure_values(release, among=selectors.comparison_releases())
    changed = []
    for note in notes:
        was, now = explanation_values(note.figure, previous, old_values)
        if (note.old_value, note.new_value) != (was, now):
            note.old_value, note.new_value = was, now
            changed.append(note)
    Correction.objects.bulk_update(changed, ["old_value", "new_value"])
    return len(changed)


def release_time() -> dt.time:
    """The usual UK time of day releases come out (setting NEWSROOM_RELEASE_TIME)."""
    return ukclock.parse_time(settings.NEWSROOM_RELEASE_TIME)


def default_publish_at(period_date: dt.date) -> dt.datetime:
    """The period's first day at the usual UK release time."""
    return ukclock.uk_datetime(period_date, release_time())


def _require(user, permission: str, action: str) -> None:
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied(f"Sign in to {action}.")
    if not user.has_perm(f"statistics.{permission}"):
        raise PermissionDenied(f"You do not have permission to {action}. Ask a publisher.")


def _lock(release: Release, expected_version: int | None) -> Release:
    """The release re-read under a row lock; refused if it changed since the caller looked."""
    fresh = Release.objects.select_for_update().get(pk=release.pk)
    if expected_version is not None and fresh.version != expected_version:
        raise ValidationError(
            f"“{fresh}” was changed by someone else since you opened it "
            f"(version {expected_version}, now {fresh.version}). Reload the page and check it again."
        )
    return fresh


def _save(release: Release, *, by, reason: str, fields: Iterable[str]) -> Release:
    """Save a transition: one version up, recorded in the history with who and why."""
    release.version += 1
    release._history_user = by
    release._change_reason = reason[:100]
    release.save(update_fields=[*fields, "version", "updated_at"])
    return release


def _two_pairs_of_eyes(release: Release, by, action: str) -> None:
    if settings.NEWSROOM_TWO_PAIRS_OF_EYES and release.last_edited_by_id == by.pk:
        raise PermissionDenied(
            f"You were the last to edit “{release}”, so someone else must {action} it (two pairs of eyes)."
        )


def _future(publish_at: dt.datetime | None, what: str) -> dt.datetime:
    if publish_at is None:
        raise ValidationError(f"Give the {what}.")
    if timezone.is_naive(publish_at):
        raise ValidationError(f"The {what} needs a time zone; enter it in UK time.")
    if publish_at <= timezone.now():
        raise ValidationError(
            f"The {what} {ukclock.uk_label(publish_at)} has already passed. "
            "Choose a later time, or use “Publish now”."
        )
    return publish_at


def _reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(f"Give a reason {what}; the public will read it.")
    return reason


def explained_slugs(release: Release) -> set[str]:
    """Metrics whose change a correction note on this release explains."""
    return set(
        release.corrections.filter(figure__isnull=False).values_list("figure__metric__slug", flat=True)
    )


def release_findings(release: Release, *, publish_at: dt.datetime | None = None) -> list[checks.Finding]:
    """The integrity findings for a release, with its correction notes taken into account.

    `publish_at` is the time it is about to be approved or published for: how far it is from the
    release period is checked then.
    """
    return checks.check_release(release, explained=explained_slugs(release)) + checks.check_timing(
        release.period_date, publish_at
    )


def _run_checks(
    release: Release, *, acknowledge_warnings: bool, action: str, publish_at: dt.datetime | None = None
) -> list[checks.Finding]:
    findings = release_findings(release, publish_at=publish_at)
    errors = [f.message for f in findings if f.is_error]
    if errors:
        raise ValidationError([f"Cannot {action} “{release}” until these are fixed:", *errors])
    warnings = [f.message for f in findings if not f.is_error]
    if warnings and not acknowledge_warnings:
        raise ValidationError(
            [f"Check these before you {action}, then tick “I have checked these changes”:", *warnings]
        )
    return findings


def _log_date_change(release, *, old, new, reason, by) -> ReleaseDateChange | None:
    if old is None or old == new:
        return None
    return ReleaseDateChange.objects.create(
        release=release, old_publish_at=old, new_publish_at=new, reason=reason, changed_by=by
    )


# --- transitions -----------------------------------------------------------------


@transaction.atomic
def start_next_release(*, source: Release, by, period_date: dt.date | None = None) -> Release:
    """A draft for the next period with `source`'s statements and figures, figures marked not yet updated."""
    permissions.require(by, "start-next", source)
    earlier = Release.objects.filter(period_date__lt=source.period_date).order_by("-period_date").first()
    step = (source.period_date - earlier.period_date) if earlier else dt.timedelta(weeks=1)
    step = step if dt.timedelta(days=1) <= step <= dt.timedelta(days=31) else dt.timedelta(weeks=1)
    try:
        period_date = period_date or source.period_date + step
    except OverflowError:
        raise ValidationError(
            f"w/c {source.period_label} is the last period a date can name: give the new release’s period."
        ) from None
    existing = Release.objects.filter(period_date=period_date).first()
    if existing is not None:
        raise ValidationError(
            f"There is already a release for w/c {existing.period_label} ({existing.status_label}): "
            "open it instead."
        )
    publish_at = default_publish_at(period_date)
    if source.publish_at:
        local = source.publish_at.astimezone(ukclock.UK)
        with contextlib.suppress(OverflowError):  # the same step from it would pass year 9999
            publish_at = ukclock.uk_datetime(local.date() + (period_date - source.period_date), local.time())
    release = Release(
        period_date=period_date,
        title=source.title,
        summary=source.summary.replace(source.period_label, Release(period_date=period_date).period_label),
        notes=source.notes,
        lead_contact_id=source.lead_contact_id,
        publish_at=publish_at if publish_at > timezone.now() else None,
        last_edited_by=by,
    )
    release._history_user = by
    release._change_reason = f"Started from w/c {source.period_label}"
    try:
        with transaction.atomic():
            release.save()
    except IntegrityError as error:  # someone started the same week a moment ago
        raise ValidationError(
            f"There is already a release for w/c {release.period_label}: open it instead."
        ) from error
    figures = list(source.figures.all())
    for figure in figures:
        figure.pk = None
        figure.release = release
        figure.is_confirmed = False
    bulk_create_with_history(
        figures, Figure, default_user=by, default_change_reason="Copied, not yet updated"
    )
    statements = list(source.statements.all())
    for statement in statements:
        statement.pk = None
        statement.release = release
    bulk_create_with_history(statements, Statement, default_user=by, default_change_reason="Copied")
    return release


@transaction.atomic
def confirm_figures(*, release: Release, by, slugs: Iterable[str] | None = None) -> int:
    """Mark copied figures as checked and still right; returns how many were confirmed."""
    release = _lock(release, None)
    permissions.require(by, "edit", release)
    figures = release.figures.filter(is_confirmed=False)
    if slugs is not None:
        figures = figures.filter(metric__slug__in=list(slugs))
    count = 0
    for figure in figures:
        figure.is_confirmed = True
        figure._history_user = by
        figure._change_reason = "Confirmed unchanged"
        figure.save(update_fields=["is_confirmed"])
        count += 1
    release.last_edited_by = by
    _save(release, by=by, reason=f"Confirmed {count} figures", fields=["last_edited_by"])
    return count


@transaction.atomic
def add_correction_note(*, release: Release, by, metric_slug: str, reason: str) -> Correction:
    """A public note on a draft explaining why a figure fell or jumped since the previous release."""
    release = _lock(release, None)
    permissions.require(by, "edit", release)
    reason = _reason(reason, "for the change")
    figure = release.figures.select_related("metric").filter(metric__slug=metric_slug).first()
    if figure is None:
        raise ValidationError(f"“{release}” has no figure for “{metric_slug}”.")
    previous, old_values = selectors.previous_figure_values(release, among=selectors.comparison_releases())
    was, now = explanation_values(figure, previous, old_values)
    note = Correction.objects.create(
        release=release,
        figure=figure,
        subject=figure.metric.name,
        old_value=was,
        new_value=now,
        reason=reason,
        created_by=by,
    )
    record_edit(release.pk, by=by, reason=f"Explained {figure.metric.name}")
    return note


@transaction.atomic
def submit_release(
    *, release: Release, by, acknowledge_warnings: bool = False, expected_version: int | None = None
) -> list[checks.Finding]:
    """Draft → in review, once every figure is confirmed and the checks pass."""
    release = _lock(release, expected_version)
    permissions.require(by, "submit", release)
    refresh_explanations(release)
    findings = _run_checks(release, acknowledge_warnings=acknowledge_warnings, action="submit")
    release.status = Status.IN_REVIEW
    reason = "Submitted for review" + (" (warnings checked)" if findings else "")
    _save(release, by=by, reason=reason, fields=["status"])
    return findings


@transaction.atomic
def return_to_draft(
    *, release: Release, by, reason: str = "", expected_version: int | None = None
) -> Release:
    """In review, or scheduled and not yet public → draft, for more changes."""
    release = _lock(release, expected_version)
    permissions.require(by, "return-to-draft", release)
    release.status = Status.DRAFT
    release.approved_by = None
    release.approved_at = None
    text = "Returned to draft" + (f": {reason.strip()}" if reason and reason.strip() else "")
    return _save(release, by=by, reason=text, fields=["status", "approved_by", "approved_at"])


@transaction.atomic
def approve_release(
    *,
    release: Release,
    by,
    publish_at: dt.datetime | None = None,
    date_change_reason: str = "",
    acknowledge_warnings: bool = False,
    expected_version: int | None = None,
) -> Release:
    """In review → scheduled for its publish time (UK), by someone other than the last editor."""
    release = _lock(release, expected_version)
    permissions.require(by, "approve", release)
    _two_pairs_of_eyes(release, by, "approve")
    publish_at = _future(publish_at or release.publish_at, "publish time")
    _run_checks(release, acknowledge_warnings=acknowledge_warnings, action="approve", publish_at=publish_at)
    if release.publish_at and publish_at != release.publish_at:
        _log_date_change(
            release,
            old=release.publish_at,
            new=publish_at,
            reason=_reason(date_change_reason, "for moving the announced date"),
            by=by,
        )
    release.status = Status.SCHEDULED
    release.publish_at = publish_at
    release.date_confirmed = True
    release.approved_by = by
    release.approved_at = timezone.now()
    build_files_after_commit(release)  # ready, with their sizes, before it comes out
    return _save(
        release,
        by=by,
        reason=f"Approved for {ukclock.uk_label(publish_at, weekday=False)}",
        fields=["status", "publish_at", "date_confirmed", "approved_by", "approved_at"],
    )


@transaction.atomic
def publish_now(
    *,
    release: Release,
    by,
    reason: str = "",
    acknowledge_warnings: bool = False,
    expected_version: int | None = None,
) -> Release:
    """In review or scheduled → published at once; publishing before an announced time needs a reason."""
    release = _lock(release, expected_version)
    permissions.require(by, "publish-now", release)
    _two_pairs_of_eyes(release, by, "publish")
    now = timezone.now()
    _run_checks(release, acknowledge_warnings=acknowledge_warnings, action="publish", publish_at=now)
    if release.publish_at and release.publish_at > now:
        _log_date_change(
            release,
            old=release.publish_at,
            new=now,
            reason=_reason(reason, "for publishing before the announced time"),
            by=by,
        )
    release.status = Status.PUBLISHED
    release.publish_at = now
    release.date_confirmed = True
    build_files_after_commit(release)
    if release.approved_by_id is None:
        release.approved_by, release.approved_at = by, now
    return _save(
        release,
        by=by,
        reason="Published now",
        fields=["status", "publish_at", "date_confirmed", "approved_by", "approved_at"],
    )


@transaction.atomic
def withdraw_release(*, release: Release, by, reason: str, expected_version: int | None = None) -> Release:
    """A public release → withdrawn, with a public reason."""
    release = _lock(release, expected_version)
    permissions.require(by, "withdraw", release)
    release.status_reason = _reason(reason, "for withdrawing it")
    release.status = Status.WITHDRAWN
    return _save(release, by=by, reason="Withdrawn", fields=["status", "status_reason"])


@transaction.atomic
def change_release_date(
    *,
    release: Release,
    by,
    publish_at: dt.datetime,
    reason: str = "",
    confirm: bool = False,
    expected_version: int | None = None,
) -> Release:
    """Move (or first set, or confirm) a coming release's publish time; a move is logged publicly."""
    release = _lock(release, expected_version)
    permissions.require(by, "change-date", release)
    if confirm:
        _require(by, "approve_release", "confirm an announced date")
    publish_at = _future(publish_at, "new publish time")
    old = release.publish_at
    if old is not None and old != publish_at:
        _log_date_change(release, old=old, new=publish_at, reason=_reason(reason, "for the new date"), by=by)
    elif old == publish_at and not confirm:
        raise ValidationError(f"“{release}” is already due at {ukclock.uk_label(old)}.")
    release.publish_at = publish_at
    release.date_confirmed = release.date_confirmed or confirm
    if release.status == Status.SCHEDULED:  # its files print the publish time
        build_files_after_commit(release)
    text = f"Date set to {ukclock.uk_label(publish_at, weekday=False)}" + (" (confirmed)" if confirm else "")
    return _save(release, by=by, reason=text, fields=["publish_at", "date_confirmed"])


@transaction.atomic
def cancel_release(*, release: Release, by, reason: str, expected_version: int | None = None) -> Release:
    """A coming release → cancelled; its calendar entry stays, with the reason."""
    release = _lock(release, expected_version)
    permissions.require(by, "cancel", release)
    reason = _reason(reason, "for cancelling")
    if release.publish_at:
        ReleaseDateChange.objects.create(
            release=release,
            old_publish_at=release.publish_at,
            new_publish_at=None,
            reason=reason,
            changed_by=by,
        )
    release.status = Status.CANCELLED
    release.status_reason = reason
    return _save(release, by=by, reason="Cancelled", fields=["status", "status_reason"])


# --- corrections to public releases --------------------------------------------------------


def _correctable(release: Release, by) -> Release:
    release = _lock(release, None)
    permissions.require(by, "correct", release)
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
    reason = _reason(reason, "for the correction")
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
    _save(release, by=by, reason=f"Corrected {figure.metric.name}", fields=["last_edited_by"])
    build_files_after_commit(release)
    return correction


@transaction.atomic
def correct_statement(*, statement: Statement, by, text: str, reason: str) -> Correction:
    """Change a bullet of a public release and record a public correction (old → new, why)."""
    release = _correctable(statement.release, by)
    reason = _reason(reason, "for the correction")
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
    _save(release, by=by, reason=f"Corrected a {statement.programme.name} bullet", fields=["last_edited_by"])
    build_files_after_commit(release)
    return correction


# --- one place that names the release-wide workflow steps -------------------------------------

RELEASE_STEPS = (
    "start-next",
    "submit",
    "approve",
    "publish-now",
    "return-to-draft",
    "change-date",
    "cancel",
    "withdraw",
)


def run_release_step(
    *,
    step: str,
    release: Release,
    by,
    reason: str = "",
    publish_at: dt.datetime | None = None,
    confirm: bool = False,
    period_date: dt.date | None = None,
    acknowledge_warnings: bool = False,
    expected_version: int | None = None,
):
    """Run one of RELEASE_STEPS by name; the admin's buttons and the `release` command both call this."""
    on = {"release": release, "by": by, "expected_version": expected_version}
    ack = {"acknowledge_warnings": acknowledge_warnings}
    match step:
        case "start-next":
            return start_next_release(source=release, by=by, period_date=period_date)
        case "submit":
            return submit_release(**on, **ack)
        case "approve":
            return approve_release(**on, **ack, publish_at=publish_at, date_change_reason=reason)
        case "publish-now":
            return publish_now(**on, **ack, reason=reason)
        case "return-to-draft":
            return return_to_draft(**on, reason=reason)
        case "change-date":
            return change_release_date(**on, publish_at=publish_at, reason=reason, confirm=confirm)
        case "cancel":
            return cancel_release(**on, reason=reason)
        case "withdraw":
            return withdraw_release(**on, reason=reason)
    raise ValueError(f"“{step}” is not a workflow step; use one of: {', '.join(RELEASE_STEPS)}.")
