"""A reader's request never writes to the database: what pages keep is kept by the worker."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stats.models import Figure, Release, Rendition
from stats.publishing import services
from stats.publishing.warming import warm_public_cache

PUBLIC = [
    "/",
    "/statistics/",
    "/statistics/2010-03-03/",
    "/statistics/archive/",
    "/statistics/programmes/eps/",
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
    "/statistics/data.csv",
    "/statistics/2010-03-03.excel.csv",
    "/statistics/calendar/",
    "/statistics/calendar.ics",
    "/statistics/revisions/",
    "/feed/",
    "/sitemap.xml",
    "/api/v1/releases/",
    "/api/v1/releases/2010-03-03/",
    "/api/v1/releases/2010-03-03/?as_of=2010-03-04",
    "/search/?q=prescription",
    "/contacts/",
]
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def writes_of(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return [q["sql"][:80] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]


@pytest.fixture
def kept_pieces_on(settings, seed_release):
    """Pieces of page kept, as in production (the tests turn the page cache off by default)."""
    from stats.demo.history import generate_history

    generate_history(weeks=5)
    settings.PUBLIC_CACHE_SECONDS = 300
    return seed_release


def test_no_public_get_writes_with_nothing_kept(client, kept_pieces_on):
    Rendition.objects.all().delete()
    found = {url: writes for url in PUBLIC if (writes := writes_of(client, url))}
    assert found == {}
    assert not Rendition.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_no_public_get_writes_after_a_correction(client, kept_pieces_on, publisher):
    warm_public_cache(kept_pieces_on)
    figure = Figure.objects.get(release=kept_pieces_on, metric__slug="eps-messages-total")
    services.correct_figure(figure=figure, by=publisher, value=figure.value + 7, reason="Late batch.")
    found = {url: writes for url in PUBLIC if (writes := writes_of(client, url))}
    assert found == {}
    assert "306,774,299" in client.get("/statistics/2010-03-03/").content.decode()


def test_the_worker_keeps_what_readers_then_read(client, kept_pieces_on, django_assert_max_num_queries):
    Rendition.objects.all().delete()
    warm_public_cache(Release.objects.public().order_by("-period_date").first())
    assert Rendition.objects.filter(key=kept_pieces_on.cache_scope).exists()
    client.cookies["sessionid"] = "not-a-session"  # past the page cache: the kept body is read
    with django_assert_max_num_queries(4):
        client.get("/statistics/2010-03-03/")
