"""What the public can see has changed: said by the code that changes it, as it changes it.

Each function tells the public page cache (`common.cache`) which pages to forget once the change
commits; nothing is told by a model's save. A draft's figures and bullets, a release in review,
an approved release before its time are on no public page: changing them says nothing (the
release comes out at its publish time, when the cache's generation moves on by itself). What of a
coming release the public does see is its line in the release calendar (`CALENDAR_FIELDS`).
"""

from __future__ import annotations

from collections.abc import Iterable

from common.cache import invalidate, invalidate_scopes
from stats.models import Release

# What the calendar, the archive and every release page's links show of a release, out or not.
CALENDAR_FIELDS = frozenset({"period_date", "publish_at", "date_confirmed", "status", "published_at"})


def release_listed() -> None:
    """A release was added, published, withdrawn, cancelled or deleted, or its date or state moved:
    every page (the calendar, the archive, the home page, the feeds, each release's links)."""
    invalidate()


def release_content_changed(*releases: Release) -> None:
    """Public releases' figures, bullets, corrections, explanations or pre-release records changed
    (a correction, a breach, an import): the pages that show each, its own and the next release's,
    which compares with it, and the site's, in one go. Nothing for a release that is not out."""
    scopes = set()
    for release in releases:
        if release.is_out:
            following = release.next()
            scopes.update([release.cache_scope, *([following.cache_scope] if following else [])])
    if scopes:
        invalidate_scopes(sorted(scopes))


def release_saved(release: Release, fields: Iterable[str]) -> None:
    """A workflow step saved `fields` of the release: its calendar line, or its content."""
    if CALENDAR_FIELDS.intersection(fields):
        release_listed()
    else:
        release_content_changed(release)


def catalogue_changed() -> None:
    """Programmes or measures were added, renamed, described or hidden: every page."""
    invalidate()
