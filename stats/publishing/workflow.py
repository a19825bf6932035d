"""The publishing workflow's one table: what may happen to a release in which state, who may do it,
and what it becomes. Read by every write path.

The services (and so the admin's buttons and the `release` command), the admin's forms and
inlines, and every import ask here. A role is a set of Django permissions (the groups made by
the migrations); a state is where the release is, with "coming" (approved, before its time) and
"public" (approved and past its time) told apart because that is what decides what may change.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from stats.models import Release

Status = Release.Status

DRAFT, IN_REVIEW, COMING, PUBLIC, WITHDRAWN, CANCELLED = (
    "draft",
    "in_review",
    "coming",
    "public",
    "withdrawn",
    "cancelled",
)
STATES = (DRAFT, IN_REVIEW, COMING, PUBLIC, WITHDRAWN, CANCELLED)
STATE_LABELS = {
    DRAFT: "a draft",
    IN_REVIEW: "in review",
    COMING: "approved and not yet public",
    PUBLIC: "public",
    WITHDRAWN: "withdrawn",
    CANCELLED: "cancelled",
}
NOT_YET_PUBLIC = (DRAFT, IN_REVIEW, COMING)

# action -> {state it may happen in: the permission it needs}
RULES: dict[str, dict[str, str]] = {
    # Change a release's text, figures or bullets: by hand, by import, confirming or explaining figures.
    "edit": {DRAFT: "change_release"},
    # Set the statistics' status (accredited, official, in development, management information): a
    # publisher's call, on the draft's own page; press officers see it and cannot change it.
    "designate": {DRAFT: "approve_release"},
    # Change a public release's figures or bullets, with a public correction notice.
    "correct": {PUBLIC: "correct_release"},
    # Start next week's draft from an approved release (coming or public): its figures and bullets are
    # what a publisher signed off. Not from a draft or one in review (still changing), nor a cancelled
    # or withdrawn one.
    "start-next": {COMING: "add_release", PUBLIC: "add_release"},
    "submit": {DRAFT: "submit_release"},
    "approve": {IN_REVIEW: "approve_release"},
    "publish-now": {IN_REVIEW: "publish_release", COMING: "publish_release"},
    "return-to-draft": {IN_REVIEW: "submit_release", COMING: "approve_release"},
    "change-date": {DRAFT: "change_release", IN_REVIEW: "change_release", COMING: "approve_release"},
    "cancel": {state: "approve_release" for state in NOT_YET_PUBLIC},
    "withdraw": {PUBLIC: "withdraw_release"},
}
# What each step makes of the release. "publish-due" is nobody's click: an approved release whose
# time has come is marked published (by the worker, or `manage.py publish_due`); it was public from
# its publish time whatever was marked, since visibility is `Release.objects.public()`'s alone.
TARGETS: dict[str, str] = {
    "submit": Status.IN_REVIEW,
    "approve": Status.SCHEDULED,
    "publish-now": Status.PUBLISHED,
    "publish-due": Status.PUBLISHED,
    "return-to-draft": Status.DRAFT,
    "cancel": Status.CANCELLED,
    "withdraw": Status.WITHDRAWN,
}
# Moving a date the public has been told is final is a publisher's call, whatever the state.
CONFIRMED_DATE_ACTIONS = {"change-date": "approve_release"}

VERBS = {
    "edit": "edit",
    "designate": "set the statistics status of",
    "correct": "correct",
    "start-next": "start the next release from",
    "submit": "submit",
    "approve": "approve",
    "publish-now": "publish",
    "return-to-draft": "return to draft",
    "change-date": "change the date of",
    "cancel": "cancel",
    "withdraw": "withdraw",
}


def state_of(release: Release) -> str:
    if release.status == Status.SCHEDULED:
        return PUBLIC if release.is_public else COMING
    if release.status == Status.PUBLISHED:
        return PUBLIC
    return str(release.status)


def permission_for(action: str, release: Release) -> str | None:
    """The permission `action` needs on `release` now, or None if it cannot happen in its state."""
    codename = RULES[action].get(state_of(release))
    if codename and release.date_confirmed and action in CONFIRMED_DATE_ACTIONS:
        return CONFIRMED_DATE_ACTIONS[action]
    return codename


def content_action(release: Release) -> str | None:
    """How a release's figures and bullets may change now: "edit" (a draft), "correct" (public), or not."""
    state = state_of(release)
    return next((action for action in ("edit", "correct") if state in RULES[action]), None)


def allowed(user, action: str, release: Release) -> bool:
    codename = permission_for(action, release)
    return bool(
        codename
        and user is not None
        and user.is_authenticated
        and user.is_active
        and user.has_perm(f"statistics.{codename}")
    )


def refusal(action: str, release: Release) -> str:
    """Why `action` cannot happen to `release` in its state, and what to do instead."""
    state = state_of(release)
    if action == "correct":
        return f"“{release}” is not public, so there is nothing to correct: edit it as a draft instead."
    if action == "withdraw":
        return (
            f"Only a public release can be withdrawn; “{release}” is {STATE_LABELS[state]}. "
            "Return it to draft or cancel it instead."
        )
    if action == "start-next":
        return (
            f"“{release}” is {STATE_LABELS[state]}: start the next release from one a publisher has "
            "approved (scheduled or published)."
        )
    if state == PUBLIC and action in ("publish-now", "return-to-draft", "cancel"):
        return f"“{release}” is already public: correct or withdraw it instead."
    if action == "edit":
        hint = {
            IN_REVIEW: " Return it to draft to change it.",
            COMING: " Return it to draft to change it.",
            PUBLIC: " Use a correction.",
        }.get(state, "")
        return f"“{release}” is {STATE_LABELS[state]}, so it cannot be edited.{hint}"
    states = " or ".join(STATE_LABELS[s] for s in RULES[action])
    return f"Cannot {VERBS[action]} “{release}”: it is {STATE_LABELS[state]}, not {states}."


def require(user, action: str, release: Release) -> None:
    """Refuse `action` on `release` by `user`.

    ValidationError when the release's state does not allow it; PermissionDenied for the role.
    """
    codename = permission_for(action, release)
    if codename is None:
        raise ValidationError(refusal(action, release))
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied(f"Sign in to {VERBS[action]} a release.")
    if not user.has_perm(f"statistics.{codename}"):
        if release.date_confirmed and action in CONFIRMED_DATE_ACTIONS:
            what = "change or confirm an announced date"
        else:
            what = f"{VERBS[action]} a release that is {STATE_LABELS[state_of(release)]}"
        raise PermissionDenied(f"You do not have permission to {what}. Ask a publisher.")
