"""The release moment, run by the task worker (django-tasks), and the periodic catch-up.

Approving a release schedules `release_moment` for its publish time. Then, on the second: the
release is marked published (the time recorded; how late, and why, in its history), and its follow-up
runs (`went_out`: staff told if it is late, the public cache warmed, `signals.release_published`
sent, which email alerts listen to). The follow-up runs once, however many workers, moments or
catch-ups reach it together: the first to claim `Release.went_out_at` runs it. Visibility never
waits for any of this: `Release.objects.public()` lets a release through by the clock alone.

`catch_up` runs every NEWSROOM_CATCH_UP_SECONDS (it schedules its next run itself): a worker that
was stopped at a release's time publishes, warms and announces it when it starts again; and it keeps
what readers read and never write (file sizes not built yet, the latest release's pages).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django_tasks import default_task_backend, task

from common.cache import _safe
from stats.models import Release
from stats.publishing import signals
from stats.wording import ukclock

logger = logging.getLogger(__name__)

CATCH_UP_KEY = "tasks:catch-up-scheduled"


def enqueue_at(task_, when: dt.datetime | None, *args):
    """Enqueue `task_` to run at `when` (now if it has passed, or the backend cannot defer)."""
    if when is not None and when > timezone.now() and default_task_backend.supports_defer:
        return task_.using(run_after=when).enqueue(*args)
    return task_.enqueue(*args)


def schedule_release_moment(release: Release) -> None:
    """Once the approval (or a new date, or publishing now) commits: the moment, at the publish time.

    A release whose date moves has a moment at each time it was given; each finds out, when it
    runs, whether its time has really come.
    """
    release_id, when = release.pk, release.publish_at
    # Robust: a queue that refuses it is logged, and the catch-up publishes the release; the
    # change's other hooks (forgetting cached pages, moving kept pages on) still run.
    transaction.on_commit(lambda: enqueue_at(release_moment, when, release_id), robust=True)


def announce(signal, **ids) -> None:
    """Send a workflow event once the current change commits."""
    transaction.on_commit(lambda: signal.send(sender=Release, **ids), robust=True)


@task()
def release_moment(release_id: int) -> str:
    """Publish, warm and announce a release whose publish time has come; say what was done.

    A release cancelled, withdrawn or sent back to draft since it was scheduled: nothing is done
    (no publication, warming or alert), and the result says why.
    """
    from stats.publishing.services import AT_ITS_MOMENT, publish_due_releases

    release = Release.objects.filter(pk=release_id).first()
    if release is None:
        return _nothing_done(f"release {release_id} no longer exists")
    if release.status not in Release.PUBLIC_STATUSES or release.publish_at is None:
        return _nothing_done(f"“{release}” is {release.STATUS_PHRASES[release.status]} now")
    if release.publish_at > timezone.now():
        return f"Not yet: “{release}” is now due {ukclock.uk_label(release.publish_at)}."
    publish_due_releases(how=AT_ITS_MOMENT)
    if release.pk in {other.pk for other in follow_up()}:
        return f"Published “{release}”: warmed and announced."
    release.refresh_from_db(fields=["status", "went_out_at"])
    if release.status != Release.Status.PUBLISHED:
        return _nothing_done(f"“{release}” is {release.STATUS_PHRASES[release.status]} now")
    return f"Nothing more to do: “{release}” was warmed and announced by another worker or the catch-up."


def _nothing_done(why: str) -> str:
    message = f"Nothing done: {why}, so it is not published, warmed or announced."
    logger.info("Release moment: %s", message)
    return message


# How long after being marked published a release is still followed up by the catch-up, if the
# worker that marked it stopped before its follow-up began (the alerts' own catch-up looks as far).
FOLLOW_UP_WITHIN = dt.timedelta(days=1)


def follow_up() -> list[Release]:
    """Follow up (`went_out`) every release marked published lately that nobody has followed up:
    what was just marked, published at once, or left by a worker that stopped. Returns those this
    call followed up."""
    waiting = Release.objects.filter(
        status=Release.Status.PUBLISHED,
        went_out_at__isnull=True,
        published_at__gte=timezone.now() - FOLLOW_UP_WITHIN,
    ).order_by("publish_at", "pk")
    return [release for release in waiting if went_out(release)]


def went_out(release: Release) -> bool:
    """What follows a release coming out: staff told if it was marked late, its page warmed, the
    event sent (the alerts queued), then the rest of the site warmed (queued after the alerts, so
    the first alert leaves within moments of the second). Run once, whoever asks at the same moment
    (the release moment, another worker's, the catch-up): the first to claim the release with one
    conditional UPDATE runs it; the others do nothing. Returns whether this call ran it."""
    from stats.publishing.warming import warm_public_cache

    claimed = Release.objects.filter(
        pk=release.pk, status=Release.Status.PUBLISHED, went_out_at__isnull=True
    ).update(went_out_at=timezone.now())
    if not claimed:
        return False
    release.refresh_from_db()
    if release.marked_late_by:
        report_late(release, release.marked_late_by)
    try:  # where the alert sends its readers: warm before it goes
        warmed = warm_public_cache(release, first_only=True)
    except Exception:  # a cold cache costs its first readers time; the alerts must go out all the same
        logger.exception("Could not warm the page of %s.", release)
        warmed = []
    failed = [w.path for w in warmed if w.status != 200]
    logger.info("Published %s; warmed its page%s.", release, f", failed: {failed}" if failed else "")
    signals.release_published.send(sender=Release, release_id=release.pk)  # the alerts, queued first
    transaction.on_commit(lambda: warm_release.enqueue(release.pk), robust=True)  # then the rest
    return True


def report_late(release: Release, seconds: int) -> None:
    """Tell the publishers a release was marked published late (the worker was stopped, say), and why."""
    from stats.publishing.services import marked_late_because

    because = marked_late_because(release)
    message = (
        f"“{release}” was due at {ukclock.uk_label(release.publish_at)} and was marked published "
        f"{seconds} seconds later, at {ukclock.uk_label(release.published_at, seconds=True)}"
        f"{f' ({because})' if because else ''}. It was public from its time; its email alerts and "
        "cache warming ran late. Check the task worker is running."
    )
    logger.warning(message)
    recipients = list(
        get_user_model()
        .objects.filter(groups__name="Publishers", is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if recipients:
        send_mail(f"Late: {release}", message, None, recipients, fail_silently=True)


@task()
def build_release_files(release_id: int) -> str:
    """Build a release's files (PDF, CSV, XLSX, JSON, zip) as the public will read them, and keep
    their sizes for its page: in the worker, never in the request of whoever approved or corrected."""
    from stats.outputs.files import build_files, site_request

    release = Release.objects.filter(pk=release_id).first()
    if release is None:
        return f"Nothing built: release {release_id} no longer exists."
    sizes = build_files(release, request=site_request())
    return f"Built the {', '.join(sorted(sizes))} of {release}."


def build_files_after_commit(release: Release) -> None:
    """Once the change commits, have the worker build the release's files, so they are ready, with
    their sizes on the page, when it comes out or as soon as a correction is made. A queue that
    refuses is logged: readers' downloads are built for them meanwhile, and the catch-up keeps them."""
    release_id = release.pk
    transaction.on_commit(lambda: build_release_files.enqueue(release_id), robust=True)


@task()
def warm_release(release_id: int) -> str:
    """Build and keep again the pages a public release's change touched (a correction), so readers
    after it are served what is kept rather than each rendering it."""
    from stats.publishing.warming import warm_public_cache

    release = Release.objects.public().filter(pk=release_id).first()
    if release is None:
        return "not public"
    warmed = warm_public_cache(release)
    return f"warmed {len(warmed)} pages of {release}"


@receiver(signals.correction_published, dispatch_uid="stats.warm_after_correction")
def warm_after_correction(sender, correction_id: int, **kwargs) -> None:
    from stats.models import Correction

    release_id = Correction.objects.filter(pk=correction_id).values_list("release_id", flat=True).first()
    if release_id is not None:
        transaction.on_commit(lambda: warm_release.enqueue(release_id), robust=True)


@task()
def catch_up() -> str:
    """Publish what is overdue, follow up what nobody has, let listeners finish what was left, and
    come back in a while."""
    from stats.publishing.services import BY_THE_CATCH_UP, publish_due_releases
    from stats.publishing.warming import keep_what_readers_read

    marked = publish_due_releases(how=BY_THE_CATCH_UP)
    followed = follow_up()
    signals.catching_up.send(sender=Release)
    built = keep_what_readers_read()
    schedule_catch_up()
    return f"caught up ({len(marked)} published, {len(followed)} followed up, files built for {built})"


def schedule_catch_up() -> bool:
    """Enqueue the next catch-up, unless one is already on its way (one chain across workers).

    With the cache out of reach the chain goes on regardless: a second chain for a while costs
    nothing (each step is claimed once), a broken one would stop the catch-up for good.
    """
    interval = settings.NEWSROOM_CATCH_UP_SECONDS
    if not _safe(lambda: cache.add(CATCH_UP_KEY, True, timeout=max(1, interval - 1)), default=True):
        return False
    enqueue_at(catch_up, timezone.now() + dt.timedelta(seconds=interval))
    return True


@task()
def send_pre_release_link(grant_id: int) -> str:
    """Email one person their personal pre-release link (once: a repeat run sends nothing).

    The grant is claimed in a short transaction and the email sent after it: no write lock is held
    while the mail server answers. A send that fails gives the claim back, for the next run.
    """
    from stats.models import PreReleaseGrant
    from stats.publishing import prerelease

    with transaction.atomic():
        grant = (
            PreReleaseGrant.objects.select_for_update().select_related("release").filter(pk=grant_id).first()
        )
        if grant is None or grant.emailed_at is not None or grant.is_revoked:
            return "nothing to send"
        if not prerelease.is_coming(grant.release):
            return "not sent: the release is no longer approved and coming"
        claimed_at = timezone.now()
        PreReleaseGrant.objects.filter(pk=grant.pk).update(emailed_at=claimed_at)
    times = prerelease.window(grant.release)
    body = "\n\n".join(
        [
            f"Dear {grant.name},",
            f"You have been given pre-release access to “{grant.release.heading}”, for this reason: "
            f"{grant.reason}",
            f"Your personal link, for you alone: {prerelease.link_url(grant)}",
            f"It opens at {ukclock.uk_label(times.opens)} and closes at publication, "
            f"{ukclock.uk_label(times.closes)}. {prerelease.notice(grant)}",
            "Each time you open it is recorded, and the job titles and organisations of those who "
            "had pre-release access are published with the release, as the Code of Practice for "
            "Statistics requires. Do not forward this email.",
            settings.NEWSROOM_ORGANISATION,
        ]
    )
    try:
        send_mail(f"Pre-release access: {grant.release.heading}", body, None, [grant.email])
    except Exception:
        PreReleaseGrant.objects.filter(pk=grant.pk, emailed_at=claimed_at).update(emailed_at=None)
        raise
    return f"sent to grant {grant_id}"
