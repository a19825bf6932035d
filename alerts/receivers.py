"""Alerts listen to the publishing workflow's events (stats.publishing.signals) and queue the sends.

A queue that refuses a send is logged (robust hooks) rather than failing the change that committed:
the catch-up finds releases never announced and deliveries left pending.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from alerts import sending, tasks
from stats.publishing import signals
from stats.publishing.tasks import enqueue_at


@receiver(signals.release_published, dispatch_uid="alerts.release_published")
def release_published(sender, release_id: int, **kwargs):
    transaction.on_commit(lambda: tasks.send_release_alerts.enqueue(release_id), robust=True)


@receiver(signals.correction_published, dispatch_uid="alerts.correction_published")
def correction_published(sender, correction_id: int, **kwargs):
    """The alert of the correction's window, to run as that window closes (every correction of it
    queues one; the first to run sends the alert, the others find it sent)."""

    def queue():
        enqueue_at(tasks.send_correction_alerts, sending.correction_alert_due(correction_id), correction_id)

    transaction.on_commit(queue, robust=True)


@receiver(signals.release_date_changed, dispatch_uid="alerts.release_date_changed")
def release_date_changed(sender, change_id: int, **kwargs):
    transaction.on_commit(lambda: tasks.send_date_change_alerts.enqueue(change_id), robust=True)


@receiver(signals.catching_up, dispatch_uid="alerts.catching_up")
def catching_up(sender, **kwargs):
    transaction.on_commit(tasks.catch_up_alerts.enqueue, robust=True)
