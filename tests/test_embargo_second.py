"""Around the second: no address gives a scheduled release's figures, files or metadata before it,
and every one gives them from it, with the page cache and kept pieces on (Redis), the files built
at approval, the worker's warming before the second and its release moment after it.

Readers fetch every address of the release and of the site over and over, from a few seconds
before its publish time to a few after. What a response that ended before the second showed is
checked for the release's figures and words; what a request begun after it got, for them.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from common.cache import breaker
from stats.models import Figure, Release, ReleaseFile
from stats.publishing import services
from stats.publishing.tasks import release_moment
from stats.publishing.warming import keep_what_readers_read
from stats.wording import ukclock
from tests import redis
from tests.alerting import run_worker
from tests.test_embargo import CANARY_FIGURES, leaks, readable

pytestmark = pytest.mark.django_db(transaction=True)

LEAD_SECONDS = 15  # from the approval to the second: the files are built, the site warmed
AFTER_SECONDS = 6
# Readers have the release from its second by the clock alone; the worker's release moment (marking
# it published, warming the site) runs here a little later, in the readers' thread, and they go on.
MOMENT_AFTER_SECONDS = 1.5
PERIOD = "2010-03-10"
TODAY = "{today}"  # ?as_of= the UK day of the test

# Every address of the release: 404 up to the second, then 200 (with its figures, but for the
# metadata, which has none).
OF_THE_RELEASE = [
    f"/statistics/{PERIOD}/",
    f"/statistics/{PERIOD}.pdf",
    f"/statistics/{PERIOD}.csv",
    f"/statistics/{PERIOD}.xlsx",
    f"/statistics/{PERIOD}.json",
    f"/statistics/{PERIOD}.zip",
    f"/statistics/{PERIOD}.csv-metadata.json",
    f"/api/v1/releases/{PERIOD}/",
    f"/statistics/{PERIOD}.csv?as_of={TODAY}",
    f"/statistics/{PERIOD}.json?as_of={TODAY}",
    f"/statistics/{PERIOD}.xlsx?as_of={TODAY}",
    f"/api/v1/releases/{PERIOD}/?as_of={TODAY}",
]
NO_FIGURES = (".csv-metadata.json",)
# Addresses of the site that show the release once it is out, and never before.
OF_THE_SITE = [
    "/",
    "/statistics/",
    "/statistics/archive/",
    "/statistics/data.csv",
    "/statistics/programmes/eps/",
    "/statistics/programmes/eps.pdf",
    "/statistics/metrics/eps-messages-total/",
    "/statistics/metrics/eps-messages-total.zip",
    "/statistics/metrics/eps-messages-total.csv",
    f"/statistics/metrics/eps-messages-total.json?as_of={TODAY}",
    "/api/v1/metrics/eps-messages-total/",
    "/api/v1/releases/",
    "/feed/",
    "/sitemap.xml",
    "/search/?q=census",
]
# Addresses that name the release's date, never a figure, before or after.
NEVER_FIGURES = ["/statistics/calendar.ics", "/statistics/calendar/"]


def shows_the_release(text: str) -> bool:
    """Its figures, or its date (the archive, the feed and the sitemap list it without figures)."""
    return bool(leaks(text)) or PERIOD in text or "10 March 2010" in text


@dataclass
class Fetch:
    path: str
    began: float
    ended: float
    status: int
    text: str
    cache: str


@pytest.fixture
def redis_cache(settings):
    settings.PUBLIC_CACHE_SECONDS = 300  # the page cache, and with it kept pieces, on
    with redis.redis_cache(7, "embargo-second") as cache:
        breaker.reset()
        yield cache
        breaker.reset()


def approved_for(when: dt.datetime, press_officer, publisher) -> Release:
    """Next week's release with tell-tale figures and words, through the real workflow."""
    from stats.demo.seed import load_seed

    release = services.start_next_release(source=load_seed(), by=press_officer)
    for slug, value in CANARY_FIGURES.items():
        Figure.objects.filter(release=release, metric__slug=slug).update(value=value)
    release.summary = "Quokka summary: nearly a billion prescription messages."
    release.save(update_fields=["summary"])
    statement = release.statements.first()
    statement.pk = None
    statement.text = "Quokka census: {eps-messages-total} messages."
    statement.save()
    services.confirm_figures(release=release, by=press_officer)
    services.submit_release(release=release, by=press_officer, acknowledge_warnings=True)
    return services.approve_release(release=release, by=publisher, publish_at=when, acknowledge_warnings=True)


def test_nothing_of_a_release_is_reachable_a_second_early_and_everything_is_from_its_second(
    redis_cache, press_officer, publisher
):
    today = timezone.now().astimezone(ukclock.UK).date()
    paths = [p.replace(TODAY, today.isoformat()) for p in OF_THE_RELEASE + OF_THE_SITE + NEVER_FIGURES]
    release_paths = [p.replace(TODAY, today.isoformat()) for p in OF_THE_RELEASE]

    second = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=LEAD_SECONDS)
    release = approved_for(second, press_officer, publisher)
    run_worker()  # what the worker does at once: the files, built at approval, ready at the second
    assert ReleaseFile.objects.filter(release=release, version=release.version).count() >= 5
    keep_what_readers_read()  # the worker's catch-up keeps the site's pieces before the second
    t = second.timestamp()
    assert time.time() < t - 3, "the set-up took too long to leave readers time before the second"

    reader = Client()
    fetches: list[Fetch] = []
    moment_ran = ""
    while time.time() < t + AFTER_SECONDS:
        for path in paths:
            if not moment_ran and time.time() >= t + MOMENT_AFTER_SECONDS:
                moment_ran = release_moment.call(release.pk)  # the worker, a moment after the second
            began = time.time()
            response = reader.get(path)
            text = readable(response)
            fetches.append(
                Fetch(path, began, time.time(), response.status_code, text, response.get("X-Cache", ""))
            )

    before = [f for f in fetches if f.ended < t]
    after = [f for f in fetches if f.began >= t]
    early = {f.path: leaks(f.text) for f in before if leaks(f.text)}
    assert not early, f"Figures reachable before the second: {early}"
    shown = {f.path: f.status for f in before if f.path in release_paths and f.status != 404}
    assert not shown, f"Addresses of the release that answered before the second: {shown}"

    missing = {f.path: f.status for f in after if f.path in release_paths and f.status != 200}
    assert not missing, f"Addresses of the release that did not answer after the second: {missing}"
    without = sorted(
        {
            f.path
            for f in after
            if f.path in release_paths and not f.path.endswith(NO_FIGURES) and not leaks(f.text)
        }
    )
    assert not without, f"Addresses of the release without its figures after the second: {without}"
    site = [p for p in paths if p not in release_paths and p not in NEVER_FIGURES]
    stale = sorted({f.path for f in after if f.path in site and not shows_the_release(f.text)})
    assert not stale, f"Site addresses that did not show the release after the second: {stale}"
    assert not [f.path for f in fetches if f.path in NEVER_FIGURES and leaks(f.text)]
    assert moment_ran.startswith("Published"), moment_ran

    # Each address was asked for in the last two seconds before the second, and after it.
    late = {f.path for f in before if f.ended >= t - 2}
    assert set(paths) <= late, f"Not asked for just before the second: {set(paths) - late}"
    assert set(paths) <= {f.path for f in after}
    last = max(f.ended for f in before)
    first = min(f.began for f in after)
    hits = sum(1 for f in fetches if f.cache == "hit")
    print(
        f"{len(fetches)} fetches of {len(paths)} addresses ({hits} from the page cache); the last before "
        f"the second ended {(t - last) * 1000:.0f} ms before it, the first after began "
        f"{(first - t) * 1000:.0f} ms after; the moment: {moment_ran}"
    )
