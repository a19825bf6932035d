"""A release's files (PDF, spreadsheet, CSV, JSON): built when the release changes, sizes kept.

A page shows the sizes it knows (`ReleaseFile` rows) and never builds a file to learn one. The
files' bytes are cached under a digest of what they show (see `pdf_files` and `views.release_files`),
so files built when a release is approved are the ones served the second it comes out.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from stats.models import Release, ReleaseFile

logger = logging.getLogger(__name__)

FORMATS = ("pdf", "xlsx", "csv", "json")


def sizes_of(release: Release) -> dict[str, int]:
    """The sizes of the release's files as built from its current version (one query)."""
    return dict(release.files.filter(version=release.version).values_list("format", "size"))


def record_sizes(release: Release, sizes: dict[str, int]) -> None:
    """Keep the sizes of files just built: one query to read, one more only when they changed."""
    kept = sizes_of(release)
    changed = [
        ReleaseFile(release=release, format=fmt, size=size, version=release.version, built_at=timezone.now())
        for fmt, size in sizes.items()
        if kept.get(fmt) != size
    ]
    if changed:
        ReleaseFile.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["release", "format"],
            update_fields=["size", "version", "built_at"],
        )


def site_request(base_url: str | None = None) -> HttpRequest:
    """A request for the public site's address, for files built outside a reader's request.

    Files print the release's full address; built after a publisher's click (or by a worker), they
    use the address that request came to, or NEWSROOM_SITE_URL.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(base_url or settings.NEWSROOM_SITE_URL)
    request = HttpRequest()
    request.META = {
        "HTTP_HOST": parts.netloc,
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
        "wsgi.url_scheme": parts.scheme or "http",
    }
    if parts.scheme == "https":
        request.META["HTTPS"] = "on"
    request.path = request.path_info = "/"
    return request


def build_files(release: Release, *, request: HttpRequest) -> dict[str, int]:
    """Build every file of `release` as the public will read it (now, or once it is out); keep sizes."""
    from stats.outputs.pdfs import release_pdf_file, release_web_url
    from stats.selectors import build_release_document
    from stats.views.pages import all_data_csv_bytes, release_files

    visible = Release.objects.as_published(release)
    document = build_release_document(release, visible=visible)
    sizes = {fmt: len(content) for fmt, content in release_files(document, request=request).items()}
    sizes["pdf"] = release_pdf_file(
        release, visible=visible, url=release_web_url(request, release), document=document
    ).size
    record_sizes(release, sizes)
    # The whole-dataset CSV as it will be once the release is out: ready at the second.
    all_data_csv_bytes(visible, base=request.build_absolute_uri("/").rstrip("/"))
    return sizes


def build_files_after_commit(release: Release) -> None:
    """Once the change commits, build the release's files so the page has their sizes and the files
    are ready the moment it comes out. A failure is logged, never shown to the person who saved."""
    release_id = release.pk

    def build():
        try:
            build_files(Release.objects.get(pk=release_id), request=site_request())
        except Exception:  # a file that fails to build must not undo the approval
            logger.exception("Could not build the files of release %s.", release_id)

    transaction.on_commit(build)
