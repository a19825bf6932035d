"""The publishing workflow: every change of state, called by the admin, commands and tests alike.

Each function is keyword-only, runs in one transaction, locks the release row,
checks the caller's permission and the release's state, and refuses with a
`PermissionDenied` or `ValidationError` whose message says what to do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from stats import selectors
from stats.models import Explanation, Figure, Release, ReleaseDateChange, Statement
from stats.publishing import checks, public, signals, tasks, workflow
from stats.publishing.corrections import correct_figure, correct_statement  # noqa: F401  (steps, one import)
from stats.publishing.edits import (  # noqa: F401  (used by callers through services)
    StaleRelease,
    claim_version,
    explanation_values,
    lock,
    record_edit,
    record_edits,
    refresh_explanations,
    required_reason,
    save_step,
    stale_message,
)
from stats.wording import ukclock

Status = Release.Status
UNPUBLISHED = Release.COMING_STATUSES  # still to come: their date may move or be cancelled


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


def second_pair_of_eyes_refusal(release: Release, by, action: str) -> str:
    """Why `by` may not `action` (approve, publish) `release`, being its last editor; "" if they may."""
    if settings.NEWSROOM_TWO_PAIRS_OF_EYES and by is not None and release.last_edited_by_id == by.pk:
        return f"You were the last to edit “{release}”, so someone else must {action} it (two pairs of eyes)."
    return ""


def _two_pairs_of_eyes(release: Release, by, action: str) -> None:
    refusal = second_pair_of_eyes_refusal(release, by, action)
    if refusal:
        raise PermissionDenied(refusal)


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


def explained_slugs(release: Release) -> set[str]:
    """Metrics whose change an explanation on this release explains."""
    return set(release.explanations.values_list("figure__metric__slug", flat=True))


def release_findings(release: Release, *, publish_at: dt.datetime | None = None) -> list[checks.Finding]:
    """The integrity findings for a release, with its explanations taken into account.

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
    """A public record that an announced date moved (or was cancelled: `new` is None); announced."""
    if old is None or old == new:
        return None
    change = ReleaseDateChange.objects.create(
        release=release, old_publish_at=old, new_publish_at=new, reason=reason, changed_by=by
    )
    tasks.announce(signals.release_date_changed, change_id=change.pk)
    return change


# --- transitions -----------------------------------------------------------------


@transaction.atomic
def start_next_release(*, source: Release, by, period_date: dt.date | None = None) -> Release:
    """A draft for the next period with `source`'s statements and figures, figures marked not yet updated."""
    workflow.require(by, "start-next", source)
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
        # The same statistician answers for it, and its status stays until a publisher changes it.
        statistician_name=source.statistician_name,
        statistician_email=source.statistician_email,
        statistician_phone=source.statistician_phone,
        designation=source.designation,
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
    public.release_listed()  # a new line in the calendar
    return release


@transaction.atomic
def confirm_figures(*, release: Release, by, slugs: Iterable[str] | None = None) -> int:
    """Mark copied figures as checked and still right; returns how many were confirmed."""
    release = lock(release, None)
    workflow.require(by, "edit", release)
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
    save_step(release, by=by, reason=f"Confirmed {count} figures", fields=["last_edited_by"])
    return count


@transaction.atomic
def explain_figure(*, release: Release, by, metric_slug: str, reason: str) -> Explanation:
    """An explanation on a draft's figure of why it fell or jumped since the previous release,
    published beside the figure; explaining it again replaces the text."""
    release = lock(release, None)
    workflow.require(by, "edit", release)
    reason = required_reason(reason, "for the change")
    figure = release.figures.select_related("metric").filter(metric__slug=metric_slug).first()
    if figure is None:
        raise ValidationError(f"“{release}” has no figure for “{metric_slug}”.")
    previous, old_values = selectors.previous_figure_values(release, among=selectors.comparison_releases())
    was, now = explanation_values(figure, previous, old_values)
    note, _ = Explanation.objects.update_or_create(
        figure=figure,
        defaults={
            "release": release,
            "subject": figure.metric.name,
            "old_value": was,
            "new_value": now,
            "reason": reason,
            "created_by": by,
            "created_at": timezone.now(),
        },
    )
    record_edit(release.pk, by=by, reason=f"Explained {figure.metric.name}: {reason}")
    return note


@transaction.atomic
def submit_release(
    *, release: Release, by, acknowledge_warnings: bool = False, expected_version: int | None = None
) -> list[checks.Finding]:
    """Draft → in review, once every figure is confirmed and the checks pass."""
    release = lock(release, expected_version)
    workflow.require(by, "submit", release)
    refresh_explanations(release)
    findings = _run_checks(release, acknowledge_warnings=acknowledge_warnings, action="submit")
    release.status = workflow.TARGETS["submit"]
    reason = "Submitted for review" + (" (warnings checked)" if findings else "")
    save_step(release, by=by, reason=reason, fields=["status"])
    return findings


@transaction.atomic
def return_to_draft(
    *, release: Release, by, reason: str = "", expected_version: int | None = None
) -> Release:
    """In review, or scheduled and not yet public → draft, for more changes."""
    release = lock(release, expected_version)
    workflow.require(by, "return-to-draft", release)
    release.status = workflow.TARGETS["return-to-draft"]
    release.approved_by = None
    release.approved_at = None
    text = "Returned to draft" + (f": {reason.strip()}" if reason and reason.strip() else "")
    return save_step(release, by=by, reason=text, fields=["status", "approved_by", "approved_at"])


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
    release = lock(release, expected_version)
    workflow.require(by, "approve", release)
    _two_pairs_of_eyes(release, by, "approve")
    publish_at = _future(publish_at or release.publish_at, "publish time")
    _run_checks(release, acknowledge_warnings=acknowledge_warnings, action="approve", publish_at=publish_at)
    if release.publish_at and publish_at != release.publish_at:
        _log_date_change(
            release,
            old=release.publish_at,
            new=publish_at,
            reason=required_reason(date_change_reason, "for moving the announced date"),
            by=by,
        )
    release.status = workflow.TARGETS["approve"]
    release.publish_at = publish_at
    release.date_confirmed = True
    release.approved_by = by
    release.approved_at = timezone.now()
    tasks.build_files_after_commit(release)  # ready, with their sizes, before it comes out
    tasks.schedule_release_moment(release)
    return save_step(
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
    release = lock(release, expected_version)
    workflow.require(by, "publish-now", release)
    _two_pairs_of_eyes(release, by, "publish")
    now = timezone.now()
    _run_checks(release, acknowledge_warnings=acknowledge_warnings, action="publish", publish_at=now)
    if release.publish_at and release.publish_at > now:
        _log_date_change(
            release,
            old=release.publish_at,
            new=now,
            reason=required_reason(reason, "for publishing before the announced time"),
            by=by,
        )
    release.status = workflow.TARGETS["publish-now"]
    release.publish_at = release.published_at = now
    release.date_confirmed = True
    tasks.build_files_after_commit(release)
    tasks.schedule_release_moment(release)  # now: warm the cache and send the alerts
    if release.approved_by_id is None:
        release.approved_by, release.approved_at = by, now
    return save_step(
        release,
        by=by,
        reason="Published now",
        fields=["status", "publish_at", "published_at", "date_confirmed", "approved_by", "approved_at"],
    )


# Who did what nobody clicked: the worker marking an approved release published at its second, or its
# catch-up (`manage.py publish_due` does the same by hand). Such a step is saved with no user and this
# reason; the history names it by RELEASE_CLOCK (`done_by`).
RELEASE_CLOCK = "the release clock"
RELEASE_CLOCK_REASON = "Published at its time"
# What marked a release published, and so why it was marked late: recorded in its history, with no
# one typing it, and read back for the late report and the admin (`marked_late_because`).
AT_ITS_MOMENT = "its release moment ran late (the worker was stopped or busy)"
BY_THE_CATCH_UP = "marked by the catch-up, as its release moment had not run"
BY_HAND = "marked by hand (manage.py publish_due)"


def done_by(user, reason: str | None):
    """Who did a recorded step: the person, the release clock for the worker's own, or None if unknown."""
    if user is not None:
        return user
    return RELEASE_CLOCK if (reason or "").startswith(RELEASE_CLOCK_REASON) else None


def publish_due_releases(*, at: dt.datetime | None = None, how: str = BY_HAND) -> list[Release]:
    """Mark published every approved release whose publish time has passed: the release moment.

    Nobody's click: the worker runs it at each publish time (`how` AT_ITS_MOMENT), its catch-up
    (BY_THE_CATCH_UP), and `manage.py publish_due` by hand. Each release is marked once, whoever
    runs it at the same moment; one marked a second or more after its time has its history say how
    late, and why. Visibility never waits for this (`Release.objects.public()` is time-based); it
    records that the moment came, and when.
    """
    marked = []
    for pk in Release.objects.due(at).values_list("pk", flat=True):
        with transaction.atomic():
            release = Release.objects.select_for_update().filter(pk=pk).first()
            if release is None or not Release.objects.due(at).filter(pk=pk).exists():
                continue  # another worker marked it first
            release.status = workflow.TARGETS["publish-due"]
            release.published_at = timezone.now()
            late = int((release.published_at - release.publish_at).total_seconds())
            reason = RELEASE_CLOCK_REASON + (f", {late} s late: {how}" if late >= 1 else "")
            marked.append(save_step(release, by=None, reason=reason, fields=["status", "published_at"]))
    return marked


def marked_late_because(release: Release) -> str:
    """Why the release was marked published late, as its history recorded it ("" if it was not)."""
    reason = (
        release.history.filter(history_change_reason__startswith=RELEASE_CLOCK_REASON + ", ")
        .values_list("history_change_reason", flat=True)
        .first()
    )
    return (reason or "").partition(": ")[2]


@transaction.atomic
def withdraw_release(*, release: Release, by, reason: str, expected_version: int | None = None) -> Release:
    """A public release → withdrawn, with a public reason."""
    release = lock(release, expected_version)
    workflow.require(by, "withdraw", release)
    release.status_reason = required_reason(reason, "for withdrawing it")
    release.status = workflow.TARGETS["withdraw"]
    return save_step(release, by=by, reason="Withdrawn", fields=["status", "status_reason"])


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
    release = lock(release, expected_version)
    workflow.require(by, "change-date", release)
    if confirm:
        _require(by, "approve_release", "confirm an announced date")
    publish_at = _future(publish_at, "new publish time")
    old = release.publish_at
    if old is not None and old != publish_at:
        _log_date_change(
            release, old=old, new=publish_at, reason=required_reason(reason, "for the new date"), by=by
        )
    elif old == publish_at and not confirm:
        raise ValidationError(f"“{release}” is already due at {ukclock.uk_label(old)}.")
    release.publish_at = publish_at
    release.date_confirmed = release.date_confirmed or confirm
    if release.status == Status.SCHEDULED:  # its files print the publish time
        tasks.build_files_after_commit(release)
        tasks.schedule_release_moment(release)
    text = f"Date set to {ukclock.uk_label(publish_at, weekday=False)}" + (" (confirmed)" if confirm else "")
    return save_step(release, by=by, reason=text, fields=["publish_at", "date_confirmed"])


@transaction.atomic
def cancel_release(*, release: Release, by, reason: str, expected_version: int | None = None) -> Release:
    """A coming release → cancelled; its calendar entry stays, with the reason."""
    release = lock(release, expected_version)
    workflow.require(by, "cancel", release)
    reason = required_reason(reason, "for cancelling")
    if release.publish_at:
        _log_date_change(release, old=release.publish_at, new=None, reason=reason, by=by)
    release.status = workflow.TARGETS["cancel"]
    release.status_reason = reason
    return save_step(release, by=by, reason="Cancelled", fields=["status", "status_reason"])


# --- one place that names the release-wide workflow steps -------------------------------------

# The workflow's steps, as its table names them (editing and correcting have their own pages).
RELEASE_STEPS = tuple(action for action in workflow.RULES if action not in ("edit", "correct"))


@transaction.atomic
def move_release(*, release: Release, by, step: str, reason: str = "", expected_version: int | None = None):
    """A step that only moves the release to the state the table gives it, its reason in the history."""
    release = lock(release, expected_version)
    workflow.require(by, step, release)
    release.status = workflow.TARGETS[step]
    text = workflow.VERBS[step].capitalize() + (f": {reason.strip()}" if reason.strip() else "")
    return save_step(release, by=by, reason=text, fields=["status"])


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
        case _ if step in RELEASE_STEPS and step in workflow.TARGETS:
            return move_release(**on, step=step, reason=reason)
    raise ValueError(f"“{step}” is not a workflow step; use one of: {', '.join(RELEASE_STEPS)}.")
