"""The API for developers: its OpenAPI 3.1 description (/api/v1/openapi.json) and a page about it (/api/).

The description is written by hand, here, beside the views it describes (`stats/views/api.py`);
tests/test_reuse.py checks that it names every `api:` URL.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

from common.http import read_only
from stats.designations import Designation
from stats.models import Metric, Release
from stats.outputs import metadata
from stats.outputs.payloads import API_VERSION
from stats.views.api import MAX_PAGE_SIZE, PAGE_SIZE, api_view
from stats.views.pages import statistics_crumbs
from stats.wording import formatting


def _nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


DATE = {"type": "string", "format": "date", "examples": ["2010-03-03"]}
DATE_TIME = {"type": "string", "format": "date-time", "examples": ["2010-03-03T09:30:00+00:00"]}
URI = {"type": "string", "format": "uri"}
TEXT = {"type": "string"}
KIND = {
    "type": "string",
    "enum": list(metadata.KINDS),
    "description": "total, period, level, percent, record, amount",
}
QUALIFIER = {
    "type": "string",
    "enum": [*metadata.QUALIFIERS, formatting.EXACT],
    "description": "How bullets word the figure when they round it; empty: exact (see the zip's README).",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict, *, description: str = "") -> dict:
    schema = {"type": "object", "required": list(properties), "properties": properties}
    if description:
        schema["description"] = description
    return schema


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


AS_PUBLISHED_ON = _nullable(
    {**DATE, "description": "The day asked for with ?as_of=, or null: the figures as they stand now."}
)

SCHEMAS = {
    "ReleaseSummary": _object(
        {
            "period": {**DATE, "description": "First day of the reporting period (“for w/c …”)."},
            "heading": TEXT,
            "summary": TEXT,
            "published": _nullable({**DATE_TIME, "description": "The publish time."}),
            "published_at": _nullable({**DATE_TIME, "description": "When it was marked published."}),
            "synthetic": {"type": "boolean", "description": "Generated demonstration data."},
            "url": {**URI, "description": "The release's permanent web page."},
            "api_url": URI,
        }
    ),
    "Release": {
        "allOf": [
            _ref("ReleaseSummary"),
            _object(
                {
                    "as_published_on": AS_PUBLISHED_ON,
                    "citation": _ref("Citation"),
                    "designation": _ref("Designation"),
                    "lead_statistician": {
                        "anyOf": [_ref("LeadStatistician"), {"type": "null"}],
                        "description": "The statistician responsible for the figures; null when the "
                        "release names nobody (some early releases).",
                    },
                    "previous": _nullable({**DATE, "description": "The previous public release's period."}),
                    "next": _nullable({**DATE, "description": "The next public release's period."}),
                    "programmes": _array(_ref("Programme")),
                    "corrections": _array(_ref("Correction")),
                    "pre_release": {
                        **_ref("PreReleaseAccess"),
                        "description": "Who had the statistics before publication (job titles and "
                        "organisations, from the record of each personal link).",
                    },
                }
            ),
        ]
    },
    "Programme": _object(
        {
            "slug": TEXT,
            "name": TEXT,
            "statements": {**_array(TEXT), "description": "The bullets, worded with the figures."},
            "figures": _array(_ref("Figure")),
        }
    ),
    "Figure": _object(
        {
            "metric_slug": TEXT,
            "metric_name": TEXT,
            "kind": KIND,
            "unit": TEXT,
            "value": {"type": "number", "description": "The exact figure."},
            "display": {**TEXT, "description": "As the page words it: 306,774,292; 85%; £900m."},
            "previous_value": _nullable({"type": "number", "description": "In the previous public release."}),
            "change": {
                **TEXT,
                "description": "Since the previous release: +3,527,916 (+1.2%), no change, or empty.",
            },
            "as_of": _nullable({**DATE, "description": "The day the figure stands at, if not the period."}),
            "qualifier": QUALIFIER,
            "note": TEXT,
            "explanation": _nullable(
                {
                    **TEXT,
                    "description": "Why the figure moved since the previous release, as the release "
                    "explained it when it came out; not a correction.",
                }
            ),
            "revisions": {
                **_array(_ref("Revision")),
                "description": "Corrections of this figure after the release came out, oldest first.",
            },
        }
    ),
    "Revision": _object(
        {
            "from": {**TEXT, "description": "The figure before, as the page showed it."},
            "to": {**TEXT, "description": "The figure after."},
            "revised_at": DATE_TIME,
            "reason": TEXT,
            "text": {**TEXT, "examples": ["Revised from 306,774,292 to 306,774,399 on 2 March 2026: …"]},
            "url": {**URI, "description": "The correction notice on the release's page."},
        }
    ),
    "Correction": _object(
        {
            "subject": TEXT,
            "was": TEXT,
            "now": TEXT,
            "reason": TEXT,
            "corrected_at": DATE_TIME,
        },
        description="A correction notice: a figure or bullet changed after the release came out (was → now).",
    ),
    "PreReleaseAccess": _object(
        {
            "hours_before_publication": {"type": "integer", "description": "The longest access allowed."},
            "used": {**_array(_ref("PreReleaseHolder")), "description": "Granted access and opened it."},
            "granted_not_used": {
                **_array(_ref("PreReleaseHolder")),
                "description": "Granted access, never opened it, not revoked.",
            },
            "breaches": _array(_ref("PreReleaseBreach")),
        }
    ),
    "PreReleaseHolder": _object({"job_title": TEXT, "organisation": TEXT}),
    "PreReleaseBreach": _object({"recorded_at": DATE_TIME, "explanation": TEXT}),
    "Designation": _object(
        {
            "code": {
                "type": "string",
                "enum": list(Designation.values),
                "description": "The statistics' status, as the Office for Statistics Regulation names them.",
            },
            "label": {**TEXT, "examples": [str(label) for label in Designation.labels]},
            "explanation_url": {
                **URI,
                "description": "What the status means, on the statement of compliance.",
            },
        },
        description="The statistics' status: accredited official statistics, official statistics, "
        "official statistics in development or management information.",
    ),
    "LeadStatistician": _object(
        {
            "name": TEXT,
            "email": {**TEXT, "format": "email"},
            "phone": {**TEXT, "description": "International format, e.g. +44 20 7946 0000; empty when none."},
        }
    ),
    "Citation": _object(
        {
            "text": TEXT,
            "bibtex": TEXT,
            "url": {**URI, "description": "The permanent address to cite."},
            "version": {"type": "integer", "minimum": 1, "description": "1, then one more per correction."},
            "corrected_at": _nullable(DATE_TIME),
        }
    ),
    "ReleaseList": _object(
        {
            "api_version": {"type": "integer", "const": API_VERSION},
            "count": {"type": "integer", "minimum": 0, "description": "Public releases in all pages."},
            "page": {"type": "integer", "minimum": 1},
            "pages": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            "links": _object(
                {
                    "first": URI,
                    "prev": _nullable(URI),
                    "next": _nullable(URI),
                    "last": URI,
                },
                description="The pages either side (null at either end), the first and the last; the "
                "same as the Link header.",
            ),
            "releases": _array(_ref("ReleaseSummary")),
        },
        description="One page of public releases, newest first.",
    ),
    "MetricSummary": _object(
        {"slug": TEXT, "name": TEXT, "programme": TEXT, "kind": KIND, "unit": TEXT, "api_url": URI}
    ),
    "MetricList": _object(
        {"api_version": {"type": "integer", "const": API_VERSION}, "metrics": _array(_ref("MetricSummary"))}
    ),
    "Series": _object(
        {
            "as_published_on": AS_PUBLISHED_ON,
            "slug": TEXT,
            "name": TEXT,
            "programme": TEXT,
            "kind": KIND,
            "unit": TEXT,
            "definition": TEXT,
            "url": URI,
            "figures": {**_array(_ref("SeriesFigure")), "description": "Oldest first."},
        }
    ),
    "SeriesFigure": _object(
        {
            "period": DATE,
            "value": {"type": "number"},
            "as_of": _nullable(DATE),
            "qualifier": QUALIFIER,
            "note": TEXT,
            "release_url": URI,
        }
    ),
    "Error": {
        **_object(
            {
                "error": {**TEXT, "description": "What is wrong, in words."},
                "parameter": {
                    **TEXT,
                    "description": "The parameter to blame, when one is.",
                    "examples": ["as_of", "period"],
                },
                "value": {**TEXT, "description": "The value given to that parameter."},
            },
            description="Every error the API answers (400, 404, 405) has this shape.",
        ),
        "required": ["error"],
    },
}

PARAMETERS = {
    "period": {
        "name": "period",
        "in": "path",
        "required": True,
        "description": "A release's reporting period, yyyy-mm-dd.",
        "schema": {**DATE, "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "examples": {"seed": {"summary": "The release for w/c 3 March 2010", "value": "2010-03-03"}},
    },
    "slug": {
        "name": "slug",
        "in": "path",
        "required": True,
        "description": "A metric's permanent key (the metric_slug of the downloads).",
        "schema": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "examples": ["eps-messages-total"]},
        "examples": {
            "eps": {"summary": "Prescription messages transmitted", "value": "eps-messages-total"},
            "bookings": {"summary": "Choose and Book bookings made", "value": "cab-bookings-total"},
        },
    },
    "page": {
        "name": "page",
        "in": "query",
        "required": False,
        "description": "Which page, from 1 (the newest releases).",
        "schema": {"type": "integer", "minimum": 1, "default": 1},
        "examples": {"second": {"summary": "The second page", "value": 2}},
    },
    "per_page": {
        "name": "per_page",
        "in": "query",
        "required": False,
        "description": f"How many releases a page holds, 1 to {MAX_PAGE_SIZE}.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": PAGE_SIZE},
        "examples": {"year": {"summary": "A year of weeks", "value": 52}},
    },
    "as_of": {
        "name": "as_of",
        "in": "query",
        "required": False,
        "description": (
            "A UK day, yyyy-mm-dd: the figures as they were published by the end of that day, before "
            "any later correction, among the releases public by then. A day after today is taken as "
            "today (as_published_on says so): the figures public now."
        ),
        "schema": DATE,
        "examples": {
            "then": {"summary": "As published by the end of 31 March 2010", "value": "2010-03-31"},
            "seed": {"summary": "As published on its first day", "value": "2010-03-03"},
        },
    },
}


def _json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _ok(description: str, schema: str) -> dict:
    return {"description": description, "content": _json_content(_ref(schema))}


def _error(description: str, **extra) -> dict:
    return {"description": description, "content": _json_content(_ref("Error")), **extra}


NOT_FOUND = _error(
    "No such public release or metric (or, with as_of, none public by then). Any address under "
    "/api/v1/ that names nothing answers 404 in the same shape."
)
BAD_AS_OF = _error("as_of is not a date written yyyy-mm-dd.")
METHOD_NOT_ALLOWED = _error(
    "The API is read-only: any method but GET and HEAD (POST, PUT, PATCH, DELETE, OPTIONS, TRACE…).",
    headers={
        "Allow": {
            "description": "The methods allowed.",
            "required": True,
            "schema": {"type": "string", "const": "GET, HEAD"},
        }
    },
)


def _get(operation_id: str, summary: str, responses: dict, *, parameters=(), description: str = "") -> dict:
    """A GET operation; every operation also answers 405 to any other method but HEAD."""
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["statistics"],
        "responses": {**responses, "405": METHOD_NOT_ALLOWED},
    }
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = [{"$ref": f"#/components/parameters/{name}"} for name in parameters]
    return {"get": operation}


PATHS = {
    "/api/v1/releases/": _get(
        "listReleases",
        "Public releases, newest first, a page at a time",
        {
            "200": {
                **_ok("A page of release summaries.", "ReleaseList"),
                "headers": {
                    "Link": {
                        "description": 'The first, previous, next and last pages (RFC 8288): rel="first", '
                        '"prev", "next", "last".',
                        "required": True,
                        "schema": {"type": "string"},
                    }
                },
            },
            "400": _error("page or per_page is not a whole number in range."),
            "404": _error("There is no such page: it is after the last."),
        },
        parameters=("page", "per_page"),
        description='Follow `links.next` (or the Link header\'s rel="next") to the end for every release.',
    ),
    "/api/v1/releases/{period}/": _get(
        "getRelease",
        "One public release in full",
        {"200": _ok("The release.", "Release"), "400": BAD_AS_OF, "404": NOT_FOUND},
        parameters=("period", "as_of"),
        description="The same as the release's JSON download, /statistics/{period}.json.",
    ),
    "/api/v1/metrics/": _get(
        "listMetrics",
        "Every public metric",
        {"200": _ok("Metric summaries, with where to fetch each series.", "MetricList")},
    ),
    "/api/v1/metrics/{slug}/": _get(
        "getMetric",
        "One metric and its full public series",
        {"200": _ok("The series.", "Series"), "400": BAD_AS_OF, "404": NOT_FOUND},
        parameters=("slug", "as_of"),
        description="The same as the series' JSON download, /statistics/metrics/{slug}.json.",
    ),
    "/api/v1/openapi.json": _get(
        "getOpenApi",
        "This description of the API",
        {"200": {"description": "OpenAPI 3.1.", "content": _json_content({"type": "object"})}},
    ),
}


def document(*, server: str, docs_url: str) -> dict:
    """The OpenAPI 3.1 description of API version 1, for the site at `server`."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{settings.NEWSROOM_ORGANISATION} deployment statistics API",
            "version": str(API_VERSION),
            "summary": "Read-only weekly deployment statistics: releases, their figures and metric series.",
            "description": (
                "Only public releases are ever included. Numbers are exact; `display` words them as the "
                "page does. Add `as_of=yyyy-mm-dd` to a release or a metric to get the figures as they "
                "were published on that day, before later corrections. The API is read-only (GET and "
                'HEAD); errors are JSON, `{"error": …}`.'
            ),
            "license": {"name": metadata.LICENCE_NAME, "url": metadata.LICENCE_URL},
            "contact": {"name": settings.NEWSROOM_ORGANISATION, "url": docs_url},
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "servers": [{"url": server}],
        "externalDocs": {"description": "The API's page, with examples", "url": docs_url},
        "tags": [{"name": "statistics", "description": "Releases and metric series"}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "parameters": PARAMETERS},
    }


@api_view
def openapi_json(request):
    """GET /api/v1/openapi.json."""
    return JsonResponse(
        document(
            server=request.build_absolute_uri("/").rstrip("/"),
            docs_url=request.build_absolute_uri(reverse("api-docs")),
        ),
        json_dumps_params={"indent": 2, "ensure_ascii": False},
    )


@read_only
def api_docs(request):
    """GET /api/: the API and the data downloads, for developers, with examples."""
    base = request.build_absolute_uri("/").rstrip("/")
    latest = Release.objects.public().order_by("-period_date").values_list("period_date", flat=True).first()
    metric = Metric.objects.filter(programme__is_active=True).values_list("slug", flat=True).first()
    context = {
        "base": base,
        "period": latest.isoformat() if latest else "2010-03-03",
        "metric_slug": metric or "eps-messages-total",
        "columns": metadata.COLUMNS,
        "licence_name": metadata.LICENCE_NAME,
        "licence_url": metadata.LICENCE_URL,
        "attribution": metadata.ATTRIBUTION,
        "openapi_url": reverse("api:openapi"),
        "breadcrumbs": statistics_crumbs(),
    }
    return render(request, "statistics/api_docs.html", context)
