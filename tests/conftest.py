import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    """Tests keep the cache in memory, however pytest is started (`make test` says so too): each
    test clears it, and no test reads what the site or another run left on disk."""
    from django.conf import settings
    from django.test.utils import override_settings

    if "filebased" in settings.CACHES["default"]["BACKEND"]:
        override_settings(
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        ).enable()


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run, shared by the browser journeys and the stack tests (Playwright's
    sync API runs one event loop at a time). Skips without Chromium, unless REQUIRE_BROWSER=1 (CI)."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _unavailable

    reason = _unavailable()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def seed_release(db):
    from stats.demo.seed import load_seed

    return load_seed()


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.org", "pass-word-123")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Each test starts with an empty cache and the page cache off.

    Test transactions roll back and never commit, so the page cache would not
    see their changes; tests/test_caching.py turns it on with real commits.
    """
    from django.core.cache import cache

    settings.PUBLIC_CACHE_SECONDS = 0
    settings.NEWSROOM_SITE_URL = "http://testserver"  # the test client's address
    cache.clear()
    yield
    cache.clear()


def _member(django_user_model, username, group):
    from django.contrib.auth.models import Group

    if not Group.objects.filter(name=group).exists():  # emptied by a test that commits
        from tests.factories import make_groups

        make_groups()
    user = django_user_model.objects.create_user(username, f"{username}@example.org")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name=group))
    return django_user_model.objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def press_officer(db, django_user_model):
    """A member of the Press officers group (made by the data migration)."""
    return _member(django_user_model, "pat", "Press officers")


@pytest.fixture
def publisher(db, django_user_model):
    """A member of the Publishers group (made by the data migration)."""
    return _member(django_user_model, "sam", "Publishers")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests make many users; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hidden_releases(seed_release):
    """A draft and an embargoed release after the seed, each with a tell-tale figure."""
    import datetime as dt

    from django.utils import timezone

    from stats.models import Figure, Metric, Release

    metric = Metric.objects.get(slug="eps-messages-total")
    draft = Release.objects.create(period_date=dt.date(2010, 3, 10))
    Figure.objects.create(release=draft, metric=metric, value=311_111_111)
    embargoed = Release.objects.create(
        period_date=dt.date(2010, 3, 17),
        status=Release.Status.SCHEDULED,
        publish_at=timezone.now() + dt.timedelta(hours=1),
    )
    Figure.objects.create(release=embargoed, metric=metric, value=322_222_222)
    return draft, embargoed


# --- email alerts -----------------------------------------------------------------------------------


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd) that Django's SMTP backend sends to; its inbox."""
    from tests.smtp import smtp_server

    settings.NEWSROOM_ALERTS_PER_SECOND = 1000
    with smtp_server(settings) as inbox:
        yield inbox


@pytest.fixture
def next_week(seed_release, superuser):
    """w/c 10 March 2010, public an hour ago: EPS messages up by 1,000,000 on the seed release."""
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from stats.models import Figure, Release
    from stats.publishing import services as publishing

    release = publishing.start_next_release(source=seed_release, by=superuser)
    figure = Figure.objects.get(release=release, metric__slug="eps-messages-total")
    figure.value += Decimal(1_000_000)
    figure.save()
    Release.objects.filter(pk=release.pk).update(
        status=Release.Status.PUBLISHED, publish_at=timezone.now() - dt.timedelta(hours=1)
    )
    release.refresh_from_db()
    return release


@pytest.fixture
def immediate_tasks(settings):
    """Tasks run at once, in the caller, so what the worker would send goes out within the test."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
