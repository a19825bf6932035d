"""Public page caching on the real Redis: embargoes lift on time, corrections show at once."""

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common.cache import BUILD_WAIT_SECONDS, breaker, current_state, remember
from stats.models import Figure, Metric, Release
from stats.wording import ukclock
from tests import redis
from tests.forms import admin_change_data

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.PUBLIC_CACHE_SECONDS = 300


@pytest.fixture(autouse=True)
def closed_breaker():
    """Each test starts with the cache's circuit breaker closed, and leaves it so."""
    breaker.reset()
    yield
    breaker.reset()


@pytest.fixture
def redis_cache():
    with redis.redis_cache(15, "caching") as cache:
        yield cache


@pytest.fixture
def committed(transactional_db):
    """Real commits, so on_commit invalidation runs as in production."""
    from stats.demo.seed import load_seed

    return load_seed()


def get(client, path):
    response = client.get(path)
    return response, response.content.decode()


def test_anonymous_pages_are_cached_in_redis_and_marked_public(client, redis_cache, committed):
    first, _ = get(client, "/statistics/")
    second, _ = get(client, "/statistics/")
    assert first["X-Cache"] == "miss" and second["X-Cache"] == "hit"
    assert first["Cache-Control"] == "public, max-age=300, s-maxage=300"
    assert second["Cache-Control"] in (
        "public, max-age=300, s-maxage=300",
        "public, max-age=299, s-maxage=299",
    )  # what is left of it
    stored = redis_cache.keys("page:*")
    assert len(stored) == 1


def test_campaign_tags_do_not_split_the_cache_nor_reach_the_page(client, redis_cache, committed):
    get(client, "/statistics/metrics/eps-messages-total/?sort=value")
    tagged, html = get(
        client, "/statistics/metrics/eps-messages-total/?utm_source=newsletter&sort=value&gclid=x"
    )
    assert tagged["X-Cache"] == "hit"
    assert "utm_source" not in html and "gclid" not in html
    assert get(client, "/statistics/metrics/eps-messages-total/?sort=-value")[0]["X-Cache"] == "miss"
    assert len(redis_cache.keys("page:*")) == 2


def test_a_cached_release_page_is_served_in_one_round_trip_to_redis(client, redis_cache, committed):
    """The release page is kept with its release's scopes: their versions are asked for with it."""
    from django.core.cache import caches

    assert get(client, "/statistics/2010-03-03/")[0]["X-Cache"] == "miss"
    backend, calls = caches["default"], []
    names = ("get", "get_many", "set", "set_many", "add", "delete")

    def counted(name, method):
        def call(*args, **kwargs):
            calls.append(name)
            return method(*args, **kwargs)

        return call

    for name in names:
        setattr(backend, name, counted(name, getattr(backend, name)))
    try:
        response, page = get(client, "/statistics/2010-03-03/")
    finally:
        for name in names:
            delattr(backend, name)
    assert response["X-Cache"] == "hit" and "306,774,292" in page
    assert calls == ["get_many"]


def test_conditional_get_answers_304(client, redis_cache, committed):
    etag = client.get("/statistics/")["ETag"]
    assert client.get("/statistics/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_staff_are_never_served_or_stored_from_the_cache(client, redis_cache, committed, django_user_model):
    get(client, "/statistics/")
    staff = django_user_model.objects.create_superuser("editor", "e@example.org", "pw-123456789")
    client.force_login(staff)
    response = client.get("/statistics/")
    assert "X-Cache" not in response


def staff(django_user_model, name: str, group: str):
    from django.contrib.auth.models import Group

    from tests.factories import make_groups

    make_groups()
    user = django_user_model.objects.create_user(name, f"{name}@example.org", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def correct(release, *, by, value) -> None:
    """A publisher corrects the release's prescription messages figure, in the open."""
    from stats.publishing import services

    with transaction.atomic():
        figure = Figure.objects.get(metric__slug="eps-messages-total", release=release)
        services.correct_figure(figure=figure, by=by, value=value, reason="A late batch.")


def test_a_correction_is_visible_at_once(client, redis_cache, committed, django_user_model):
    assert "306,774,292" in get(client, "/statistics/")[1]
    correct(committed, by=staff(django_user_model, "sam", "Publishers"), value=306_774_299)
    response, html = get(client, "/statistics/")
    assert response["X-Cache"] == "miss"
    assert "306,774,299" in html


def test_an_embargo_lifts_on_the_second_with_a_warm_cache(client, redis_cache, committed):
    metric = Metric.objects.get(slug="eps-messages-total")
    publish_at = timezone.now() + dt.timedelta(seconds=2)
    scheduled = Release.objects.create(
        period_date=dt.date(2010, 3, 10), status=Release.Status.SCHEDULED, publish_at=publish_at
    )
    Figure.objects.create(release=scheduled, metric=metric, value=310_000_000)
    scheduled.statements.create(programme=metric.programme, text="{eps-messages-total} messages.")
    before, html = get(client, "/statistics/")
    assert "310,000,000" not in html
    assert "3 March 2010" in html
    max_age = int(before["Cache-Control"].split("max-age=")[1].split(",")[0])
    assert max_age <= 2  # no cache, CDN included, may keep it past the publish time
    assert get(client, "/statistics/")[0]["X-Cache"] == "hit"
    time.sleep(max(0, (publish_at - timezone.now()).total_seconds()) + 0.05)
    _after, html = get(client, "/statistics/")
    assert "310,000,000" in html
    assert "10 March 2010" in html


def test_a_draft_s_edits_leave_every_cached_page_alone(client, redis_cache, committed, django_user_model):
    """A press officer's week on a draft (text, figures, confirmations) is on no public page."""
    from django.contrib.auth.models import Group

    from stats.publishing import services
    from tests.factories import make_groups

    make_groups()
    officer = django_user_model.objects.create_user("pat", "pat@example.org", is_staff=True)
    officer.groups.add(Group.objects.get(name="Press officers"))
    draft = services.start_next_release(source=committed, by=officer)
    pages = ("/", "/statistics/", "/statistics/calendar/", "/statistics/archive/", "/feed/")
    for path in pages:
        assert get(client, path)[0]["X-Cache"] == "miss", path
    with transaction.atomic():
        draft.title = "A new title for this week"
        draft.summary = "Over 310 million prescription messages."
        draft.save()
        Figure.objects.filter(release=draft, metric__slug="eps-messages-total").get().save()
        services.confirm_figures(release=draft, by=officer)
    for path in pages:
        assert get(client, path)[0]["X-Cache"] == "hit", f"{path} was rebuilt for a draft's edit"
    # A date for the draft, given on its page in the admin, puts it on the calendar: a public change.
    editor = Client()
    editor.force_login(officer)
    change = reverse("admin:statistics_release_change", args=[draft.pk])
    data = admin_change_data(editor.get(change))
    day = (timezone.now() + dt.timedelta(days=7)).astimezone(ukclock.UK).date()
    data.update(publish_at_0=day.isoformat(), publish_at_1="09:30")
    assert editor.post(change, data).status_code == 302
    response, calendar = get(client, "/statistics/calendar/")
    assert response["X-Cache"] == "miss" and Release.objects.get(pk=draft.pk).period_label in calendar


def test_a_correction_rebuilds_only_the_pages_that_show_the_corrected_figure(
    client, redis_cache, committed, django_user_model
):
    """A correction to one release: its pages, the next release's (which compares with it) and the
    site-wide pages are built again; every other release's pages are still served from the cache."""
    from django.contrib.auth.models import Group

    from stats.demo.history import generate_history
    from stats.publishing import services
    from tests.factories import make_groups

    generate_history(weeks=6)
    make_groups()
    publisher = django_user_model.objects.create_user("sam", "sam@example.org", is_staff=True)
    publisher.groups.add(Group.objects.get(name="Publishers"))
    releases = list(Release.objects.public().order_by("period_date"))
    corrected, following = releases[2], releases[3]
    release_pages = [r.get_absolute_url() for r in releases]
    site_pages = ["/", "/statistics/archive/", "/statistics/metrics/eps-messages-total/", "/feed/"]
    for path in release_pages + site_pages + ["/statistics/"]:
        assert get(client, path)[0]["X-Cache"] == "miss", path

    with transaction.atomic():
        services.correct_figure(
            figure=Figure.objects.get(release=corrected, metric__slug="eps-messages-total"),
            by=publisher,
            value=Figure.objects.get(release=corrected, metric__slug="eps-messages-total").value + 7,
            reason="A late batch.",
        )

    rebuilt = sorted(
        path
        for path in release_pages + site_pages + ["/statistics/"]
        if get(client, path)[0]["X-Cache"] == "miss"
    )
    assert rebuilt == sorted([corrected.get_absolute_url(), following.get_absolute_url(), *site_pages])
    assert "A late batch." in get(client, corrected.get_absolute_url())[1]


@override_settings(CACHES=DEAD_REDIS)
def test_the_site_still_serves_when_redis_is_down(client, committed):
    response = client.get("/statistics/")
    assert response.status_code == 200
    assert "306,774,292" in response.content.decode()


def test_healthz_checks_redis_and_reports_an_outage_as_degraded(client, redis_cache, db):
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "cache": "ok"}
    with override_settings(CACHES=DEAD_REDIS):
        response = client.get("/healthz")
    assert response.status_code == 200  # pages still come from the database
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "unavailable"}


def test_a_cache_hit_carries_the_security_headers(client, redis_cache, committed):
    first = client.get("/statistics/")
    hit = client.get("/statistics/")
    assert hit["X-Cache"] == "hit"
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "ETag"):
        assert hit[header] == first[header]


def test_the_cache_never_answers_for_a_host_that_is_not_allowed(client, redis_cache, committed):
    client.get("/statistics/")
    assert client.get("/statistics/", HTTP_HOST="evil.example").status_code == 400


def test_a_reader_the_page_cache_passes_by_costs_the_same_queries_however_long_the_history(
    client, redis_cache, committed
):
    """Signed in (or a new query string): the page is rendered for the reader, in a fixed number of
    queries, and nothing is stored for it."""
    from stats.demo.history import generate_history

    client.cookies["sessionid"] = "not-a-session"  # the page cache serves no one with a session

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/statistics/2010-03-03/")
        assert "X-Cache" not in response and "306,774,292" in response.content.decode()
        return len(captured.captured_queries)

    generate_history(weeks=2)
    first = queries()
    generate_history(weeks=20)
    assert queries() == first <= 12


def test_a_correction_reaches_readers_the_page_cache_passes_by_at_once(client, redis_cache, committed):
    client.cookies["sessionid"] = "not-a-session"
    assert "306,774,292" in get(client, "/statistics/2010-03-03/")[1]
    with transaction.atomic():
        figure = Figure.objects.get(metric__slug="eps-messages-total", release=committed)
        figure.value = 306_774_299
        figure.save()
    assert "306,774,299" in get(client, "/statistics/2010-03-03/")[1]


def test_a_staff_preview_is_never_served_from_what_the_public_is_served(
    client, redis_cache, committed, django_user_model
):
    get(client, "/statistics/2010-03-03/")  # warm the public fragment
    staff = django_user_model.objects.create_superuser("previewer", "p@example.org", "pw-123456789")
    client.force_login(staff)
    html = get(client, f"/statistics/preview/{committed.pk}/")[1]
    assert 'id="preview-banner"' in html
    assert "306,774,292" in html


def test_when_readers_miss_together_one_builds_and_the_others_wait_for_it(redis_cache, db):
    current_state()  # the generation exists, as on a running site
    builds = []

    def render():
        builds.append(threading.get_ident())
        time.sleep(0.3)
        return "rendered"

    with ThreadPoolExecutor(4) as pool:
        pages = list(pool.map(lambda _: remember("release-2010-03-10.pdf", render), range(4)))
    assert pages == ["rendered"] * 4
    assert len(builds) == 1


def test_if_the_one_building_fails_the_waiting_readers_build_at_once(redis_cache, db):
    current_state()
    started = threading.Event()

    def failing():
        started.set()
        time.sleep(0.2)
        raise RuntimeError("the database went away")

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(remember, "release-2010-03-10.pdf", failing)
        assert started.wait(2)
        began = time.monotonic()
        assert remember("release-2010-03-10.pdf", lambda: "rendered") == "rendered"
        assert time.monotonic() - began < BUILD_WAIT_SECONDS / 2
        with pytest.raises(RuntimeError):
            first.result()


# -- Freshness is worked out when a response is sent -------------------------------------------

# Every kind of public response: pages, feed, sitemap, API, downloads (one streamed), PDFs,
# and the 404 of a release still under embargo.
PUBLIC_RESPONSES = (
    "/",
    "/statistics/",
    "/statistics/archive/",
    "/feed/",
    "/sitemap.xml",
    "/api/v1/releases/",
    "/statistics/2010-03-03.csv",
    "/statistics/2010-03-03.xlsx",
    "/statistics/2010-03-03.json",
    "/statistics/data.csv",
    "/statistics/data.excel.csv",
    "/statistics/2010-03-03.pdf",
    "/statistics/programmes/eps.pdf",
    "/statistics/2010-03-10/",
)


def schedule_next_release(seconds: float) -> dt.datetime:
    """The w/c 10 March 2010 release, scheduled to come out `seconds` from now."""
    metric = Metric.objects.get(slug="eps-messages-total")
    publish_at = timezone.now() + dt.timedelta(seconds=seconds)
    scheduled = Release.objects.create(
        period_date=dt.date(2010, 3, 10), status=Release.Status.SCHEDULED, publish_at=publish_at
    )
    Figure.objects.create(release=scheduled, metric=metric, value=310_000_000)
    return publish_at


def seconds_to(moment: dt.datetime) -> float:
    return (moment - timezone.now()).total_seconds()


def max_age(response) -> int:
    return int(response["Cache-Control"].split("max-age=")[1].split(",")[0])


def fetch(client, path, **extra):
    response = client.get(path, **extra)
    if response.streaming:
        b"".join(response.streaming_content)
    return response


def test_a_cached_page_s_max_age_counts_down_to_the_publish_time(client, redis_cache, committed):
    """Stored some seconds before a publish time and served later, a page is fresh only for what is left."""
    publish_at = schedule_next_release(4)
    stored = fetch(client, "/statistics/")
    assert stored["X-Cache"] == "miss" and max_age(stored) <= 4
    time.sleep(1.5)
    left = seconds_to(publish_at)
    served = fetch(client, "/statistics/")
    assert served["X-Cache"] == "hit"
    assert max_age(served) <= left < max_age(stored)  # not the max-age it was stored with
    assert "Age" not in served  # the max-age is what is left: no Age to subtract
    not_modified = fetch(client, "/statistics/", HTTP_IF_NONE_MATCH=stored["ETag"])
    assert not_modified.status_code == 304  # a revalidated copy is no fresher
    assert max_age(not_modified) <= seconds_to(publish_at) + 1


def test_a_cached_page_s_max_age_counts_down_without_a_release_too(client, redis_cache, committed, settings):
    settings.PUBLIC_CACHE_SECONDS = 3
    assert max_age(fetch(client, "/statistics/")) == 3
    time.sleep(1.1)
    served = fetch(client, "/statistics/")
    assert served["X-Cache"] == "hit" and max_age(served) <= 1


def test_no_public_response_stays_fresh_past_the_next_publish_time(client, redis_cache, committed):
    publish_at = schedule_next_release(8)
    for path in PUBLIC_RESPONSES:  # stored (pages) or built (PDFs, streams) well before it
        assert fetch(client, path).status_code in (200, 404), path
    time.sleep(2)
    for path in PUBLIC_RESPONSES:
        left = seconds_to(publish_at)
        response = fetch(client, path)
        assert response["Cache-Control"].startswith("public"), path
        assert 0 < max_age(response) <= left, (path, response["Cache-Control"], left)
    assert fetch(client, "/").get("X-Cache") == "hit"


@override_settings(CACHES=DEAD_REDIS)
def test_with_redis_down_public_responses_still_stop_at_the_next_publish_time(client, committed):
    publish_at = schedule_next_release(30)
    for path in PUBLIC_RESPONSES:
        left = seconds_to(publish_at)
        response = fetch(client, path)
        assert response.status_code in (200, 404), path
        assert response.get("X-Cache") in (None, "local-miss"), path  # built from the database
        assert response["Cache-Control"].startswith("public"), path
        assert 0 < max_age(response) <= left, (path, response["Cache-Control"], left)


@override_settings(CACHES=DEAD_REDIS)
def test_with_redis_down_public_responses_are_cached_for_the_usual_time(client, committed):
    for path in PUBLIC_RESPONSES[:-1]:
        response = fetch(client, path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "public, max-age=300, s-maxage=300", path


# -- With Redis down each process keeps the pages it builds for a second, never past a publish time


@override_settings(CACHES=DEAD_REDIS)
def test_with_redis_down_a_page_kept_in_the_process_shows_a_change_made_here_at_once(
    client, committed, django_user_model
):
    assert fetch(client, "/statistics/")["X-Cache"] == "local-miss"
    assert fetch(client, "/statistics/")["X-Cache"] == "local-hit"
    correct(committed, by=staff(django_user_model, "sam", "Publishers"), value=306_774_299)
    response = fetch(client, "/statistics/")
    assert response["X-Cache"] == "local-miss" and "306,774,299" in response.content.decode()


@override_settings(CACHES=DEAD_REDIS)
def test_with_redis_down_a_change_made_on_another_server_shows_within_a_second(client, committed):
    from common.cache import LOCAL_KEEP_SECONDS

    assert "306,774,292" in fetch(client, "/statistics/").content.decode()
    # Another server corrects the figure: only its commit reaches this one, through the database.
    Figure.objects.filter(metric__slug="eps-messages-total", release=committed).update(value=306_774_299)
    time.sleep(LOCAL_KEEP_SECONDS)
    response = fetch(client, "/statistics/")
    assert response["X-Cache"] == "local-miss" and "306,774,299" in response.content.decode()


@override_settings(CACHES=DEAD_REDIS)
def test_with_redis_down_an_embargo_lifts_on_the_second_from_pages_kept_in_the_process(client, committed):
    publish_at = schedule_next_release(2)
    before = fetch(client, "/statistics/")
    assert "3 March 2010" in before.content.decode() and max_age(before) <= 2
    kept = fetch(client, "/statistics/")
    assert kept["X-Cache"] == "local-hit" and "310,000,000" not in kept.content.decode()
    time.sleep(max(0, seconds_to(publish_at)) + 0.05)
    after = fetch(client, "/statistics/").content.decode()
    assert "10 March 2010" in after and "310,000,000" in after
