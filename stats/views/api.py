"""The read-only JSON API: releases and metric series, from the same data as the pages.

Every answer is JSON, errors included: {"error": what is wrong, in words} (with, when one value is to
blame, the "parameter" and the "value" given), for 400, 404 (under /api/v1/, whatever the path) and
405 (any method but GET and HEAD).
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.core.paginator import Paginator
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


# A page of the release list: a year of weeks and a little over by default, so it costs no more
# than a release page however long the history grows.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


class BadPage(ValueError):
    def __init__(self, message: str, *, parameter: str, value: str):
        super().__init__(message)
        self.parameter, self.value = parameter, value


def _whole_number(request, parameter: str, *, default: int, maximum: int | None = None) -> int:
    """A query parameter that must be a whole number from 1 (to `maximum`)."""
    value = request.GET.get(parameter)
    if value is None:
        return default
    within = f"from 1 to {maximum}" if maximum else "from 1 up"
    if not (value.isascii() and value.isdigit()) or int(value) < 1 or (maximum and int(value) > maximum):
        raise BadPage(f"{parameter} must be a whole number {within}.", parameter=parameter, value=value)
    return int(value)


def _page_url(request, number: int, per_page: int) -> str:
    query = {"page": number} | ({"per_page": per_page} if per_page != PAGE_SIZE else {})
    return request.build_absolute_uri(f"{request.path}?{urlencode(query)}")


@api_view
def release_list(request):
    """GET /api/v1/releases/: public releases, newest first (summaries), a page at a time.

    `?page=` (from 1) and `?per_page=` (1–MAX_PAGE_SIZE); the pages either side, the first and the
    last are linked in the body and in a `Link` header (RFC 8288), as GitHub's API does.
    """
    try:
        number = _whole_number(request, "page", default=1)
        per_page = _whole_number(request, "per_page", default=PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    except BadPage as bad:
        return error(str(bad), status=400, parameter=bad.parameter, value=bad.value)
    releases = Release.objects.public().order_by("-period_date")
    paginator = Paginator(releases, per_page, allow_empty_first_page=True)
    if number > paginator.num_pages:
        return error(
            f"There is no page {number}: with {per_page} a page, the releases fill "
            f"{paginator.num_pages} page{'s' if paginator.num_pages != 1 else ''}.",
            status=404,
            parameter="page",
            value=str(number),
        )
    page = paginator.page(number)
    links = {
        "first": 1,
        "prev": page.previous_page_number() if page.has_previous() else None,
        "next": page.next_page_number() if page.has_next() else None,
        "last": paginator.num_pages,
    }
    urls = {rel: _page_url(request, n, per_page) if n else None for rel, n in links.items()}
    response = _json(
        {
            "api_version": API_VERSION,
            "count": paginator.count,
            "page": number,
            "pages": paginator.num_pages,
            "per_page": per_page,
            "links": urls,
            "releases": [payloads.release_summary(r, request=request) for r in page.object_list],
        }
    )
    response["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in urls.items() if url)
    return response


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
