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
from stats.wording import ukclock

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


def test_a_release_marked_late_says_when_it_went_out_and_why_with_no_one_typing_it(
    press_officer, publisher, settings, client
):
    """The worker was down at the second: the catch-up marks it. The API and the admin give the
    real second it was marked; the page says its alerts went out late; the history says why."""
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
    late = int((release.published_at - release.publish_at).total_seconds())
    assert late >= 1
    why = "marked by the catch-up, as its release moment had not run"
    assert release.history.first().history_change_reason == f"Published at its time, {late} s late: {why}"
    (email,) = [m for m in mail.outbox if m.subject.startswith("Late:")]
    assert why in email.body and ukclock.uk_label(release.published_at, seconds=True) in email.body

    api = client.get("/api/v1/releases/2010-03-10/").json()
    assert dt.datetime.fromisoformat(api["published_at"]) == release.published_at
    assert dt.datetime.fromisoformat(api["published"]) == release.publish_at

    page = client.get("/statistics/2010-03-10/").content.decode()
    due = ukclock.uk_label(release.publish_at, weekday=False)
    went_out = ukclock.late_label(release.publish_at, release.published_at)
    assert f"{due}</time> (its email alerts went out from {went_out})" in page

    client.force_login(publisher)
    admin = client.get(f"/admin/statistics/release/{release.pk}/change/").content.decode()
    marked = ukclock.uk_label(release.published_at, seconds=True)
    assert (
        f"Marked published at {marked}, {late} second{'s' if late != 1 else ''} after its time ({why})."
        in admin
    )


def test_the_late_note_reads_as_a_person_would_say_it(seed_release, client, settings):
    """w/c 10 March 2010, due 09:30 GMT, marked at 09:31:12 by the catch-up."""
    nine_thirty = dt.datetime(2010, 3, 10, 9, 30, tzinfo=ukclock.UK)
    coming = Release.objects.create(
        period_date=dt.date(2010, 3, 10),
        status=Release.Status.PUBLISHED,
        publish_at=nine_thirty,
        published_at=nine_thirty + dt.timedelta(seconds=72),
    )
    text = " ".join(client.get(coming.get_absolute_url()).content.decode().split())
    assert (
        "10 March 2010, 09:30 GMT</time> (its email alerts went out from 09:31:12 GMT: 72 seconds late)"
        in text
    )
    # Within NEWSROOM_LATE_SECONDS (60) of its time it says nothing more.
    Release.objects.filter(pk=coming.pk).update(published_at=nine_thirty + dt.timedelta(seconds=59))
    assert "went out from" not in client.get(coming.get_absolute_url()).content.decode()
    assert ukclock.late_label(nine_thirty, nine_thirty + dt.timedelta(hours=25, minutes=1)) == (
        "11 March 2010, 10:31:00 GMT: 25 hours 1 minute late"
    )


def test_a_release_cancelled_while_scheduled_does_nothing_at_its_second_and_says_so(
    press_officer, publisher, settings, published_events, client, caplog
):
    release = approved_in(2, press_officer, publisher)
    services.cancel_release(release=release, by=publisher, reason="The supplier's data did not arrive.")
    wait_for(release.publish_at)
    with caplog.at_level("INFO"):
        run_worker()  # its queued moment runs at its second
        catch_up.call()
    from django_tasks_db.models import DBTaskResult

    (moment,) = DBTaskResult.objects.filter(task_path__endswith=".release_moment")
    assert moment.status == "SUCCESSFUL"
    assert moment.return_value == (
        f"Nothing done: “{release}” is a cancelled release now, so it is not published, warmed or announced."
    )
    release.refresh_from_db()
    assert release.status == Release.Status.CANCELLED
    assert release.published_at is None and release.went_out_at is None
    assert published_events == []  # no release alert is queued
    assert not DBTaskResult.objects.filter(task_path__endswith=".send_release_alerts").exists()
    assert not [r for r in caplog.records if "; warmed " in r.getMessage()]  # nothing warmed
    assert client.get("/statistics/2010-03-10/").status_code == 404
    # The calendar keeps it, cancelled, with the reason.
    calendar = client.get("/statistics/calendar.ics").content.decode()
    assert "STATUS:CANCELLED" in calendar and "The supplier's data did not arrive." in calendar.replace(
        "\r\n ", ""
    )


def test_the_catch_up_chain_goes_on_while_the_cache_cannot_be_reached(db):
    """A cache that does not answer (here, nothing listens on its port) must not break the chain."""
    from django.core.cache import cache
    from django.test import override_settings
    from django_tasks_db.models import DBTaskResult

    from common.cache import breaker
    from stats.publishing.tasks import schedule_catch_up

    unreachable = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.1, "SOCKET_TIMEOUT": 0.1},
        }
    }
    with override_settings(CACHES=unreachable):
        with pytest.raises(Exception):  # noqa: B017, PT011  (the cache really is out of reach)
            cache.get("anything")
        assert schedule_catch_up() is True
    breaker.reset()
    assert DBTaskResult.objects.filter(task_path__endswith="catch_up").count() == 1
