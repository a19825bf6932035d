"""Pre-release access: grants, personal links, the log of every use and refusal, breaches.

Limited: a publisher grants access to an approved release that is not yet public, to a named
person for a reason; the link opens at most PRE_RELEASE_HOURS before the publish time and closes
at it. Recorded: every open and every refused attempt is logged against its grant. Published: at
the publish time the release page, its downloads and the API list the job titles and
organisations of those who had access (never names or addresses), from this ledger.

A personal link is /pre-release/<yyyy-mm-dd>/<signed token>/: the token is 256 random bits, and
the signature (Django's signing, with the secret key) means a made-up or altered link is refused
before anything is looked up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from stats.models import PreReleaseAccess, PreReleaseBreach, PreReleaseGrant, Release
from stats.publishing import public, workflow
from stats.wording import ukclock

SALT = "statistics.pre-release-link"
PERMISSION = "statistics.grant_pre_release"
BREACH_PERMISSION = "statistics.add_prereleasebreach"


def hours() -> int:
    return int(getattr(settings, "PRE_RELEASE_HOURS", 24))


@dataclass(frozen=True)
class Window:
    opens: dt.datetime
    closes: dt.datetime  # the publish time: from then on the release is public and the link is shut


def window(release: Release) -> Window:
    return Window(release.publish_at - dt.timedelta(hours=hours()), release.publish_at)


def is_coming(release: Release) -> bool:
    """Approved and not yet public: the only state in which access may be granted or used."""
    return workflow.state_of(release) == workflow.COMING


def ledger_closed(release: Release) -> bool:
    """Out (or withdrawn): its grants can no longer change. Before, even sent back to draft, they can."""
    return release.is_out


def _require(user, permission: str, what: str) -> None:
    if user is None or not user.is_active or not user.has_perm(permission):
        raise PermissionDenied(f"Only publishers may {what}.")


# --- Grants ------------------------------------------------------------------------------------


def grant_access(
    *, release: Release, by, name: str, job_title: str, organisation: str, email: str, reason: str
) -> PreReleaseGrant:
    """Grant one person access to an approved release before it is public; the link is emailed."""
    _require(by, PERMISSION, "grant pre-release access")
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=release.pk)
        if not is_coming(release):
            raise ValidationError(
                "Pre-release access can be granted only to an approved release before its publish "
                f"time; this release is {workflow.STATE_LABELS[workflow.state_of(release)]}."
            )
        grant = PreReleaseGrant(
            release=release,
            name=name.strip(),
            job_title=job_title.strip(),
            organisation=organisation.strip(),
            email=email.strip(),
            reason=reason.strip(),
            granted_by=by,
            approval=release.approved_at,
        )
        grant.full_clean()
        grant.save()
        from stats.publishing.tasks import send_pre_release_link

        grant_id = grant.pk
        transaction.on_commit(lambda: send_pre_release_link.enqueue(grant_id), robust=True)
    return grant


def revoke_access(*, grant: PreReleaseGrant, by, reason: str) -> PreReleaseGrant:
    """Shut one person's link before publication, with a reason kept in the ledger."""
    _require(by, PERMISSION, "revoke pre-release access")
    if not reason.strip():
        raise ValidationError("Say why the access is revoked.")
    with transaction.atomic():
        grant = PreReleaseGrant.objects.select_for_update().select_related("release").get(pk=grant.pk)
        if grant.is_revoked:
            raise ValidationError(f"{grant.name}’s access was already revoked.")
        if ledger_closed(grant.release):
            raise ValidationError("The release is out: its pre-release ledger can no longer change.")
        grant.revoked_at, grant.revoked_by, grant.revoke_reason = timezone.now(), by, reason.strip()
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    return grant


def record_breach(*, release: Release, by, explanation: str) -> PreReleaseBreach:
    """A breach of pre-release access, published with the release (it may be found after it is out)."""
    _require(by, BREACH_PERMISSION, "record a breach of pre-release access")
    if not explanation.strip():
        raise ValidationError("Explain the breach: it is published with the release.")
    if workflow.state_of(release) not in (workflow.COMING, workflow.PUBLIC, workflow.WITHDRAWN):
        raise ValidationError("A breach can be recorded only against an approved or published release.")
    breach = PreReleaseBreach.objects.create(release=release, explanation=explanation.strip(), recorded_by=by)
    public.release_content_changed(release)  # on its page once it is out
    return breach


# --- Personal links ----------------------------------------------------------------------------


def signed_token(grant: PreReleaseGrant) -> str:
    return signing.Signer(salt=SALT).sign(grant.token)


def link_path(grant: PreReleaseGrant, *, pdf: bool = False) -> str:
    name = "statistics:pre-release-pdf" if pdf else "statistics:pre-release"
    return reverse(name, args=[grant.release.period_date, signed_token(grant)])


def link_url(grant: PreReleaseGrant) -> str:
    return settings.NEWSROOM_SITE_URL.rstrip("/") + link_path(grant)


def notice(grant: PreReleaseGrant) -> str:
    """The watermark on every personal copy."""
    return (
        f"Pre-release access for {grant.name}. Not for publication until "
        f"{ukclock.uk_label(grant.release.publish_at)}."
    )


class Refused(Exception):
    """A personal link that may not open now: `message` says why, in words for its holder."""

    def __init__(self, message: str, *, status: int = 403):
        super().__init__(message)
        self.message, self.status = message, status


def open_link(period: dt.date, token: str, *, viewed: str, record: bool = True) -> PreReleaseGrant:
    """The grant a link opens now, logged as opened (unless not `record`: a check before the
    person asks to read it); or Refused, logged as refused.

    A link whose signature fails was never ours (made up or altered): refused, and not logged, so
    nobody can fill the log by guessing.
    """
    now = timezone.now()
    try:
        raw = signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        raise Refused(
            "This is not a working pre-release access link. Check it was copied whole.", status=404
        ) from None
    grant = PreReleaseGrant.objects.select_related("release").filter(token=raw).first()
    try:
        _check(grant, period, now)
    except Refused as refused:
        PreReleaseAccess.objects.create(
            grant=grant,
            release=grant.release if grant else None,
            at=now,
            viewed=viewed,
            outcome=PreReleaseAccess.Outcome.REFUSED,
            refusal=refused.message[:300],
        )
        raise
    if record:
        PreReleaseAccess.objects.create(
            grant=grant, release=grant.release, at=now, viewed=viewed, outcome=PreReleaseAccess.Outcome.OPENED
        )
    return grant


def _check(grant: PreReleaseGrant | None, period: dt.date, now: dt.datetime) -> None:
    if grant is None:
        raise Refused("This is not a working pre-release access link. Check it was copied whole.", status=404)
    release = grant.release
    if release.period_date != period:
        raise Refused(f"This link is for another release, not the one for {period:%d %B %Y}.", status=404)
    if release.status not in Release.PUBLIC_STATUSES or release.publish_at is None:
        raise Refused("This release is no longer scheduled for publication.")
    times = window(release)
    if now >= times.closes:
        raise Refused(
            f"Pre-release access closed at publication, {ukclock.uk_label(times.closes)}: "
            "the release is public now.",
            status=410,
        )
    if grant.is_revoked:
        raise Refused(f"This access was revoked on {ukclock.uk_label(grant.revoked_at)}.")
    if grant.approval != release.approved_at:
        raise Refused(
            "This release was approved again after your access was granted. Ask the publisher for "
            "access to it as it is now."
        )
    if now < times.opens:
        raise Refused(
            f"Pre-release access opens at {ukclock.uk_label(times.opens)}, {hours()} hours before "
            f"publication at {ukclock.uk_label(times.closes)}."
        )
