"""A reader's request never writes to the database: what pages keep is kept by the worker.

Every public address is read with a guard on the database connection that refuses INSERT, UPDATE
and DELETE, so a public page that would write fails loudly; a public address left out of the list
below fails too, unless it is named in NOT_PUBLIC_READS with why.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve

from stats.models import Figure
from stats.publishing import services
from stats.publishing.warming import warm_public_cache
from tests.test_html_conformance import public_view_names

PUBLIC = [
    "/",
    "/statistics/",
    "/statistics/2010-03-03/",
    "/statistics/archive/",
    "/statistics/archive/2010/",
    "/statistics/programmes/eps/",
    "/statistics/programmes/eps.pdf",
    "/statistics/metrics/eps-messages-total/",
    "/statistics/metrics/eps-messages-total/?sort=value&page=2",
    "/statistics/2010-03-03.pdf",
    "/statistics/2010-03-03.csv",
    "/statistics/2010-03-03.xlsx",
    "/statistics/2010-03-03.json",
    "/statistics/2010-03-03.zip",
    "/statistics/2010-03-03.csv-metadata.json",
    "/statistics/metrics/eps-messages-total.csv",
    "/statistics/metrics/eps-messages-total.excel.csv",
    "/statistics/metrics/eps-messages-total.zip",
    "/statistics/metrics/eps-messages-total.json",
    "/statistics/metrics/eps-messages-total.csv-metadata.json",
    "/statistics/data.csv",
    "/statistics/data.excel.csv",
    "/statistics/data.csv-metadata.json",
    "/statistics/2010-03-03.excel.csv",
    "/statistics/calendar/",
    "/statistics/calendar.ics",
    "/statistics/revisions/",
    "/statistics/compliance/",
    "/feed/",
    "/sitemap.xml",
    "/robots.txt",
    "/healthz",
    "/api/",
    "/api/v1/openapi.json",
    "/api/v1/releases/",
    "/api/v1/releases/?page=2&per_page=2",
    "/api/v1/releases/2010-03-03/",
    "/api/v1/releases/2010-03-03/?as_of=2010-03-04",
    "/api/v1/metrics/",
    "/api/v1/metrics/eps-messages-total/",
    "/search/?q=prescription",
    "/contacts/",
    "/contacts/all.vcf",
    "/subscribe/",
    "/subscribe/check-your-email/",
]
# Addresses that are not public reads, and why.
NOT_PUBLIC_READS = {
    "statistics:release-preview": "staff only",
    "statistics:pre-release": "a personal link: its holder's access is recorded, as the Code requires",
    "statistics:pre-release-pdf": "a personal link: its holder's access is recorded, as the Code requires",
    "alerts:confirm": "a personal link (tests/test_alert_subscribing.py)",
    "alerts:manage": "a personal link (tests/test_alert_subscribing.py)",
    "alerts:unsubscribe": "a personal link (tests/test_alert_subscribing.py)",
    "contacts:contact-vcard": "read below, with a contact's own id",
}
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class Refused(Exception):
    pass


@contextmanager
def refusing_writes():
    """The database connection refuses to write, as a read replica would."""

    def guard(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(WRITES):
            raise Refused(sql[:80])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(guard):
        yield


def writes_of(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as queries, refusing_writes():
        try:
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
        except Refused as refused:
            return [str(refused)]
    assert response.status_code == 200, url
    return [q["sql"][:80] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_every_public_address_is_read_here():
    read = {resolve(url.split("?")[0]).view_name for url in PUBLIC}
    missing = public_view_names() - read - set(NOT_PUBLIC_READS)
    assert not missing, f"public addresses not read with the guard (add one, or say why not): {missing}"


@pytest.fixture
def cached_as_deployed(settings, seed_release):
    """Public caching on, as in production (the tests turn the page cache off by default)."""
    from stats.demo.history import generate_history

    generate_history(weeks=5)
    settings.PUBLIC_CACHE_SECONDS = 300
    return seed_release


def test_no_public_get_writes_with_nothing_cached(client, cached_as_deployed):
    from contacts.models import MediaContact

    contact = MediaContact.objects.first()
    urls = [*PUBLIC, f"/contacts/{contact.slug}.vcf"] if contact else PUBLIC
    found = {url: writes for url in urls if (writes := writes_of(client, url))}
    assert found == {}


@pytest.mark.django_db(transaction=True)
def test_no_public_get_writes_after_a_correction(client, cached_as_deployed, publisher):
    warm_public_cache(cached_as_deployed)
    figure = Figure.objects.get(release=cached_as_deployed, metric__slug="eps-messages-total")
    services.correct_figure(figure=figure, by=publisher, value=figure.value + 7, reason="Late batch.")
    found = {url: writes for url in PUBLIC if (writes := writes_of(client, url))}
    assert found == {}
    assert "306,774,299" in client.get("/statistics/2010-03-03/").content.decode()
