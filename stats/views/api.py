"""The read-only JSON API: releases and metric series, from the same data as the pages."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from stats import vintages
from stats.models import Metric, Release
from stats.outputs import payloads
from stats.outputs.payloads import API_VERSION
from stats.selectors import build_release_document
from stats.views import reuse


def _json(data, status=200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"indent": 2, "ensure_ascii": False})


def release_list(request):
    """GET /api/v1/releases/: every public release, newest first (summaries)."""
    releases = Release.objects.public().order_by("-period_date")
    return _json(
        {
            "api_version": API_VERSION,
            "releases": [payloads.release_summary(r, request=request) for r in releases],
        }
    )


def release_detail(request, period):
    """GET /api/v1/releases/<yyyy-mm-dd>/: one public release in full; `?as_of=`: as published then."""
    try:
        vintage = reuse.as_of(request)
    except vintages.BadAsOf as error:
        return reuse.bad_as_of(error, as_json=True)
    if vintage is None:
        release = get_object_or_404(Release.objects.public(), period_date=period)
        document = build_release_document(release)
    else:
        release = get_object_or_404(vintage.releases(), period_date=period)
        document = vintages.release_document_then(release, vintage)
    return _json(payloads.release_payload(document, request=request, as_of=vintage))


def metric_list(request):
    """GET /api/v1/metrics/: every public metric, with where to fetch its series."""
    metrics = Metric.objects.filter(programme__is_active=True).select_related("programme")
    return _json(
        {
            "api_version": API_VERSION,
            "metrics": [
                {
                    "slug": m.slug,
                    "name": m.name,
                    "programme": m.programme.name,
                    "kind": m.kind,
                    "unit": m.unit,
                    "api_url": request.build_absolute_uri(reverse("api:metric", args=[m.slug])),
                }
                for m in metrics
            ],
        }
    )


def metric_detail(request, slug):
    """GET /api/v1/metrics/<slug>/: a metric's full public series; `?as_of=`: as published then."""
    try:
        vintage = reuse.as_of(request)
    except vintages.BadAsOf as error:
        return reuse.bad_as_of(error, as_json=True)
    metric = get_object_or_404(
        Metric.objects.filter(programme__is_active=True).select_related("programme"), slug=slug
    )
    if vintage is None:
        rows = payloads.metric_rows(metric, request=request)
    else:
        rows = vintages.metric_rows_then(metric, vintage, request=request)
    return _json(payloads.series_payload(metric, rows, request=request, as_of=vintage))
