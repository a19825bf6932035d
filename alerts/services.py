"""Asking for alerts: the page records the request; the task worker answers it by email.

The two halves are apart so that the page does the same work whatever the address (one row written,
one task queued), and neither what it says nor how long it takes tells whether an address is
subscribed. Everything that depends on the address (finding or making the subscriber, its topics,
which email it gets, whether it had one lately) happens in the worker.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.emails import CONFIRM_PREFIX, ConfirmationEmail
from alerts.models import Delivery, Subscriber, SubscriptionRequest
from alerts.sending import SendSummary, send_confirmation
from stats.models import Programme
from stats.wording import ukclock

logger = logging.getLogger(__name__)

# The subscribe page sends an address at most one email in this time (a confirmation link, or an
# "already subscribed" note), however often it is asked, and whoever asks.
ONE_EMAIL_PER = timedelta(days=1)
# A request whose task has not answered it this long after it was asked (a queue that lost it) is
# answered by the catch-up.
WAITING = timedelta(seconds=60)


def set_topics(subscriber: Subscriber, *, every_release: bool, corrections: bool, programmes) -> None:
    subscriber.every_release = every_release
    subscriber.corrections = corrections
    subscriber.save(update_fields=["every_release", "corrections"])
    subscriber.programmes.set(programmes)


# --- the page's half ----------------------------------------------------------------------------------


def ask(*, email: str, every_release: bool, corrections: bool, programmes) -> int:
    """Record a request for alerts, to be answered by the worker: its id (for the task to queue)."""
    asked = SubscriptionRequest.objects.create(
        email=email.strip(),
        every_release=every_release,
        corrections=corrections,
        programme_ids=sorted(programme.pk for programme in programmes),
    )
    return asked.pk


def withdraw(request_id: int) -> None:
    """Forget a request the queue would not take: the reader is told nothing will be sent."""
    SubscriptionRequest.objects.filter(pk=request_id).delete()


# --- the worker's half --------------------------------------------------------------------------------


def _subscriber_for(email: str) -> Subscriber:
    subscriber = Subscriber.objects.select_for_update().with_address(email).first()
    if subscriber is not None:
        return subscriber
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email)
    except IntegrityError:  # the same address, asked for at the same moment
        return Subscriber.objects.select_for_update().with_address(email).get()


def emailed_lately(subscriber: Subscriber, at: datetime) -> Delivery | None:
    """The email the subscribe page sent this address (or is sending it) in the day before `at`."""
    lately = Delivery.objects.filter(
        subscriber=subscriber, event__startswith=f"{CONFIRM_PREFIX}:", created_at__gt=at - ONE_EMAIL_PER
    )
    return lately.exclude(status=Delivery.Status.FAILED).order_by("-created_at").first()


@transaction.atomic
def _record_answer(request_id: int) -> int | None:
    """The subscriber, their topics and their email's delivery row: the subscriber's pk if it is to go.

    A new or unconfirmed address (or one that unsubscribed) gets the topics asked for and a
    confirmation link; nothing is sent to it until that is confirmed. An address already subscribed
    keeps its topics and is emailed its manage link instead. An address this page emailed in the last
    day is sent nothing and changed in nothing: the request is logged as a delivery not sent, saying
    why, for staff to see.
    """
    asked = SubscriptionRequest.objects.select_for_update().filter(pk=request_id).first()
    if asked is None:  # answered already (by another worker, or the catch-up), or withdrawn
        return None
    asked.delete()
    subscriber = _subscriber_for(asked.email)
    earlier = emailed_lately(subscriber, asked.asked_at)
    if earlier is not None:
        when = ukclock.uk_label(earlier.created_at, weekday=False)
        Delivery.objects.get_or_create(
            subscriber=subscriber,
            event=ConfirmationEmail.event_at(asked.asked_at),
            defaults={
                "status": Delivery.Status.FAILED,
                "error": f"Not sent: asked for again within a day of the email sent on {when}. "
                "The subscribe page sends an address at most one email a day.",
            },
        )
        return None
    if not subscriber.is_active:
        programmes = Programme.objects.active().filter(pk__in=asked.programme_ids)
        set_topics(
            subscriber,
            every_release=asked.every_release,
            corrections=asked.corrections,
            programmes=programmes,
        )
    subscriber.confirm_requested_at = asked.asked_at
    subscriber.save(update_fields=["confirm_requested_at"])
    Delivery.objects.get_or_create(subscriber=subscriber, event=ConfirmationEmail.event_for(subscriber))
    return subscriber.pk


def answer(request_id: int) -> SendSummary:
    """Answer one request for alerts by email (once, however often it is called): what was sent.

    A mail server that cannot be reached leaves the email pending for the catch-up; one that refuses
    the address marks it failed, with its answer: staff see both in the delivery log.
    """
    subscriber_id = _record_answer(request_id)
    if subscriber_id is None:
        return SendSummary(f"request:{request_id}", not_sent_reason="Answered already, or nothing to send.")
    return send_confirmation(subscriber_id)


def answer_waiting() -> int:
    """Requests a lost task never answered (asked for over a minute ago): answer them; how many."""
    waiting = SubscriptionRequest.objects.filter(asked_at__lt=timezone.now() - WAITING)
    ids = list(waiting.values_list("pk", flat=True))
    for request_id in ids:
        answer(request_id)
    if ids:
        logger.warning("%s request(s) for alerts were waiting for the worker: answered now.", len(ids))
    return len(ids)
