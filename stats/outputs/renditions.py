"""Pieces of public page rendered once for what they show, and kept.

A release page's body (its figures, comparisons, notes, corrections, contacts, files), a metric's
series and the archive change only when something they show changes, and every such change already
tells the public cache which pages show it (`common.cache.invalidate` / `invalidate_scopes`). The
same calls move on the versions kept here (`PublicVersion`), in the database: "all" for what every
page may show, "site" for what pages of every release show (any public release's content), a
release's scope for its own. A piece is stored with the versions it was rendered from, read before
rendering, so one rendered from data older than a change is never served, whatever the order of the
reader and the change; with the code and settings it was rendered by, so a new deployment renders
again; and with whatever else it depends on that no save announces (which releases are out: one
comes out at its second).

What changes with time, not with an edit, and is cheap is left out and put in per request: a
release page's links to the releases either side (the next appears at its second), its "latest"
caption and the next release the calendar announces.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Max, Min, Q
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from common.cache import SITE, build_once, public_changed
from common.keeping import may_keep
from stats.models import PublicVersion, Release, Rendition

logger = logging.getLogger(__name__)

EVERYTHING = "all"
# Moved on with every other version, whatever the change touched: whether anything public has
# changed since (the pages a process keeps while the shared cache cannot be reached).
ANY = "any"
# Where the per-request parts go in a stored body.
NAV_SLOT = mark_safe("<!--newsroom:release-nav-->")
LATEST_SLOT = mark_safe("<!--newsroom:latest-caption-->")
NEXT_SLOT = mark_safe("<!--newsroom:next-release-->")
SLOTS = {"nav": NAV_SLOT, "latest": LATEST_SLOT, "next": NEXT_SLOT}


@receiver(public_changed)
def move_on(sender, scopes, **kwargs) -> None:
    """After the change commits: a new version for what it touched (the public cache's scopes)."""
    names = [EVERYTHING] if scopes is None else sorted(set(scopes))
    if names:
        transaction.on_commit(lambda: bump(names))


@receiver(post_delete, sender=Release)
def forget_release(sender, instance, **kwargs) -> None:
    """A deleted release's body goes with it (a new release never matches it: "all" moved on)."""
    Rendition.objects.filter(key=instance.cache_scope).delete()


def bump(names) -> None:
    version = time.time_ns()
    try:
        PublicVersion.objects.bulk_create(
            [PublicVersion(scope=name, version=version) for name in sorted({*names, ANY})],
            update_conflicts=True,
            unique_fields=["scope"],
            update_fields=["version"],
        )
    except DatabaseError:  # the change has committed; a release's own version has moved on with it
        logger.error("Could not move on the stored pieces of %s.", ", ".join(names), exc_info=True)


def public_version() -> int | None:
    """Where the public content stands: a number that every public change moves on, on whichever
    server it is made (settings.NEWSROOM_PUBLIC_VERSION, for `common.cache`)."""
    return PublicVersion.objects.filter(scope=ANY).values_list("version", flat=True).first()


def code_digest() -> str:
    """The code version a body is rendered by (settings.NEWSROOM_CODE_VERSION)."""
    return settings.NEWSROOM_CODE_VERSION


def pieces_kept() -> bool:
    """Whether pieces are kept: only with public caching on, as whole pages are."""
    return settings.PUBLIC_CACHE_SECONDS > 0


def _kept(key: str, site: str, shows: list[str]) -> tuple:
    """The stored piece's `built_from` and body (None, None if there is none) and the current
    versions of `shows`, in one statement: the hottest read of the public site, written out so no
    query is compiled for it on each request."""
    quote = connection.ops.quote_name
    version = (
        f"(SELECT {quote('version')} FROM {quote(PublicVersion._meta.db_table)} WHERE {quote('scope')} = %s)"
    )
    sql = (
        f"SELECT r.{quote('built_from')}, r.{quote('body')}, {', '.join([version] * len(shows))} "
        f"FROM (SELECT 1 AS one) AS o LEFT JOIN {quote(Rendition._meta.db_table)} AS r "
        f"ON r.{quote('key')} = %s AND r.{quote('site')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*shows, key, site])
        return cursor.fetchone()


def stored(
    key: str, *, site: str, shows: list[str], also: Callable[[], str], render: Callable[[], str]
) -> SafeString:
    """The piece `key` as stored for `site` if nothing it shows has moved on since (one query), else
    `render()`'s, stored.

    `shows`: the scopes whose versions it must match; `also()`: anything else it was rendered from
    that no save announces. The current versions are read with the stored piece, before any rendering.
    Only a moment that may keep (`common.keeping`: the worker's warming) stores it: a reader's
    request renders for itself and writes nothing. A page that fails to store it is still served.
    With public caching off (PUBLIC_CACHE_SECONDS 0) every piece is rendered for its request.
    """
    if not pieces_kept():
        return mark_safe(render())
    stored_from, stored_body, *now = _kept(key, site, shows)
    wanted = ":".join([code_digest(), *(str(version or 0) for version in now), also()])
    if stored_from == wanted:
        return mark_safe(stored_body)
    if not may_keep():  # a reader: rendered for this request; the worker keeps it (warming)
        return mark_safe(render())

    def read():
        return (
            Rendition.objects.filter(key=key, site=site, built_from=wanted)
            .values_list("body", flat=True)
            .first()
        )

    def render_and_store():
        body = render()
        try:  # one statement: two servers storing the same piece at once both succeed, the later kept
            Rendition.objects.bulk_create(
                [Rendition(key=key, site=site, built_from=wanted, body=body, built_at=timezone.now())],
                update_conflicts=True,
                unique_fields=["key", "site"],
                update_fields=["built_from", "body", "built_at"],
            )
        except DatabaseError:
            logger.warning("Could not store %s for %s; served it anyway.", key, site, exc_info=True)
        return body

    # When a release comes out every reader misses at once: one server renders each piece.
    lock = "building:rendition:" + hashlib.sha256(f"{key} {site} {wanted}".encode()).hexdigest()
    return mark_safe(build_once(lock, read, render_and_store))


def release_body(
    release: Release, *, previous: Release | None, site: str, render: Callable[[], str]
) -> SafeString:
    """A public release's page body: its own content, what every page shows, its version (which
    every edit moves on, bulk ones included), and which release it compares with (an earlier
    period coming out late, at its second, becomes the one)."""
    return stored(
        release.cache_scope,
        site=site,
        shows=[EVERYTHING, release.cache_scope, release.files_scope],
        also=lambda: f"{release.version}:{previous.period_date if previous else '-'}",
        render=render,
    )


def series_body(key: str, *, site: str, render: Callable[[], str]) -> SafeString:
    """A piece made from the figures of every public release (a metric's chart and table, the
    archive, the home page): any public release's content, what every page shows, which releases
    are out and the next one announced (a date passing moves it on without any save)."""

    def out() -> str:
        now = timezone.now()
        public = Release.objects.public(at=now).aggregate(count=Count("pk"), latest=Max("period_date"))
        coming = Release.objects.announced(at=now).order_by().aggregate(next=Min("publish_at"))
        return f"{public['count']}-{public['latest']}-{coming['next']}"

    return stored(key, site=site, shows=[EVERYTHING, SITE], also=out, render=render)


def neighbours(release: Release, *, among) -> tuple[Release | None, Release | None]:
    """The releases either side among `among`, as far as links to them need (one query)."""
    periods = among.aggregate(
        previous=Max("period_date", filter=Q(period_date__lt=release.period_date)),
        following=Min("period_date", filter=Q(period_date__gt=release.period_date)),
    )
    return tuple(
        Release(period_date=period) if period is not None else None
        for period in (periods["previous"], periods["following"])
    )


def fill(body: str, **parts: str) -> SafeString:
    """A stored body with this request's parts (`SLOTS`' names) put in."""
    for name, slot in SLOTS.items():
        body = body.replace(slot, parts[name], 1)
    return mark_safe(body)
