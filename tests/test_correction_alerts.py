"""Corrections made close together reach each subscriber as one email, once their window has closed.

Run by the real task worker (django-tasks' database backend, `db_worker --batch`), with a real SMTP
server (aiosmtpd). The window is shortened to a second or two so the test can wait for it to close.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from alerts import sending, tasks
from alerts.models import Delivery
from stats.models import Correction, Release
from stats.publishing import services as publishing

from .alerting import run_worker, subscriber

WINDOW = 2


@pytest.fixture(autouse=True)
def without_warming():
    """A correction also has the worker warm the release's pages, which takes seconds: not what these
    tests are about, and it would outlast their short window."""
    from stats.publishing import signals
    from stats.publishing.tasks import warm_after_correction

    uid = "stats.warm_after_correction"
    signals.correction_published.disconnect(dispatch_uid=uid)
    yield
    signals.correction_published.connect(warm_after_correction, dispatch_uid=uid)


def correct(release: Release, slug: str, value, by, reason: str) -> Correction:
    figure = release.figures.get(metric__slug=slug)
    return publishing.correct_figure(figure=figure, by=by, value=value, reason=reason)


def wait_for_the_window_to_close(first: Correction) -> None:
    """Until the window `first` opened has closed, and the few seconds' grace after it."""
    closes = first.created_at + dt.timedelta(seconds=WINDOW) + sending.correction_grace()
    time.sleep(max(0.0, (closes - timezone.now()).total_seconds()) + 0.1)


@pytest.mark.django_db(transaction=True)
def test_corrections_close_together_are_one_email_each_subscriber_reads_what_they_chose(
    smtp, seed_release, publisher, settings, admin_client
):
    """Five corrections in a minute used to send each subscriber five emails. Now the corrections of
    one release made within NEWSROOM_CORRECTION_WINDOW_SECONDS of the first are one email, sent once
    the window closes; someone who chose a programme reads only its corrections; a correction made
    after the window opens another."""
    settings.NEWSROOM_CORRECTION_WINDOW_SECONDS = WINDOW
    subscriber("corrections@example.org", corrections=True)
    subscriber("pacs@example.org", programmes=["pacs"])
    subscriber("n3@example.org", programmes=["n3"])
    subscriber("releases@example.org", every_release=True)
    release = seed_release

    made = [
        correct(release, "pacs-systems-live", 128, publisher, "One more system went live."),
        correct(release, "eps-messages-total", 306_774_300, publisher, "Late messages from one supplier."),
        correct(release, "pacs-systems-live", 129, publisher, "And another, reported late."),
        correct(release, "eps-practices-active", 6822, publisher, "One practice was left out."),
        correct(release, "gp2gp-transfers-week", 10_127, publisher, "A transfer counted twice."),
    ]
    run_worker()  # the alert waits for the window to close
    assert len(smtp) == 0

    wait_for_the_window_to_close(made[0])
    run_worker()
    assert sorted(r.recipients[0] for r in smtp.received) == ["corrections@example.org", "pacs@example.org"]
    (everything,) = smtp.to("corrections@example.org")
    assert everything.message["Subject"] == f"5 corrections: {release.announced_name}"
    for correction in made:
        assert correction.reason in everything.text and correction.reason in everything.html
    assert "Now: 129" in everything.text and "Now: 306,774,300" in everything.text
    (pacs,) = smtp.to("pacs@example.org")
    assert pacs.message["Subject"] == f"2 corrections: {release.announced_name}"
    assert "One more system went live." in pacs.text and "And another, reported late." in pacs.text
    assert "Late messages" not in pacs.text and "A transfer counted twice." not in pacs.text
    assert pacs.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Once: every task of the window, run again, and the catch-up, send nothing more.
    (event,) = set(Delivery.objects.values_list("event", flat=True))
    assert event.startswith(f"corrections:{release.pk}:")
    log = admin_client.get(f"/admin/alerts/delivery/?event={event}").content.decode()
    assert "Delivery log: Corrections to w/c 3 March 2010 from " in log
    run_worker()
    assert all(sending.send_correction_alerts(c.pk).sent == 0 for c in made)
    tasks.catch_up_alerts.call()
    assert len(smtp) == 2

    # A correction after the window opens a new one: its own email, after its own window.
    later = correct(release, "pacs-systems-live", 130, publisher, "A third, from the same trust.")
    run_worker()
    assert len(smtp) == 2
    wait_for_the_window_to_close(later)
    run_worker()
    assert len(smtp) == 4
    assert smtp.to("pacs@example.org")[1].message["Subject"] == f"Correction: {release.announced_name}"
    assert "A third, from the same trust." in smtp.to("corrections@example.org")[1].text


def test_when_the_queue_cannot_wait_the_catch_up_sends_the_window_once_it_closes(
    smtp, seed_release, publisher, settings, immediate_tasks, django_capture_on_commit_callbacks
):
    """A backend that cannot defer runs the alert task at once: it sends nothing while the window is
    open, and the catch-up sends the window, once, when it has closed."""
    settings.NEWSROOM_CORRECTION_WINDOW_SECONDS = WINDOW
    subscriber("corrections@example.org", corrections=True)
    with django_capture_on_commit_callbacks(execute=True):
        first = correct(seed_release, "pacs-systems-live", 128, publisher, "One more system went live.")
    with django_capture_on_commit_callbacks(execute=True):
        correct(seed_release, "n3-connections", 47_001, publisher, "One connection was missed.")
    tasks.catch_up_alerts.call()
    assert len(smtp) == 0
    wait_for_the_window_to_close(first)
    tasks.catch_up_alerts.call()
    tasks.catch_up_alerts.call()
    (email,) = smtp.received
    assert email.message["Subject"] == f"2 corrections: {seed_release.announced_name}"
    assert "One more system went live." in email.text and "One connection was missed." in email.text
