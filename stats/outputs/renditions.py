"""A public release's page body, rendered once for what it shows and kept.

A release page's body (its figures, comparisons, notes, corrections, contacts, files) changes only
when something it shows changes, and every such change already tells the public cache which pages
show it (`common.cache.invalidate` / `invalidate_scopes`). The same calls move on the versions kept
here (`PublicVersion`), in the database: "all" for what every page may show, a release's scope for
its own content. A body is stored with the versions it was rendered from, read before rendering, so
one rendered from data older than a change is never served, whatever the order of the reader and
the change; with the code and settings it was rendered by, so a new deployment renders again.

What changes with time, not with an edit, is left out and put in per request: the links to the
releases either side (the next one appears at its second) and the "latest" caption.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from functools import cache
from importlib.metadata import version as installed_version
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Max, Min, Q, Subquery
from django.dispatch import receiver
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from common.cache import public_changed
from stats.models import PublicVersion, Release, ReleaseRendition

logger = logging.getLogger(__name__)

EVERYTHING = "all"
# Where the per-request parts go in a stored body.
NAV_SLOT = mark_safe("<!--newsroom:release-nav-->")
LATEST_SLOT = mark_safe("<!--newsroom:latest-caption-->")
SLOTS = {"nav": NAV_SLOT, "latest": LATEST_SLOT}
# What a body's rendering depends on besides data: the project's code and templates, the libraries
# that format what it prints, and the settings it reads.
SOURCE_DIRS = ("templates", "stats", "contacts", "common", "newsroom")
LIBRARIES = ("django", "phonenumbers", "phonenumberslite", "django-phonenumber-field")
SETTINGS = ("TIME_ZONE", "LANGUAGE_CODE", "NEWSROOM_SITE_NAME", "NEWSROOM_ORGANISATION", "PRE_RELEASE_HOURS")


@receiver(public_changed)
def move_on(sender, scopes, **kwargs) -> None:
    """After the change commits: a new version for what it touched."""
    names = [EVERYTHING] if scopes is None else sorted({s for s in scopes if s.startswith("release:")})
    if names:
        transaction.on_commit(lambda: bump(names))


def bump(names) -> None:
    version = time.time_ns()
    try:
        PublicVersion.objects.bulk_create(
            [PublicVersion(scope=name, version=version) for name in names],
            update_conflicts=True,
            unique_fields=["scope"],
            update_fields=["version"],
        )
    except DatabaseError:  # the change has committed; its release's own version still moved on
        logger.error("Could not move on the stored bodies of %s.", ", ".join(names), exc_info=True)


@cache
def code_digest(base: Path | None = None) -> str:
    """A digest of the source files, libraries and settings a body is rendered by (once a process)."""
    base = Path(settings.BASE_DIR) if base is None else base
    digest = hashlib.sha256()
    for folder in SOURCE_DIRS:
        for path in sorted((base / folder).rglob("*")):
            if path.suffix in (".py", ".html", ".txt") and "migrations" not in path.parts:
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={installed_version(name)}".encode())
        except Exception:  # not installed
            continue
    for name in SETTINGS:
        digest.update(f"{name}={getattr(settings, name, None)!r}".encode())
    return digest.hexdigest()[:16]


def _version_of(scope: str) -> Subquery:
    return Subquery(PublicVersion.objects.filter(scope=scope).values("version")[:1])


def built_from(release: Release, everything: int | None, own: int | None) -> str:
    """What a body of `release` is rendered from: code, the versions of what it shows, the release's."""
    return f"{code_digest()}:{everything or 0}:{own or 0}:{release.version}"


def release_body(release: Release, *, site: str, render: Callable[[], str]) -> SafeString:
    """The release's body as stored for `site` if nothing it shows has moved on since (one query),
    else `render()`'s, stored.

    The current versions are read with the stored body, so a body rendered from data older than
    a change is never served. A page that fails to store it is still served. With public caching
    off (PUBLIC_CACHE_SECONDS 0) every body is rendered for its request, as every page is.
    """
    if settings.PUBLIC_CACHE_SECONDS <= 0:
        return mark_safe(render())
    versions = {"everything": _version_of(EVERYTHING), "own": _version_of(release.cache_scope)}
    kept = (
        ReleaseRendition.objects.filter(release=release, site=site)
        .annotate(**versions)
        .values_list("built_from", "body", "everything", "own")
        .first()
    )
    if kept is None:  # never rendered for this address
        current = dict(
            PublicVersion.objects.filter(scope__in=[EVERYTHING, release.cache_scope]).values_list(
                "scope", "version"
            )
        )
        kept = (None, None, current.get(EVERYTHING), current.get(release.cache_scope))
    stored_from, stored_body, everything, own = kept
    wanted = built_from(release, everything, own)
    if stored_from == wanted:
        return mark_safe(stored_body)
    body = render()
    try:
        with transaction.atomic():
            ReleaseRendition.objects.update_or_create(
                release=release,
                site=site,
                defaults={"built_from": wanted, "body": body, "built_at": timezone.now()},
            )
    except DatabaseError:
        logger.warning("Could not store the rendered body of %s; served it anyway.", release, exc_info=True)
    return mark_safe(body)


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


def fill(body: str, *, nav: str, latest: str) -> SafeString:
    """A stored body with this request's parts put in."""
    return mark_safe(body.replace(NAV_SLOT, nav, 1).replace(LATEST_SLOT, latest, 1))
