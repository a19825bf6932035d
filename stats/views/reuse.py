"""Data people can reuse: CSVW metadata, zips, and figures as published on an earlier day (`?as_of=`).

Every view reads releases through `Release.objects.public()` (or, for a vintage, the releases public
by then, a part of it), so nothing here can show an embargoed release.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from common.http import read_only
from stats import vintages
from stats.models import Metric, Release
from stats.outputs import downloads, files, metadata, payloads
from stats.selectors import build_release_document


def public_metrics():
    return Metric.objects.filter(programme__is_active=True).select_related("programme")


def as_of(request) -> vintages.Vintage | None:
    """The vintage `?as_of=` asks for; BadAsOf when it names no day we can answer for."""
    return vintages.parse_as_of(request.GET.get(vintages.PARAMETER))


def bad_as_of(error: vintages.BadAsOf, *, as_json: bool = False) -> HttpResponse:
    """400 naming the parameter and the value: JSON for the API, plain text for a download."""
    if as_json:
        return JsonResponse(
            {"error": str(error), "parameter": vintages.PARAMETER, "value": error.value},
            status=400,
            json_dumps_params={"ensure_ascii": False},
        )
    return HttpResponse(f"{error}\n", status=400, content_type="text/plain; charset=utf-8")


def described(response: HttpResponse, metadata_url: str) -> HttpResponse:
    """Point a CSV at its CSVW metadata, the way CSV on the Web finds it: a Link header."""
    response["Link"] = f'<{metadata_url}>; rel="describedby"; type="{metadata.CSVW_MEDIA_TYPE}"'
    return response


def _metadata_response(data: dict, *, filename: str) -> HttpResponse:
    response = HttpResponse(metadata.to_json_bytes(data), content_type=metadata.CSVW_MEDIA_TYPE)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _zip_response(content: bytes, *, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- CSV on the Web metadata ---------------------------------------------------------------------


@read_only
def release_csvw(request, period):
    """/statistics/<yyyy-mm-dd>.csv-metadata.json: the columns of a public release's CSV, described
    (`?as_of=`: of its CSV as published that day)."""
    try:
        vintage = as_of(request)
    except vintages.BadAsOf as error:
        return bad_as_of(error)
    if vintage is None:
        document = build_release_document(get_object_or_404(Release.objects.public(), period_date=period))
    else:
        release = get_object_or_404(vintage.releases(), period_date=period)
        document = vintages.release_document_then(release, vintage)
    return _metadata_response(
        files.release_csvw(document, request=request, vintage=vintage),
        filename=f"deployment-statistics-{period:%Y-%m-%d}.csv{metadata.METADATA_SUFFIX}",
    )


@read_only
def metric_csvw(request, slug):
    """/statistics/metrics/<slug>.csv-metadata.json: the columns of a metric's series CSV, described
    (`?as_of=`: of the series as published that day)."""
    try:
        vintage = as_of(request)
    except vintages.BadAsOf as error:
        return bad_as_of(error)
    metric = get_object_or_404(public_metrics(), slug=slug)
    return _metadata_response(
        files.series_csvw(metric, request=request, vintage=vintage),
        filename=f"{metric.slug}.csv{metadata.METADATA_SUFFIX}",
    )


@read_only
def all_data_csvw(request):
    """/statistics/data.csv-metadata.json: the columns of the whole-dataset CSV, described."""
    return _metadata_response(
        files.all_data_csvw(request=request), filename=f"deployment-statistics.csv{metadata.METADATA_SUFFIX}"
    )


# --- Zips ---------------------------------------------------------------------------------------


@read_only
def release_zip(request, period):
    """/statistics/<yyyy-mm-dd>.zip: a public release's CSV, its metadata, a README and the licence."""
    release = get_object_or_404(Release.objects.public(), period_date=period)
    content = files.release_bundle(build_release_document(release), request=request)
    files.record_sizes(release, {"zip": len(content)})
    return _zip_response(content, filename=f"deployment-statistics-{period:%Y-%m-%d}.zip")


@read_only
def metric_zip(request, slug):
    """/statistics/metrics/<slug>.zip: a metric's series CSV, its metadata, a README and the licence."""
    metric = get_object_or_404(public_metrics(), slug=slug)
    content = files.series_bundle(metric, payloads.metric_rows(metric, request=request), request=request)
    files.record_series_sizes(metric.slug, {"zip": len(content)}, base=_base(request))
    return _zip_response(content, filename=f"{metric.slug}.zip")


def _base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


# --- Figures as published on an earlier day -----------------------------------------------------


def release_download_then(request, period, fmt: str, vintage: vintages.Vintage) -> HttpResponse:
    """A release's CSV, XLSX or JSON as published by `vintage`'s day; 404 if it was not public then."""
    release = get_object_or_404(vintage.releases(), period_date=period)
    document = vintages.release_document_then(release, vintage)
    rows = downloads.document_rows(
        document, release_url=request.build_absolute_uri(release.get_absolute_url())
    )
    content = downloads.DATA_FORMATS[fmt].write(
        rows,
        title=f"w-c {period:%Y-%m-%d} as of {vintage.day:%Y-%m-%d}",
        payload=lambda: payloads.release_payload(document, request=request, as_of=vintage),
    )
    return downloads.file_response(
        content,
        filename=f"deployment-statistics-{period:%Y-%m-%d}-as-of-{vintage.day:%Y-%m-%d}.{fmt}",
        fmt=fmt,
    )


def metric_download_then(request, metric: Metric, fmt: str, vintage: vintages.Vintage) -> HttpResponse:
    """A metric's series as published by `vintage`'s day."""
    rows = vintages.metric_rows_then(metric, vintage, request=request)
    content = downloads.DATA_FORMATS[fmt].write(
        rows,
        title=metric.slug,
        payload=lambda: payloads.series_payload(metric, rows, request=request, as_of=vintage),
    )
    return downloads.file_response(
        content, filename=f"{metric.slug}-as-of-{vintage.day:%Y-%m-%d}.{fmt}", fmt=fmt
    )


def csvw_url(request, name: str, *args, vintage: vintages.Vintage | None = None) -> str:
    """The address of a CSV's CSVW metadata; for figures as published on a day, the same day's."""
    url = request.build_absolute_uri(reverse(name, args=args))
    return f"{url}?{vintages.PARAMETER}={vintage.day.isoformat()}" if vintage else url
