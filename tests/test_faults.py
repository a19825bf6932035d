"""Faults, for real: a Redis that hangs (CLIENT PAUSE), a database that refuses or drops connections.

Nothing here is mocked. Redis is the one at 127.0.0.1:6379 (the test index, 15, as in
tests/test_caching.py, or TEST_REDIS_DB); pausing it pauses every client of that server for one to
three seconds.
The database is the test database on whichever engine DATABASE_URL names: refusing
connections is a real connection attempt to a closed port (PostgreSQL) or to a file that
cannot be opened (SQLite).
"""

import contextlib
import io
import os
import socket
import sys
import time

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import Client, override_settings

from common.cache import breaker
from stats.models import Figure

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))
PAUSE_SECONDS = 3.0
# Seconds: "at database speed". Built from the database, with nothing cached, the release
# page takes about 0.2-0.4 s here (it builds the PDF and spreadsheet for their sizes).
QUICK = 0.5
# The files first: the sizes they record are on the release page (a size recorded moves it on).
PUBLIC_PAGES = (
    "/statistics/2010-03-03.csv",
    "/statistics/2010-03-03.pdf",
    "/",
    "/statistics/",
    "/statistics/archive/",
    "/feed/",
    "/sitemap.xml",
    "/api/v1/releases/",
)
# What scripts/faults.py drives: the pages most readers read.
ROTATION = (
    "/",
    "/statistics/",
    "/statistics/2010-03-03/",
    "/statistics/archive/",
    "/feed/",
    "/sitemap.xml",
    "/api/v1/releases/",
)


def production_redis() -> dict:
    """The test Redis with the socket timeouts newsroom/settings.py gives the real one."""
    timeout = django_settings.REDIS_SOCKET_TIMEOUT
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
            "KEY_PREFIX": "newsroom-faults",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": timeout, "SOCKET_TIMEOUT": timeout},
        }
    }


@pytest.fixture(autouse=True)
def closed_breaker():
    breaker.reset()
    yield
    breaker.reset()


@pytest.fixture
def redis_cache(settings):
    from django_redis.pool import ConnectionFactory

    settings.PUBLIC_CACHE_SECONDS = 300
    # django-redis keeps one pool per address for the whole process: another test's pool for the
    # same Redis, made without the socket timeouts, would wait out a pause instead of giving up.
    ConnectionFactory._pools.clear()
    with override_settings(CACHES=production_redis()):
        cache = caches["default"]
        try:
            cache.clear()
        except Exception as error:
            pytest.fail(f"Redis is not reachable on {REDIS_HOST}:{REDIS_PORT}: {error}")
        yield cache
        cache.clear()


@pytest.fixture
def committed(transactional_db):
    """Real commits, so on_commit invalidation runs as in production."""
    from stats.demo.seed import load_seed

    return load_seed()


@contextlib.contextmanager
def redis_paused(seconds: float = PAUSE_SECONDS):
    """CLIENT PAUSE the Redis server: it accepts connections but answers no command until the end."""
    admin = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=seconds + 10)
    admin.execute_command("CLIENT", "PAUSE", int(seconds * 1000))
    started = time.monotonic()
    try:
        yield started
    finally:
        # Redis 7 holds this command too until the pause ends: afterwards Redis answers again.
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.close()


def timed_get(client, path, **extra):
    began = time.monotonic()
    response = client.get(path, **extra)
    if response.streaming:
        b"".join(response.streaming_content)
    return response, time.monotonic() - began


def max_age(response) -> int:
    return int(response["Cache-Control"].split("max-age=")[1].split(",")[0])


# -- Redis paused ------------------------------------------------------------------------------


def test_public_pages_answer_at_database_speed_while_redis_is_paused(client, redis_cache, committed):
    for path in PUBLIC_PAGES:  # warm: the pages are in Redis
        assert client.get(path).status_code == 200
    assert client.get("/statistics/")["X-Cache"] == "hit"

    with redis_paused() as paused_at:
        first, first_took = timed_get(client, "/statistics/")
        timings = {}
        for path in PUBLIC_PAGES:
            for _ in range(2):  # the faster of two, so a busy shared machine does not decide
                response, took = timed_get(client, path)
                assert response.status_code == 200, path
                assert response.get("X-Cache") not in ("hit", "miss"), path  # Redis left alone
                assert "public" in response["Cache-Control"], path
                assert max_age(response) in (300, 299), path  # what is left of it, when kept
                timings[path] = min(took, timings.get(path, took))
        health, health_took = timed_get(client, "/healthz")
        still_paused = time.monotonic() - paused_at < PAUSE_SECONDS
    assert still_paused, "the requests outlasted the pause: nothing was measured during it"
    assert first.status_code == 200 and "306,774,292" in first.content.decode()
    # The first request waits one socket timeout for Redis, then the breaker is open.
    assert first_took < django_settings.REDIS_SOCKET_TIMEOUT * 2 + QUICK
    slow = {path: round(took, 3) for path, took in timings.items() if took >= QUICK}
    assert not slow, f"slower than {QUICK} s with Redis paused: {slow}"
    assert health.status_code == 200 and health_took < QUICK
    assert health.json() == {"status": "degraded", "database": "ok", "cache": "unavailable"}


def test_pages_are_served_as_fast_while_redis_is_paused_as_from_redis(client, redis_cache, committed):
    """Each process keeps the pages it builds while Redis does not answer, as fresh as the database."""

    def read_the_rotation(times: int) -> float:
        began = time.monotonic()
        for _ in range(times):
            for path in ROTATION:
                assert client.get(path).status_code == 200, path
        return time.monotonic() - began

    read_the_rotation(2)  # every page in Redis
    normal = min(read_the_rotation(3) for _ in range(2))
    with redis_paused() as paused_at:
        read_the_rotation(1)  # the first request waits one socket timeout; each page is built once
        paused = min(read_the_rotation(3) for _ in range(2))
        served_from = {client.get(path).get("X-Cache") for path in ROTATION}
        still_paused = time.monotonic() - paused_at < PAUSE_SECONDS
    assert still_paused, "the requests outlasted the pause: nothing was measured during it"
    assert paused < normal * 2 + 0.05, f"{paused:.3f} s with Redis paused, {normal:.3f} s from Redis"
    assert served_from == {"local-hit"}


def test_healthz_answers_degraded_at_once_when_redis_pauses(client, redis_cache, db):
    assert client.get("/healthz").json()["cache"] == "ok"
    with redis_paused():
        first, first_took = timed_get(client, "/healthz")  # probes Redis: one socket timeout
        again, again_took = timed_get(client, "/healthz")  # breaker open: no probe at all
    assert first.json() == {"status": "degraded", "database": "ok", "cache": "unavailable"}
    assert first_took < django_settings.REDIS_SOCKET_TIMEOUT * 2 + QUICK
    assert again.json()["status"] == "degraded" and again_took < 0.1


def test_the_cache_is_used_again_once_the_retry_time_has_passed(client, redis_cache, committed, settings):
    settings.NEWSROOM_CACHE_RETRY_SECONDS = 0.5
    client.get("/statistics/")
    with redis_paused(1.0):
        assert client.get("/statistics/")["X-Cache"] == "local-miss"
    time.sleep(settings.NEWSROOM_CACHE_RETRY_SECONDS)
    assert client.get("/statistics/")["X-Cache"] in ("hit", "miss")


def test_a_correction_committed_while_redis_is_paused_is_not_hidden_by_the_cache_after(
    client, redis_cache, committed, settings, django_user_model
):
    from django.contrib.auth.models import Group

    from stats.publishing import services
    from tests.factories import make_groups

    make_groups()
    publisher = django_user_model.objects.create_user("sam", "sam@example.org", is_staff=True)
    publisher.groups.add(Group.objects.get(name="Publishers"))
    settings.NEWSROOM_CACHE_RETRY_SECONDS = 0.5
    assert "306,774,292" in client.get("/statistics/").content.decode()
    assert client.get("/statistics/")["X-Cache"] == "hit"
    with redis_paused(1.0):
        assert client.get("/statistics/")["X-Cache"] == "local-miss"  # kept in this process
        figure = Figure.objects.get(metric__slug="eps-messages-total", release=committed)
        # Committed: the invalidation cannot reach Redis now.
        services.correct_figure(figure=figure, by=publisher, value=306_774_299, reason="A late batch.")
        assert "306,774,299" in client.get("/statistics/").content.decode()
    time.sleep(settings.NEWSROOM_CACHE_RETRY_SECONDS)
    assert "306,774,299" in client.get("/statistics/").content.decode()


# -- Database refusing connections -------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def database_refusing():
    """Every new connection to the database fails, as when it is down or refusing: for real.

    The open connection is set aside (kept open, so SQLite's in-memory test database
    lives on) and the connection settings point at a port nothing listens on, or on SQLite
    at a file that cannot be opened. Yields the text that must never be shown publicly.
    """
    saved = connection.connection
    settings_dict = connection.settings_dict
    original = dict(settings_dict)
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent-newsroom-dir/refused.sqlite3"
        secrets = ["nonexistent-newsroom-dir", "refused.sqlite3"]
    else:
        port = closed_port()
        settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", str(port)
        secrets = ["127.0.0.1", str(port), original["NAME"]]
    connection.connection = None
    try:
        yield secrets
    finally:
        connection.close()
        settings_dict.clear()
        settings_dict.update(original)
        if connection.vendor == "sqlite":
            connection.connection = saved  # the in-memory database lives in this connection
        elif saved is not None:
            saved.close()  # the next query connects again by itself


def test_a_database_that_refuses_connections_gets_503_with_retry_after_never_500(
    committed, django_user_model, caplog
):
    anonymous = Client()  # raises any exception a request lets through, so a 500 cannot hide
    staff = django_user_model.objects.create_superuser("editor", "e@example.org", "pw-123456789")
    signed_in = Client()
    signed_in.force_login(staff)
    pages = (*PUBLIC_PAGES, "/statistics/2010-03-03/", "/search/?q=prescription", "/contacts/")
    requests = [(anonymous, "get", path) for path in pages] + [
        (signed_in, "get", "/statistics/"),
        (signed_in, "get", "/admin/"),
        (signed_in, "get", "/admin/statistics/release/"),
        (anonymous, "post", "/admin/login/"),
    ]

    with database_refusing() as secrets:
        for browser, method, path in requests:
            data = {"username": "editor", "password": "pw-123456789"} if method == "post" else None
            response = getattr(browser, method)(path, data)
            assert response.status_code == 503, (method, path, response.status_code)
            assert int(response["Retry-After"]) > 0
            assert "no-store" in response["Cache-Control"]
            body = response.content.decode()
            assert "Sorry, the service is unavailable" in body
            assert not any(secret in body for secret in secrets)
        health = anonymous.get("/healthz")

    assert health.status_code == 503 and int(health["Retry-After"]) > 0
    assert health.json() == {"status": "error", "database": "unavailable"}
    assert not any(secret in health.content.decode() for secret in secrets)
    assert "Health check: the database does not answer." in caplog.text  # the detail is logged
    assert "OperationalError" in caplog.text

    # The database is back: the same requests are answered, no restart needed.
    for browser, method, path in requests[:-1]:
        assert getattr(browser, method)(path).status_code == 200, path
    assert anonymous.get("/healthz").json()["database"] == "ok"


def test_a_database_error_raised_outside_a_view_is_a_503_too(transactional_db, rf):
    """Errors raised by middleware (saving a session, say) reach handler500, which answers 503."""
    from django.db import OperationalError

    from newsroom.views import server_error

    with database_refusing() as secrets:
        try:
            connection.ensure_connection()
        except OperationalError:
            response = server_error(rf.get("/"))
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert not any(secret in response.content.decode() for secret in secrets)
    try:
        raise ValueError("not the database")
    except ValueError:
        assert server_error(rf.get("/")).status_code == 500


def test_connection_health_checks_are_on():
    assert django_settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def wsgi_get(path: str) -> tuple[int, dict, bytes]:
    """One request through Django's WSGI handler, as gunicorn makes it (request signals included)."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = int(status.split()[0]), dict(headers)

    result = WSGIHandler()(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()  # request_finished: Django closes connections that failed
    return started["status"], started["headers"], body


@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="pg_terminate_backend is PostgreSQL's; on SQLite refusal is tested above",
)
def test_terminated_database_connections_give_503_then_are_replaced_by_themselves(committed, client):
    import psycopg

    def terminate_our_connection():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        params = connection.get_connection_params()
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    # Dropped during a request (the test client skips the check Django makes as a request
    # starts, as if the connection died after it): 503, not 500, and the health check notices.
    assert client.get("/statistics/").status_code == 200
    terminate_our_connection()
    dropped = client.get("/statistics/")
    assert dropped.status_code == 503 and int(dropped["Retry-After"]) > 0
    assert client.get("/healthz").status_code == 503

    # Dropped between requests, as gunicorn serves them: CONN_HEALTH_CHECKS replaces it at once.
    status, _, _ = wsgi_get("/statistics/")  # request_finished closes the broken connection
    status, _, _ = wsgi_get("/statistics/")
    assert status == 200
    terminate_our_connection()
    status, _, body = wsgi_get("/statistics/")
    assert status == 200 and b"306,774,292" in body
    status, _, body = wsgi_get("/healthz")
    assert status == 200 and b'"database": "ok"' in body
