"""The release moment, run by the real task worker (django-tasks' database backend, db_worker).

Approving a release schedules its moment; on the second the worker marks it published, warms the
public cache and sends the published event. Visibility never waits for the worker.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from stats.models import Release
from stats.publishing import services, signals
from stats.publishing.tasks import CATCH_UP_KEY, catch_up

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    """What the worker does with the tasks due now (the release's moment among them), then stop."""
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)


@pytest.fixture
def published_events():
    heard = []

    def listen(sender, release_id, **kwargs):
        heard.append(release_id)

    signals.release_published.connect(listen)
    yield heard
    signals.release_published.disconnect(listen)


def approved_in(seconds: float, press_officer, publisher) -> Release:
    """This week's release, approved to come out `seconds` from now (on a whole second)."""
    from stats.demo.seed import load_seed

    draft = services.start_next_release(source=load_seed(), by=press_officer)
    draft.figures.update(is_confirmed=True)
    services.submit_release(release=draft, by=press_officer, acknowledge_warnings=True)
    when = timezone.now().replace(microsecond=0) + dt.timedelta(seconds=seconds)
    return services.approve_release(release=draft, by=publisher, publish_at=when, acknowledge_warnings=True)


def wait_for(moment: dt.datetime) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()) + 0.05)


def test_the_worker_publishes_warms_and_announces_on_the_second(
    press_officer, publisher, settings, published_events
):
    settings.PUBLIC_CACHE_SECONDS = 300
    release = approved_in(2, press_officer, publisher)
    reader = Client()

    run_worker()  # before the second: nothing is due
    release.refresh_from_db()
    assert release.status == Release.Status.SCHEDULED and published_events == []
    assert reader.get("/statistics/2010-03-10/").status_code == 404

    wait_for(release.publish_at)
    run_worker()
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED
    assert release.publish_at <= release.published_at < release.publish_at + dt.timedelta(seconds=5)
    assert published_events == [release.pk]
    # The first reader after the second is served from the cache the worker warmed.
    # (Its PDF is kept as a file, built at approval: PDFs are not kept as pages.)
    for path in ("/statistics/2010-03-10/", "/statistics/2010-03-10.csv", "/", "/feed/", "/statistics/"):
        response = reader.get(path)
        assert response.status_code == 200, path
        assert response["X-Cache"] == "hit", path
    assert "w/c 10 March 2010" in reader.get("/statistics/").content.decode()


def test_visibility_never_waits_for_the_worker(press_officer, publisher):
    release = approved_in(1, press_officer, publisher)
    wait_for(release.publish_at)
    assert Client().get("/statistics/2010-03-10/").status_code == 200  # no worker has run
    release.refresh_from_db()
    assert release.status == Release.Status.SCHEDULED  # not yet marked: that is the worker's


def test_a_worker_that_was_stopped_catches_up_and_staff_hear_it_was_late(
    press_officer, publisher, settings, published_events
):
    settings.NEWSROOM_LATE_SECONDS = 1
    publisher.email = "sam@example.org"
    publisher.save()
    release = approved_in(1, press_officer, publisher)
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()  # the worker was down: its scheduled moment is lost
    wait_for(release.publish_at + dt.timedelta(seconds=1.5))
    catch_up.enqueue()
    run_worker()
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED and published_events == [release.pk]
    late = [m for m in mail.outbox if m.subject.startswith("Late:")]
    assert late and late[0].to == ["sam@example.org"] and "was marked published" in late[0].body
    # It comes back by itself, once, however many workers start.
    from django.core.cache import cache

    assert cache.get(CATCH_UP_KEY)
    assert DBTaskResult.objects.filter(task_path__endswith="catch_up", status="READY").count() == 1


def test_publishing_now_warms_and_announces_at_once(press_officer, publisher, settings, published_events):
    settings.PUBLIC_CACHE_SECONDS = 300
    release = approved_in(3600, press_officer, publisher)
    services.publish_now(release=release, by=publisher, reason="Data already out.", acknowledge_warnings=True)
    run_worker()
    assert published_events == [release.pk]
    assert Client().get("/statistics/2010-03-10/")["X-Cache"] == "hit"
