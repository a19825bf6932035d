"""Warm the public cache at the release moment: the pages and files a release changes are built
once, by the worker, so the first reader at 09:30 is served from the cache, not a cold render."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
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


def release_paths(release: Release) -> list[str]:
    """Every public address a release's coming out changes: its files first, so the sizes they
    record are on its page when the page is built."""
    period = release.period_date
    paths = [
        reverse("statistics:release-pdf", args=[period]),
        *(reverse("statistics:release-download", args=[period, fmt]) for fmt in DATA_FORMATS),
        release.get_absolute_url(),
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


def warm_public_cache(release: Release) -> list[Warmed]:
    """Request each address as an anonymous reader would, through the whole site, so the page cache
    keeps it; the host is the public site's (NEWSROOM_SITE_URL)."""
    site = urlsplit(settings.NEWSROOM_SITE_URL)
    client = Client(HTTP_HOST=site.netloc)
    warmed = []
    with keeping():  # what the pages render is kept for their readers
        for path in release_paths(release):
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
