"""Warm the public cache at the release moment: the pages and files a release changes are built
once, by the worker, so the first reader at 09:30 is served from the cache, not a cold render."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Count, F, Q
from django.test import Client
from django.urls import reverse

from common.keeping import keeping
from stats.models import Metric, Programme, Release
from stats.outputs.downloads import DATA_FORMATS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Warmed:
    path: str
    status: int
    ms: float


def first_paths(release: Release) -> list[str]:
    """Where a release's alert sends its readers, warmed before the alert goes: its page, with its
    files first, so the sizes they record are on the page when it is built."""
    period = release.period_date
    return [
        reverse("statistics:release-pdf", args=[period]),
        *(reverse("statistics:release-download", args=[period, fmt]) for fmt in DATA_FORMATS),
        release.get_absolute_url(),
    ]


def release_paths(release: Release) -> list[str]:
    """Every public address a release's coming out changes, those its alert links to first."""
    period = release.period_date
    paths = [
        *first_paths(release),
        "/",
        reverse("statistics:release-latest"),
        reverse("statistics:archive"),
        reverse("statistics:release-calendar"),
        reverse("statistics:data-csv"),
        "/feed/",
        "/sitemap.xml",
        reverse("api:releases"),
        reverse("api:release", args=[period]),
    ]
    paths += [programme.get_absolute_url() for programme in Programme.objects.active()]
    paths += [metric.get_absolute_url() for metric in Metric.objects.filter(programme__is_active=True)]
    return list(dict.fromkeys(paths))


def warm_public_cache(release: Release, *, first_only: bool = False) -> list[Warmed]:
    """Request each address as an anonymous reader would, through the whole site, so the page cache
    keeps it; the host is the public site's (NEWSROOM_SITE_URL). `first_only`: only where its alert
    sends readers (`first_paths`)."""
    site = urlsplit(settings.NEWSROOM_SITE_URL)
    client = Client(HTTP_HOST=site.netloc)
    warmed = []
    with keeping():  # the sizes of files built on the way are kept for the pages that list them
        for path in first_paths(release) if first_only else release_paths(release):
            warmed.append(_warm(client, path, secure=site.scheme == "https"))
    return warmed


def _warm(client: Client, path: str, *, secure: bool) -> Warmed:
    began = time.perf_counter()
    try:
        response = client.get(path, secure=secure)
        if response.streaming:
            b"".join(response.streaming_content)
        status = response.status_code
    except Exception:  # one page failing must not stop the others, nor the alerts after
        logger.exception("Could not warm %s.", path)
        status = 0
    return Warmed(path, status, (time.perf_counter() - began) * 1000)


# Every file a release's page lists the size of: its data formats, the PDF and the zip.
FILE_FORMATS = (*DATA_FORMATS, "pdf", "zip")


def releases_without_sizes(limit: int) -> list[Release]:
    """Public releases whose files' sizes are not kept for their current version (loaded, generated,
    or kept by older code), newest first: a reader's download never records them."""
    kept = Count("files", filter=Q(files__version=F("version")))
    return list(
        Release.objects.public()
        .annotate(kept=kept)
        .filter(kept__lt=len(FILE_FORMATS))
        .order_by("-period_date")[:limit]
    )


def keep_what_readers_read(*, limit: int = 10) -> int:
    """What the catch-up keeps for readers: the files of up to `limit` public releases whose sizes
    are not kept yet (so their pages list them), and the latest release's pages; returns how many
    releases' files were built."""
    from stats.outputs.files import build_files, site_request

    missing = releases_without_sizes(limit)
    for release in missing:
        try:
            build_files(release, request=site_request())
        except Exception:  # one release failing must not stop the others, nor the catch-up
            logger.exception("Could not build the files of %s.", release)
    latest = Release.objects.public().order_by("-period_date").first()
    if latest is not None:
        site = urlsplit(settings.NEWSROOM_SITE_URL)
        client = Client(HTTP_HOST=site.netloc)
        with keeping():
            for path in (latest.get_absolute_url(), "/", reverse("statistics:archive")):
                _warm(client, path, secure=site.scheme == "https")
    return len(missing)
