"""The API keeps to its OpenAPI description: Schemathesis tries every operation with every check.

The description is read from the site itself (/api/v1/openapi.json) through its WSGI application, so
each request passes the whole middleware stack (CSRF, the page cache…) as a reader's does. The plain
tests below pin what Schemathesis found: methods other than GET and HEAD answer 405 with `Allow`, on
the API and on every download, and the API answers its errors in JSON.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, settings

from stats.vintages import uk_today

# A scheduled release, an hour from its publish time, and its tell-tale figure: no answer shows them.
EMBARGOED_DAY = "2010-03-17"
EMBARGOED_VALUE = 377_777_777


@pytest.fixture
def published_archive(next_week):
    """The seed release, the week after it, eight weeks of history before them, one embargoed week."""
    from django.utils import timezone

    from stats.demo.history import generate_history
    from stats.models import Figure, Metric, Release

    generate_history(weeks=8)
    embargoed = Release.objects.create(
        period_date=dt.date.fromisoformat(EMBARGOED_DAY),
        status=Release.Status.SCHEDULED,
        publish_at=timezone.now() + dt.timedelta(hours=1),
    )
    Figure.objects.create(
        release=embargoed, metric=Metric.objects.get(slug="eps-messages-total"), value=EMBARGOED_VALUE
    )
    return next_week


@pytest.fixture
def one_connection():
    """Requests through the WSGI application share the test's database connection and transaction,
    as Django's test client makes them: Django would otherwise close the connection as each request
    starts and ends (`close_old_connections`), which on PostgreSQL ends the test's transaction."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _load_schema():
    """The description as the site serves it. Read while the tests are collected, when no database
    is open: the description needs none, and the page cache, which would ask, is off meanwhile.
    (Schemathesis's `from_fixture` would read it inside a test, but does not run on pytest 9.)"""
    from django.test import override_settings

    from newsroom.wsgi import application

    with override_settings(PUBLIC_CACHE_SECONDS=0):
        return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


# Schemathesis leaves out the operation that served the description unless a filter names it: this
# one names every operation under /api/v1/, the description's own included.
schema = _load_schema().include(path_regex="^/api/v1/")

# What each operation was sent and answered, for test_every_operation_was_exercised.
EXERCISED: dict[str, Counter] = defaultdict(Counter)


def never_shows_the_embargoed_release(ctx, response, case):
    """No answer, whatever was asked, shows a release still under embargo or its figure."""
    for leak in (EMBARGOED_DAY, str(EMBARGOED_VALUE), f"{EMBARGOED_VALUE:,}"):
        assert leak not in response.text, f"{case.method} {case.formatted_path} shows {leak}"


# Every check Schemathesis has is on (the default: none is switched off in any configuration); the
# phases are its defaults too: the description's examples, coverage (each parameter's edges, and
# every method the description does not list), and fuzzing, positive and negative.
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    # One set of rows serves every example; nothing the API does writes to it.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@schema.parametrize()
def test_every_operation_keeps_to_the_description(case, published_archive, one_connection):
    response = case.call_and_validate(additional_checks=[never_shows_the_embargoed_release])
    EXERCISED[case.operation.definition.raw["operationId"]][(case.method, response.status_code)] += 1


def test_every_check_is_on():
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    checks = schema.config.checks_config_for(operation=None, phase=None)
    names = {check.__name__ for check in CHECKS.get_all() if not isinstance(check, type)}
    assert names >= {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "unsupported_method",
        "use_after_free",
        "ensure_resource_availability",
        "ignored_auth",
    }
    assert sorted(name for name in names if not checks.get_by_name(name=name).enabled) == []


def test_every_operation_was_exercised():
    """Runs after the Schemathesis test (file order): each operation got many cases, the methods it
    does not list among them, and those that name a release or a metric found real ones."""
    if not EXERCISED:
        pytest.skip("run with test_every_operation_keeps_to_the_description")
    operations = {
        item["get"]["operationId"]: path for path, item in schema.raw_schema["paths"].items() if "get" in item
    }
    assert set(EXERCISED) == set(operations)
    for operation_id, path in operations.items():
        answers = EXERCISED[operation_id]
        assert sum(answers.values()) >= 8, (operation_id, answers)
        assert answers["GET", 200], (operation_id, answers)
        assert {method for method, status in answers if status == 405} >= {"POST", "PUT", "DELETE", "TRACE"}
        if "{" in path:
            assert answers["GET", 404] and answers["GET", 400], (operation_id, answers)


# --- Methods: GET and HEAD only, 405 with Allow for the rest --------------------------------------

API_URLS = [
    "/api/v1/releases/",
    "/api/v1/releases/2010-03-03/",
    "/api/v1/releases/2010-03-03/?as_of=2010-03-31",
    "/api/v1/metrics/",
    "/api/v1/metrics/eps-messages-total/",
    "/api/v1/openapi.json",
]
DOWNLOAD_URLS = [
    "/statistics/2010-03-03.csv",
    "/statistics/2010-03-03.excel.csv",
    "/statistics/2010-03-03.xlsx",
    "/statistics/2010-03-03.json",
    "/statistics/2010-03-03.pdf",
    "/statistics/2010-03-03.zip",
    "/statistics/2010-03-03.csv-metadata.json",
    "/statistics/metrics/eps-messages-total.csv",
    "/statistics/metrics/eps-messages-total.excel.csv",
    "/statistics/metrics/eps-messages-total.xlsx",
    "/statistics/metrics/eps-messages-total.json",
    "/statistics/metrics/eps-messages-total.zip",
    "/statistics/metrics/eps-messages-total.csv-metadata.json",
    "/statistics/programmes/eps.pdf",
    "/statistics/data.csv",
    "/statistics/data.excel.csv",
    "/statistics/data.csv-metadata.json",
    "/statistics/calendar.ics",
    "/contacts/all.vcf",
    "/feed/",
    "/sitemap.xml",
    "/robots.txt",
]
# Pages built by a plain function, which no class-based view's method check covers.
PAGE_URLS = ["/", "/search/?q=eps", "/contacts/", "/api/", "/healthz"]
REFUSED = ["POST", "PUT", "PATCH", "DELETE", "TRACE", "OPTIONS"]


@pytest.fixture
def strict_client():
    """A client the CSRF check applies to, as it does to every real request."""
    return Client(enforce_csrf_checks=True)


def _send(client, method: str, url: str):
    return client.generic(method, url, data=b"x=1", content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("urls", [API_URLS, DOWNLOAD_URLS, PAGE_URLS], ids=["api", "downloads", "pages"])
def test_only_get_and_head_are_answered(strict_client, seed_release, urls):
    for url in urls:
        assert strict_client.get(url).status_code == 200, url
        assert strict_client.head(url).status_code == 200, url
        for method in REFUSED:
            response = _send(strict_client, method, url)
            assert (response.status_code, response["Allow"]) == (405, "GET, HEAD"), (method, url)
            if url.startswith("/api/v1/"):
                assert response["Content-Type"] == "application/json", (method, url)
                assert method in response.json()["error"], (method, url)


def test_a_refused_method_changes_nothing_and_shows_nothing(strict_client, seed_release):
    from stats.models import Release

    before = list(Release.objects.values())
    for method in REFUSED:
        response = _send(strict_client, method, "/api/v1/releases/2010-03-03/")
        assert b"306774292" not in response.content and b"306,774,292" not in response.content
    assert list(Release.objects.values()) == before


def test_trace_is_refused_even_when_the_page_is_in_the_cache(strict_client, seed_release, settings):
    settings.PUBLIC_CACHE_SECONDS = 300
    for url in ("/api/v1/releases/2010-03-03/", "/statistics/2010-03-03.csv"):
        strict_client.get(url)
        assert strict_client.get(url)["X-Cache"] == "hit"
        response = strict_client.generic("TRACE", url)
        assert (response.status_code, response["Allow"]) == (405, "GET, HEAD"), url
        assert b"306774292" not in response.content


# --- Errors in JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/releases/2010-03-24/", "period"),  # no release that week
        ("/api/v1/releases/2010-03-03/?as_of=2010-03-02", "period"),  # before it was published
        (f"/api/v1/releases/{EMBARGOED_DAY}/", "period"),  # under embargo
        ("/api/v1/metrics/no-such-metric/", "slug"),
        ("/api/v1/releases/2010-02-30/", None),  # not a date
        ("/api/v1/no-such-thing/", None),
        ("/api/v1/releases/2010-03-03/figures/", None),
    ],
)
def test_not_found_under_the_api_is_json(client, published_archive, url, parameter):
    response = client.get(url)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    data = response.json()
    assert data["error"] and data.get("parameter") == parameter
    if parameter == "period":
        assert data["value"] == url.split("/")[4]
    assert str(EMBARGOED_VALUE) not in response.content.decode()


def test_not_found_elsewhere_is_still_a_page(client, seed_release):
    response = client.get("/statistics/2010-03-24/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


# --- as_of after today --------------------------------------------------------------------------


@pytest.mark.parametrize("days", [1, 365, None])
def test_as_of_after_today_gives_what_is_public_now_and_nothing_embargoed(client, published_archive, days):
    today = uk_today()
    later = (today + dt.timedelta(days=days)).isoformat() if days else "9999-12-31"
    release = client.get(f"/api/v1/releases/2010-03-10/?as_of={later}")
    assert release.status_code == 200 and release.json()["as_published_on"] == today.isoformat()
    assert client.get(f"/api/v1/releases/{EMBARGOED_DAY}/?as_of={later}").status_code == 404
    series = client.get(f"/api/v1/metrics/eps-messages-total/?as_of={later}")
    assert series.status_code == 200 and series.json()["as_published_on"] == today.isoformat()
    periods = [figure["period"] for figure in series.json()["figures"]]
    assert periods[-1] == "2010-03-10" and EMBARGOED_DAY not in periods
    assert series.json()["figures"] == client.get("/api/v1/metrics/eps-messages-total/").json()["figures"]
    csv = client.get(f"/statistics/metrics/eps-messages-total.csv?as_of={later}").content.decode()
    assert "2010-03-10" in csv and EMBARGOED_DAY not in csv and str(EMBARGOED_VALUE) not in csv
