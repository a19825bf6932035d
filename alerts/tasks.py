"""The alert sends as background tasks (django-tasks): ids in, a JSON summary out.

Each may run more than once (a retry, two workers): the sending functions never send twice.
"""

from __future__ import annotations

from dataclasses import asdict

from django_tasks import task

from alerts import limits, sending, services


@task()
def send_release_alerts(release_id: int) -> dict:
    return asdict(sending.send_release_alerts(release_id))


@task()
def send_correction_alerts(correction_id: int) -> dict:
    """The alert of the window of corrections this one falls in (queued to run as it closes)."""
    return asdict(sending.send_correction_alerts(correction_id))


@task()
def send_date_change_alerts(change_id: int) -> dict:
    return asdict(sending.send_date_change_alerts(change_id))


@task()
def answer_request(request_id: int) -> dict:
    """A request for alerts from /subscribe/: its confirmation link (or "already subscribed" note)."""
    return asdict(services.answer(request_id))


@task()
def catch_up_alerts() -> dict:
    """What a stopped worker left: requests for alerts not answered, deliveries pending or stuck
    sending, releases never announced, windows of corrections never sent; and the counts of
    /subscribe/ of hours gone by."""
    limits.forget_old()
    answered = services.answer_waiting()
    missed = sending.send_missed_release_alerts()
    corrections = sending.send_missed_correction_alerts()
    resumed = sending.resume_pending()
    return {
        "answered_requests": answered,
        "resumed": asdict(resumed),
        "missed_releases": [summary.event for summary in missed],
        "missed_corrections": [summary.event for summary in corrections],
    }
