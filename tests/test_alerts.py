"""Email alerts end to end against a real SMTP server (aiosmtpd): sending each alert exactly once.

Subscribing, confirming and unsubscribing are in test_alert_subscribing.py.

No mocks: the pages are fetched with the test client, emails go through Django's SMTP backend to a
real server on a localhost port, and the links in them are followed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts import sending
from alerts.models import Delivery
from stats.models import Correction, Figure, Release
from stats.publishing import services as publishing
from stats.selectors import build_release_document

from .alerting import path_of, subscriber
from .smtp import free_port

Status = Delivery.Status


@pytest.fixture
def coming(seed_release):
    """An approved release due tomorrow: its date is announced, its figures are not out."""
    return Release.objects.create(
        period_date=dt.date(2010, 3, 17),
        status=Release.Status.SCHEDULED,
        publish_at=timezone.now() + dt.timedelta(days=1),
    )


# --- who gets alerts -----------------------------------------------------------------------------


def test_unconfirmed_and_unsubscribed_addresses_get_nothing(smtp, next_week):
    subscriber("waiting@example.org", confirmed=False, every_release=True)
    gone = subscriber("gone@example.org", every_release=True)
    gone.unsubscribe()
    subscriber("reader@example.org", every_release=True)
    summary = sending.send_release_alerts(next_week.pk)
    assert summary.sent == 1 and summary.finished
    assert [r.recipients for r in smtp.received] == [["reader@example.org"]]
    assert Delivery.objects.count() == 1


# --- the release alert ----------------------------------------------------------------------------


def test_release_alert_says_the_headline_figures_their_change_and_what_is_next(
    client, smtp, next_week, coming
):
    every = subscriber("every@example.org", every_release=True)
    chosen = subscriber("eps@example.org", programmes=["eps"])
    summary = sending.send_release_alerts(next_week.pk)
    assert (summary.sent, summary.failed, summary.pending) == (2, 0, 0)
    assert summary.event == f"release:{next_week.pk}"

    document = build_release_document(next_week)
    eps = next(s for s in document.sections if s.programme_slug == "eps").headline
    assert eps.change.startswith("+1,000,000")
    (email,) = smtp.to("every@example.org")
    message = email.message
    assert message["Subject"] == f"Published: {next_week.heading}"
    for part in (email.text, email.html):
        assert next_week.heading in part
        assert f"{eps.metric_name}" in part and eps.display in part
        assert f"Change since the previous release: {eps.change}" in part
        assert "http://testserver/statistics/2010-03-10/" in part
        assert "Next release: w/c 17 March 2010, due" in part
    # Every programme's headline for an every-release subscriber.
    for section in document.sections:
        if section.headline:
            assert section.headline.metric_name in email.text
    delivery = Delivery.objects.get(subscriber=every)
    assert message["Message-ID"] == f"<delivery-{delivery.pk}@testserver>"
    unsubscribe = email.link("/subscribe/unsubscribe/")
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"  # folded onto its own line: long
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert client.get(path_of(email.link("/subscribe/manage/"))).status_code == 200
    assert client.get(path_of(unsubscribe)).status_code == 200

    # Someone who chose EPS reads EPS's headline only.
    (only_eps,) = smtp.to("eps@example.org")
    assert "Headline figures for the programmes you chose" in only_eps.text
    assert eps.display in only_eps.text
    others = [s.headline.metric_name for s in document.sections if s.programme_slug != "eps" and s.headline]
    assert not any(name in only_eps.text for name in others)
    assert chosen.deliveries.get().status == Status.SENT


def test_next_release_not_announced_yet(smtp, next_week):
    subscriber(every_release=True)
    sending.send_release_alerts(next_week.pk)
    assert "Next release: not announced yet." in smtp.received[0].text


def test_nothing_is_sent_before_the_second(smtp, seed_release, coming):
    subscriber(every_release=True)
    Figure.objects.create(release=coming, metric=seed_release.figures.first().metric, value=123_456_789)
    summary = sending.send_release_alerts(coming.pk)
    assert summary.not_sent_reason and "not public" in summary.not_sent_reason
    assert not summary.finished and summary.sent == 0
    assert len(smtp) == 0 and Delivery.objects.count() == 0

    Release.objects.filter(pk=coming.pk).update(publish_at=timezone.now() - dt.timedelta(seconds=1))
    summary = sending.send_release_alerts(coming.pk)
    assert summary.sent == 1 and summary.finished
    assert "123,456,789" in smtp.received[0].text


def test_calling_it_twice_sends_once(smtp, next_week):
    subscriber("a@example.org", every_release=True)
    subscriber("b@example.org", every_release=True)
    first = sending.send_release_alerts(next_week.pk)
    second = sending.send_release_alerts(next_week.pk)
    assert (first.sent, second.sent, second.already_sent) == (2, 0, 2)
    assert second.finished
    assert len(smtp) == 2


# Two workers at once need two database connections that really compete. The test database is
# SQLite in memory with a shared cache, whose table locks fail at once instead of waiting, so these
# run where the workers would: in processes of their own, on a database file, as `db_worker`s do.
ROOT = Path(__file__).resolve().parent.parent
WORKER = """
import json, threading, time
from alerts.sending import send_release_alerts
from stats.models import Release

release = Release.objects.get(period_date="2010-03-03")
threads, start_at = {threads}, {start_at}
time.sleep(max(0, start_at - time.time()))
barrier, sent = threading.Barrier(threads), []

def work():
    try:
        barrier.wait()
        sent.append(send_release_alerts(release.pk).sent)
    finally:
        connection.close()

workers = [threading.Thread(target=work) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps(sent))
"""
SEED = """
from django.utils import timezone
from alerts.models import Subscriber
from stats.demo.seed import load_seed

load_seed()
for n in range({count}):
    Subscriber.objects.create(
        email=f"reader{{n}}@example.org", every_release=True, confirmed_at=timezone.now()
    )
"""
READERS = 12


def manage_py(code: str, database: Path, **env) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "LOG_LEVEL": "WARNING",
        "NEWSROOM_SITE_URL": "http://testserver",
        "REDIS_URL": "",
        **env,
    }
    command = [sys.executable, "manage.py", *(["shell", "-c", code] if code else ["migrate", "--noinput"])]
    return subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def finished(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    return out.decode()


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory):
    """A migrated SQLite file with the seed release and READERS confirmed every-release subscribers."""
    database = tmp_path_factory.mktemp("workers") / "seeded.sqlite3"
    finished(manage_py("", database))
    finished(manage_py(SEED.format(count=READERS), database))
    return database


@pytest.mark.parametrize(("processes", "threads"), [(1, 2), (2, 1)], ids=["two threads", "two processes"])
def test_two_workers_at_once_send_once_per_subscriber(smtp, seeded_file, tmp_path, processes, threads):
    database = tmp_path / "workers.sqlite3"
    shutil.copy(seeded_file, database)
    env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_USE_TLS": "0",
        "NEWSROOM_ALERTS_PER_SECOND": "100",
    }
    start_at = time.time() + 4  # after every process has started Django
    code = WORKER.format(threads=threads, start_at=start_at)
    running = [manage_py(code, database, **env) for _ in range(processes)]
    sent = [n for process in running for n in json.loads(finished(process).strip().splitlines()[-1])]
    assert len(sent) == 2 and sum(sent) == READERS
    recipients = sorted(address for received in smtp.received for address in received.recipients)
    assert recipients == sorted(f"reader{n}@example.org" for n in range(READERS))
    with sqlite3.connect(database) as db:
        statuses = dict(db.execute("SELECT status, COUNT(*) FROM alerts_delivery GROUP BY status").fetchall())
    assert statuses == {"sent": READERS}


def test_a_refused_address_fails_and_the_others_still_get_theirs(smtp, next_week):
    for address in ("first@example.org", "bounce@example.org", "last@example.org"):
        subscriber(address, every_release=True)
    smtp.refuse.add("bounce@example.org")
    summary = sending.send_release_alerts(next_week.pk)
    assert (summary.sent, summary.failed, summary.pending) == (2, 1, 0)
    assert {r.recipients[0] for r in smtp.received} == {"first@example.org", "last@example.org"}
    failed = Delivery.objects.get(status=Status.FAILED)
    assert failed.subscriber.email == "bounce@example.org"
    assert failed.error.startswith("550")
    # Not tried again: a failed address stays failed.
    assert sending.resume_pending().sent == 0
    assert len(smtp) == 2


def test_an_unreachable_mail_server_leaves_alerts_pending_for_the_catch_up(smtp, next_week, settings):
    subscriber(every_release=True)
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there
    summary = sending.send_release_alerts(next_week.pk)
    assert (summary.sent, summary.failed, summary.pending) == (0, 0, 1)
    assert Delivery.objects.get().status == Status.PENDING
    settings.EMAIL_PORT = port
    assert sending.resume_pending().sent == 1
    assert len(smtp) == 1


def test_sending_is_paced(smtp, next_week, settings):
    settings.NEWSROOM_ALERTS_PER_SECOND = 10
    for n in range(4):
        subscriber(f"paced{n}@example.org", every_release=True)
    started = time.monotonic()
    assert sending.send_release_alerts(next_week.pk).sent == 4
    assert time.monotonic() - started >= 0.3  # four messages at 10 a second: 0.1 s apart at least


# --- unsubscribing, corrections, date changes -------------------------------------------------------


def test_one_click_unsubscribe_needs_no_csrf_and_stops_every_alert(smtp, next_week, seed_release):
    person = subscriber(every_release=True)
    sending.send_release_alerts(seed_release.pk)
    (email,) = smtp.received
    target = email.message["List-Unsubscribe"].strip().strip("<>")
    mail_client = Client(enforce_csrf_checks=True)  # a mail provider's POST: no cookie, no token
    response = mail_client.post(
        path_of(target), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    person.refresh_from_db()
    assert person.unsubscribed_at is not None
    assert sending.send_release_alerts(next_week.pk).sent == 0
    assert len(smtp) == 1


def test_corrections_go_only_to_those_who_chose_them(smtp, seed_release, publisher, coming):
    subscriber("releases@example.org", every_release=True)
    subscriber("corrections@example.org", corrections=True)
    subscriber("pacs@example.org", programmes=["pacs"])
    subscriber("n3@example.org", programmes=["n3"])
    correction = publishing.correct_figure(
        figure=seed_release.figures.get(metric__slug="pacs-systems-live"),
        by=publisher,
        value=128,
        reason="One more system went live.",
    )
    waiting = sending.send_correction_alerts(correction.pk)  # other corrections may follow it
    assert waiting.sent == 0 and waiting.not_sent_reason.startswith("Waiting for the window to close")
    Correction.objects.filter(pk=correction.pk).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    summary = sending.send_correction_alerts(correction.pk)
    assert summary.sent == 2
    assert sorted(r.recipients[0] for r in smtp.received) == ["corrections@example.org", "pacs@example.org"]
    email = smtp.to("pacs@example.org")[0]
    assert "One more system went live." in email.text and "Was: " in email.text and "Now: 128" in email.text
    assert email.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sending.send_correction_alerts(correction.pk).sent == 0  # once

    smtp.clear()
    change = publishing.change_release_date(
        release=coming,
        by=publisher,
        publish_at=coming.publish_at + dt.timedelta(days=1),
        reason="The supplier's figures are late.",
    ).date_changes.get()
    assert sending.send_date_change_alerts(change.pk).sent == 1
    (moved,) = smtp.received
    assert moved.recipients == ["corrections@example.org"]
    assert "The supplier's figures are late." in moved.text and "Was: " in moved.text


def test_a_note_on_an_unpublished_release_is_not_sent_as_a_correction(smtp, hidden_releases):
    subscriber(corrections=True)
    _draft, embargoed = hidden_releases
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)  # its window has closed
    note = Correction.objects.create(
        release=embargoed, subject="Messages", reason="Supplier late.", created_at=an_hour_ago
    )
    summary = sending.send_correction_alerts(note.pk)
    assert "is not public" in summary.not_sent_reason and summary.sent == 0 and len(smtp) == 0
    assert sending.send_missed_correction_alerts() == [] and len(smtp) == 0


def test_resume_pending_resends_a_message_left_sending_with_the_same_message_id(smtp, next_week):
    person = subscriber(every_release=True)
    sending.send_release_alerts(next_week.pk)
    (first,) = smtp.received
    # The worker died after the mail server took the message, before it was marked sent.
    Delivery.objects.filter(subscriber=person).update(
        status=Status.SENDING, claimed_at=timezone.now() - dt.timedelta(minutes=10), sent_at=None
    )
    assert sending.send_release_alerts(next_week.pk).sent == 0  # another call leaves it to the catch-up
    summary = sending.resume_pending()
    assert (summary.sent, summary.pending) == (1, 0)
    second = smtp.received[1]
    assert second.message["Message-ID"] == first.message["Message-ID"]
    assert second.text == first.text
    delivery = Delivery.objects.get(subscriber=person)
    assert delivery.status == Status.SENT and delivery.attempts == 2
    # One being sent right now (claimed a moment ago) is left alone.
    Delivery.objects.filter(pk=delivery.pk).update(status=Status.SENDING, claimed_at=timezone.now())
    assert sending.resume_pending().sent == 0


def test_resume_pending_never_sends_to_someone_who_unsubscribed_meanwhile(smtp, next_week):
    person = subscriber(every_release=True)
    Delivery.objects.create(subscriber=person, event=f"release:{next_week.pk}")
    person.unsubscribe()
    summary = sending.resume_pending()
    assert (summary.sent, summary.failed) == (0, 1)
    assert len(smtp) == 0
    assert "unsubscribed" in Delivery.objects.get().error


def test_test_alert_goes_to_the_publisher_only_before_the_release_is_out(smtp, seed_release, coming):
    subscriber(every_release=True)
    Figure.objects.create(release=coming, metric=seed_release.figures.first().metric, value=123_456_789)
    summary = sending.send_test_alert(coming.pk, "publisher@example.org")
    assert summary.sent == 1
    (email,) = smtp.received
    assert email.recipients == ["publisher@example.org"]
    assert email.message["Subject"].startswith("TEST: Published: ")
    assert "123,456,789" in email.text and "TEST ALERT" in email.text
    assert Delivery.objects.count() == 0


# --- staff ----------------------------------------------------------------------------------------


def test_press_officers_and_publishers_see_subscribers_and_deliveries(press_officer, publisher):
    for person in (press_officer, publisher):
        assert person.has_perm("alerts.view_subscriber") and person.has_perm("alerts.view_delivery")
        assert not person.has_perm("alerts.change_subscriber")
    for name in ("Press officers", "Publishers"):
        codenames = set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
        assert {"view_subscriber", "view_delivery"} <= codenames


def test_admin_counts_subscribers_by_topic_and_logs_an_event(admin_client, smtp, next_week):
    subscriber("a@example.org", every_release=True, corrections=True)
    subscriber("b@example.org", programmes=["eps", "n3"])
    subscriber("c@example.org", confirmed=False, every_release=True)
    smtp.refuse.add("b@example.org")
    sending.send_release_alerts(next_week.pk)

    page = admin_client.get(reverse("admin:alerts_subscriber_changelist")).content.decode()
    assert "Confirmed subscribers by topic" in page
    assert '<th scope="row">Every release</th><td>1</td>' in page
    assert '<th scope="row">Chose Electronic Prescription Service (EPS)</th><td>1</td>' in page

    log = admin_client.get(reverse("admin:alerts_delivery_changelist") + f"?event=release:{next_week.pk}")
    html = log.content.decode()
    assert log.status_code == 200
    assert "Delivery log: Release for w/c 10 March 2010" in html
    assert '<th scope="row">Sent</th><td>1</td>' in html and '<th scope="row">Failed</th><td>1</td>' in html
    delivery = Delivery.objects.first()
    assert admin_client.get(reverse("admin:alerts_delivery_change", args=[delivery.pk])).status_code == 200


# --- the publishing workflow's events -------------------------------------------------------------


def test_workflow_events_queue_the_alerts(
    smtp, immediate_tasks, next_week, publisher, django_capture_on_commit_callbacks
):
    from stats.publishing import signals

    subscriber("every@example.org", every_release=True)
    subscriber("corrections@example.org", corrections=True)
    with django_capture_on_commit_callbacks(execute=True):
        signals.release_published.send(sender=Release, release_id=next_week.pk)
    assert [r.recipients for r in smtp.received] == [["every@example.org"]]

    smtp.clear()
    with django_capture_on_commit_callbacks(execute=True):
        correction = publishing.correct_figure(
            figure=next_week.figures.get(metric__slug="pacs-systems-live"),
            by=publisher,
            value=128,
            reason="One more system went live.",
        )
    assert len(smtp) == 0  # the alert waits for its window to close; this backend cannot wait: the catch-up
    Correction.objects.filter(pk=correction.pk).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        signals.catching_up.send(sender=Release)
    assert [r.recipients for r in smtp.received] == [["corrections@example.org"]]
    assert smtp.received[0].message["Subject"].startswith("Correction:")


def test_the_catch_up_announces_a_release_whose_worker_stopped(
    smtp, immediate_tasks, next_week, django_capture_on_commit_callbacks
):
    from stats.publishing import signals

    subscriber(every_release=True)
    # Out an hour ago, and never announced (the worker died after marking it published).
    with django_capture_on_commit_callbacks(execute=True):
        signals.catching_up.send(sender=Release)
    assert len(smtp) == 1
    assert Delivery.objects.get().event == f"release:{next_week.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        signals.catching_up.send(sender=Release)
    assert len(smtp) == 1  # once
    assert sending.send_missed_release_alerts() == []
