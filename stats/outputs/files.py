"""A release's files (PDF, spreadsheet, CSV, JSON): built when the release changes, sizes kept.

A page shows the sizes it knows (`ReleaseFile` rows) and never builds a file to learn one. The
files' bytes are cached under a digest of what they show (`pdfs.release_pdf_file`, the spreadsheet
by its CSV, data.csv by its releases' versions), so files built when a release is approved are the
ones served the second it comes out.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from common.cache import STATE_KEY, _safe, invalidate_scopes, remember
from common.keeping import keeping, may_keep
from stats.models import Figure, Metric, Programme, Release, ReleaseFile
from stats.outputs import bundles, downloads, metadata, payloads
from stats.selectors import build_release_document
from stats.wording import ukclock

logger = logging.getLogger(__name__)

FORMATS = ("pdf", "xlsx", "csv", "json")


def sizes_of(release: Release) -> dict[str, int]:
    """The sizes of the release's files as built from its current version (one query)."""
    return dict(release.files.filter(version=release.version).values_list("format", "size"))


def record_sizes(release: Release, sizes: dict[str, int]) -> None:
    """Keep the sizes of files just built: one query to read, one more only when they changed.

    Only where this moment may keep them (`common.keeping`): building a release's files, the
    worker's warming; a reader's download builds its file and writes nothing.
    """
    if not may_keep():
        return
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
        if release.is_out:  # a bulk write sends no signal: the release's page shows the sizes
            invalidate_scopes([release.files_scope], site=False)


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


def release_files(document, *, request) -> dict[str, bytes]:
    """A release's data files, one per format in `downloads.DATA_FORMATS`, from the page's document."""
    rows = downloads.document_rows(
        document, release_url=request.build_absolute_uri(document.release.get_absolute_url())
    )
    csv_digest = hashlib.sha256(downloads.to_csv(rows)).hexdigest()
    title = f"w-c {document.period_date:%Y-%m-%d}"

    def payload():
        return payloads.release_payload(document, request=request)

    files = {}
    for name, data_format in downloads.DATA_FORMATS.items():

        def write(data_format=data_format):
            return data_format.write(rows, title=title, payload=payload)

        # The slow ones are kept by the CSV they mirror.
        files[name] = (
            remember(f"release-{name}:{csv_digest}", write, 60 * 60 * 24)
            if data_format.kept_by_csv
            else write()
        )
    return files


def all_data_key(visible, *, base: str) -> tuple[str, int]:
    """A key that changes with anything data.csv shows, and its number of rows; three queries.

    The visible releases and their versions (every figure written moves its release's version on),
    and the last change to a metric or a programme (their names are in every row).
    """
    figures = Figure.objects.filter(release__in=visible).aggregate(
        rows=Count("pk"), versions=Sum("release__version"), last=Max("release__updated_at")
    )
    names = [model.history.aggregate(last=Max("history_date"))["last"] for model in (Metric, Programme)]
    parts = [base, figures["rows"], figures["versions"], figures["last"], *names]
    return "all-data-csv:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:32], figures["rows"]


def all_data_rows(visible, *, base: str):
    figures = (
        Figure.objects.filter(release__in=visible)
        .select_related("release", "metric__programme")
        .order_by(
            "release__period_date",
            "metric__programme__display_order",
            "metric__display_order",
            "metric__name",
        )
    )
    for figure in figures.iterator(chunk_size=2000):
        yield downloads.Row.of_figure(
            figure, metric=figure.metric, release_url=base + figure.release.get_absolute_url()
        )


# A row of data.csv is about 200 bytes: up to this many rows (about 40 years of weekly figures,
# 12 MB) the file is kept whole in the cache; beyond, it is streamed so memory stays flat.
ALL_DATA_CACHE_ROWS = 60_000


def all_data_csv_bytes(visible, *, base: str) -> bytes | None:
    """The whole-dataset CSV as `visible` releases show it, kept by what it shows; None if too big.

    Built when a release is approved for the releases public once it is out, so the second it
    comes out this is a cache hit.
    """
    key, rows = all_data_key(visible, base=base)
    if rows > ALL_DATA_CACHE_ROWS:
        return None
    return remember(key, lambda: downloads.to_csv(all_data_rows(visible, base=base)), 60 * 60 * 24)


def build_files(release: Release, *, request: HttpRequest) -> dict[str, int]:
    """Build every file of `release` as the public will read it (now, or once it is out); keep sizes."""
    from stats.outputs.pdfs import release_pdf_file, release_web_url

    visible = Release.objects.as_published(release)
    document = build_release_document(release, visible=visible)
    with keeping():
        sizes = {fmt: len(content) for fmt, content in release_files(document, request=request).items()}
        sizes["zip"] = len(release_bundle(document, request=request))
        sizes["pdf"] = release_pdf_file(
            release, visible=visible, url=release_web_url(request, release), document=document
        ).size
        record_sizes(release, sizes)
    # The whole-dataset CSV as it will be once the release is out: ready at the second.
    all_data_csv_bytes(visible, base=request.build_absolute_uri("/").rstrip("/"))
    return sizes


# --- Described data: CSV on the Web metadata and zips -----------------------------------------


def _site(request) -> dict:
    base = request.build_absolute_uri("/").rstrip("/")
    return {"organisation": settings.NEWSROOM_ORGANISATION, "site_url": base + "/"}


def _as_of(url: str, vintage) -> str:
    """A download's address, or its address for the figures as published on the vintage's day."""
    return f"{url}?as_of={vintage.day.isoformat()}" if vintage else url


def release_csvw(document, *, request, csv_url: str = "", source: str = "", vintage=None) -> dict:
    """The CSVW metadata of a release's CSV: on the web (absolute `csv_url`), or beside it in its zip;
    with a `vintage`, of its CSV as published on that day (corrections made by then)."""
    release = document.release
    page = request.build_absolute_uri(release.get_absolute_url())
    web_csv = _as_of(
        request.build_absolute_uri(reverse("statistics:release-download", args=[release.period_date, "csv"])),
        vintage,
    )
    corrections = [c for c in document.corrections if vintage is None or c.created_at <= vintage.moment]
    revisions = metadata.revision_corrections(corrections)
    return metadata.csvw(
        csv_url=csv_url or web_csv,
        title=f"{document.heading}: figures"
        + (f", as published by {ukclock.day_label(vintage.day)}" if vintage else ""),
        description=release.summary.strip() or f"The figures of the release for w/c {release.period_label}.",
        landing_page=page,
        modified=revisions[-1].created_at if revisions else document.publish_at,
        notes=[
            *metadata.explanation_notes(document.figures, target=web_csv),
            *metadata.correction_notes(corrections, target=web_csv),
        ],
        source=source,
        **_site(request),
    )


def release_bundle(document, *, request) -> bytes:
    """A release's zip: its CSV, the CSV's metadata, a README and the licence."""
    release = document.release
    page = request.build_absolute_uri(release.get_absolute_url())
    stem = f"deployment-statistics-{release.period_date:%Y-%m-%d}"
    csv = downloads.to_csv(downloads.document_rows(document, release_url=page))
    citation = metadata.release_citation(document, url=page, organisation=settings.NEWSROOM_ORGANISATION)
    about = [f"Permanent address: {page}"]
    if document.publish_at:
        about.append(f"Published: {metadata.uk_day(document.publish_at)}")
    about.append(
        f"Version {citation.version}"
        + (f", corrected on {metadata.uk_day(citation.corrected_at)}" if citation.corrected_at else "")
    )
    status = document.statistics_status
    explained = request.build_absolute_uri(status.explanation_path)
    about.append(f"Status: {status.label} (what this means: {explained})")
    if document.lead_statistician:
        about.append(f"Lead statistician: {document.lead_statistician.in_words}")
    web_csv = request.build_absolute_uri(
        reverse("statistics:release-download", args=[release.period_date, "csv"])
    )
    bundle = bundles.Bundle(
        stem=stem,
        title=document.heading,
        about=about,
        csv=csv,
        csvw=release_csvw(document, request=request, csv_url=f"{stem}.csv", source=web_csv),
        citation=citation.text,
        modified=citation.corrected_at or document.publish_at,
    )
    return _zip(bundle, request=request, api_url=reverse("api:release", args=[release.period_date]))


def series_csvw(metric, *, request, csv_url: str = "", source: str = "", vintage=None) -> dict:
    """The CSVW metadata of a metric's series CSV (with a `vintage`: as published on that day)."""
    web_csv = _as_of(
        request.build_absolute_uri(reverse("statistics:metric-download", args=[metric.slug, "csv"])), vintage
    )
    return metadata.csvw(
        csv_url=csv_url or web_csv,
        title=f"{metric.name} ({metric.programme.name}): every public figure"
        + (f", as published by {ukclock.day_label(vintage.day)}" if vintage else ""),
        description=(metric.definition.strip() + " " if metric.definition.strip() else "")
        + "One row per weekly release, oldest first.",
        landing_page=request.build_absolute_uri(metric.get_absolute_url()),
        unit=metric.unit,
        source=source,
        **_site(request),
    )


def series_bundle(metric, rows, *, request) -> bytes:
    """A metric series' zip: its CSV, the CSV's metadata, a README and the licence."""
    web_csv = request.build_absolute_uri(reverse("statistics:metric-download", args=[metric.slug, "csv"]))
    bundle = bundles.Bundle(
        stem=metric.slug,
        title=f"{metric.name} ({metric.programme.name})",
        about=[
            f"Web page: {request.build_absolute_uri(metric.get_absolute_url())}",
            f"Releases: {len(rows)}",
        ],
        csv=downloads.to_csv(rows),
        csvw=series_csvw(metric, request=request, csv_url=f"{metric.slug}.csv", source=web_csv),
    )
    return _zip(bundle, request=request, api_url=reverse("api:metric", args=[metric.slug]))


def all_data_csvw(*, request) -> dict:
    """The CSVW metadata of /statistics/data.csv."""
    return metadata.csvw(
        csv_url=request.build_absolute_uri(reverse("statistics:data-csv")),
        title=f"{settings.NEWSROOM_ORGANISATION} deployment statistics: every public figure",
        description="Every figure of every public release, one row per figure, oldest release first.",
        landing_page=request.build_absolute_uri(reverse("statistics:archive")),
        **_site(request),
    )


def _zip(bundle: bundles.Bundle, *, request, api_url: str) -> bytes:
    return bundles.to_zip(
        bundle,
        organisation=settings.NEWSROOM_ORGANISATION,
        revisions_url=request.build_absolute_uri(reverse("statistics:revision-list")),
        api_url=request.build_absolute_uri(api_url),
    )


# --- Sizes of a series' files ------------------------------------------------------------------
# A metric page shows the sizes of its series' files as last built, like a release page, and never
# builds a file (or runs a query) to learn one. They are kept in the cache under the public cache's
# generation, which moves on with every change the public can see and at each publish time, so a size
# never outlives the file it measures. Without a generation in the cache (public caching off, or the
# cache down) no size is kept or shown.

SERIES_SIZES_SECONDS = 60 * 60 * 24


def _series_sizes_key(slug: str, base: str) -> str | None:
    state = _safe(lambda: cache.get(STATE_KEY))
    if not state or state["next_publish"] <= time.time():
        return None
    return "series-sizes:" + hashlib.sha256(repr((slug, base, state["generation"])).encode()).hexdigest()[:32]


def _kept_sizes(key: str | None) -> dict[str, int]:
    return (_safe(lambda: cache.get(key)) if key else None) or {}


def series_sizes(slug: str, *, base: str) -> dict[str, int]:
    """The sizes of a metric's series files (for the site at `base`) as last built in this generation."""
    return _kept_sizes(_series_sizes_key(slug, base))


def record_series_sizes(slug: str, sizes: dict[str, int], *, base: str) -> None:
    """Keep the sizes of a metric's series files just built, for its page."""
    key = _series_sizes_key(slug, base)
    kept = _kept_sizes(key)
    if key is not None and kept | sizes != kept:
        _safe(lambda: cache.set(key, kept | sizes, SERIES_SIZES_SECONDS))
