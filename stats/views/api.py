"""The read-only JSON API: releases and metric series, from the same data as the pages.

Every answer is JSON, errors included: {"error": what is wrong, in words} (with, when one value is to
blame, the "parameter" and the "value" given), for 400, 404 (under /api/v1/, whatever the path) and
405 (any method but GET and HEAD).
"""

from __future__ import annotations

from functools import wraps

from django.http import Http404, JsonResponse
from django.urls import reverse

from common.http import read_only
from stats import vintages
from stats.models import Metric, Release
from stats.outputs import payloads
from stats.outputs.payloads import API_VERSION
from stats.selectors import build_release_document
from stats.views import reuse


def _json(data, status=200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"indent": 2, "ensure_ascii": False})


def error(message: str, *, status: int, parameter: str = "", value: str = "") -> JsonResponse:
    """An API error: what is wrong, and which parameter's value, if one is to blame."""
    data = {"error": message}
    if parameter:
        data |= {"parameter": parameter, "value": value}
    return _json(data, status=status)


def api_prefix() -> str:
    """Where the API's addresses start: /api/v1/."""
    return reverse("api:openapi").rsplit("/", 1)[0] + "/"


def not_found(request, exception=None) -> JsonResponse:
    """404 for an address under /api/v1/ that names nothing: the list of operations is the description."""
    return error(
        f"There is nothing at {request.path} in this API: its operations are listed in "
        f"{reverse('api:openapi')}.",
        status=404,
    )


def method_not_allowed(request) -> JsonResponse:
    return error(f"The API is read-only: {request.method} is not allowed, only GET and HEAD.", status=405)


def api_view(view):
    """An API operation: GET and HEAD only (405 otherwise), and a 404 answered in JSON."""

    @read_only(refuse=method_not_allowed)
    @wraps(view)
    def operation(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return not_found(request)

    return operation


@api_view
def release_list(request):
    """GET /api/v1/releases/: every public release, newest first (summaries)."""
    releases = Release.objects.public().order_by("-period_date")
    return _json(
        {
            "api_version": API_VERSION,
            "releases": [payloads.release_summary(r, request=request) for r in releases],
        }
    )


@api_view
def release_detail(request, period):
    """GET /api/v1/releases/<yyyy-mm-dd>/: one public release in full; `?as_of=`: as published then."""
    try:
        vintage = reuse.as_of(request)
    except vintages.BadAsOf as bad:
        return reuse.bad_as_of(bad, as_json=True)
    day = period.isoformat()
    if vintage is None:
        release = Release.objects.public().filter(period_date=period).first()
        if release is None:
            return error(
                f"No release for {day} has been published.", status=404, parameter="period", value=day
            )
        document = build_release_document(release)
    else:
        release = vintage.releases().filter(period_date=period).first()
        if release is None:
            return error(
                f"No release for {day} had been published by the end of {vintage.day.isoformat()} "
                "(or it has been withdrawn since).",
                status=404,
                parameter="period",
                value=day,
            )
        document = vintages.release_document_then(release, vintage)
    return _json(payloads.release_payload(document, request=request, as_of=vintage))


def _public_metrics():
    return Metric.objects.filter(programme__is_active=True).select_related("programme")


@api_view
def metric_list(request):
    """GET /api/v1/metrics/: every public metric, with where to fetch its series."""
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
                for m in _public_metrics()
            ],
        }
    )


@api_view
def metric_detail(request, slug):
    """GET /api/v1/metrics/<slug>/: a metric's full public series; `?as_of=`: as published then."""
    try:
        vintage = reuse.as_of(request)
    except vintages.BadAsOf as bad:
        return reuse.bad_as_of(bad, as_json=True)
    metric = _public_metrics().filter(slug=slug).first()
    if metric is None:
        return error(f"There is no metric “{slug}”.", status=404, parameter="slug", value=slug)
    if vintage is None:
        rows = payloads.metric_rows(metric, request=request)
    else:
        rows = vintages.metric_rows_then(metric, vintage, request=request)
    return _json(payloads.series_payload(metric, rows, request=request, as_of=vintage))
