"""Asking for alerts: the one write that takes several steps (subscriber, topics, confirmation email)."""

from __future__ import annotations

import enum
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.emails import ConfirmationEmail
from alerts.models import Delivery, Subscriber
from alerts.sending import send_confirmation

logger = logging.getLogger(__name__)

# Asking again within this many seconds sends no second email (someone pressing the button twice,
# or a form filled in a loop with another person's address).
CONFIRM_RESEND_SECONDS = 60


def set_topics(subscriber: Subscriber, *, every_release: bool, corrections: bool, programmes) -> None:
    subscriber.every_release = every_release
    subscriber.corrections = corrections
    subscriber.save(update_fields=["every_release", "corrections"])
    subscriber.programmes.set(programmes)


def _subscriber_for(email: str) -> Subscriber:
    subscriber = Subscriber.objects.select_for_update().with_address(email).first()
    if subscriber is not None:
        return subscriber
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email)
    except IntegrityError:  # the same address, asked for at the same moment
        return Subscriber.objects.select_for_update().with_address(email).get()


def _asked_just_now(subscriber: Subscriber, now) -> bool:
    """Asked within the last minute, and that email went (or is going): a second press sends nothing.

    One the mail server could not take does not count: asking again tries again at once.
    """
    asked, left = subscriber.confirm_requested_at, subscriber.unsubscribed_at
    if asked is None or (left is not None and asked < left):
        return False
    if now - asked >= timedelta(seconds=CONFIRM_RESEND_SECONDS):
        return False
    last = Delivery.objects.filter(subscriber=subscriber, event=ConfirmationEmail.event_for(subscriber))
    return last.exclude(status=Delivery.Status.FAILED).exists()


class Confirmation(enum.Enum):
    """What became of the email a request for alerts sends, as the page tells the reader."""

    SENT = "sent"  # the mail server took it (or took the same request's email a moment ago)
    UNREACHABLE = "unreachable"  # the mail server could not be reached, or asked us to try later
    REFUSED = "refused"  # the mail server will not take a message for this address


@transaction.atomic
def _ask(*, email: str, every_release: bool, corrections: bool, programmes) -> int | None:
    """Record the request; the subscriber's pk if its email is to go now, None if it went just now."""
    email = email.strip()
    subscriber = _subscriber_for(email)
    if not subscriber.is_active:
        set_topics(subscriber, every_release=every_release, corrections=corrections, programmes=programmes)
    now = timezone.now()
    if _asked_just_now(subscriber, now):
        return None
    subscriber.confirm_requested_at = now
    subscriber.save(update_fields=["confirm_requested_at"])
    Delivery.objects.get_or_create(subscriber=subscriber, event=ConfirmationEmail.event_for(subscriber))
    return subscriber.pk


def subscribe(*, email: str, every_release: bool, corrections: bool, programmes) -> Confirmation:
    """Ask for alerts for `email`, and send its email at once: whether the mail server took it.

    A new or unconfirmed address (or one that unsubscribed) gets these topics and a confirmation
    link; nothing is sent to it until the link is opened. An address already subscribed keeps its
    topics and is emailed its manage link instead, so the page never says whether it was subscribed.

    An email the mail server did not take is marked failed, not left for the catch-up: the reader is
    told nothing was sent and to ask again, and asking again sends a fresh one.
    """
    pk = _ask(email=email, every_release=every_release, corrections=corrections, programmes=programmes)
    if pk is None:
        return Confirmation.SENT
    try:
        send_confirmation(pk)
    except Exception:  # the reader is told it did not go; what went wrong goes to the log
        logger.exception("The confirmation email for subscriber %s could not be sent.", pk)
    event = ConfirmationEmail.event_for(Subscriber.objects.get(pk=pk))
    delivery = Delivery.objects.get(subscriber_id=pk, event=event)
    if delivery.status in (Delivery.Status.SENT, Delivery.Status.SENDING):
        return Confirmation.SENT
    if delivery.status == Delivery.Status.FAILED:  # the server's answer ("550 …"), or why it was not sent
        return Confirmation.REFUSED if delivery.error.startswith("5") else Confirmation.UNREACHABLE
    Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.FAILED,
        error=f"Not sent, and the reader was told to try again: {delivery.error or 'no answer'}"[:2000],
    )
    logger.warning("Confirmation email for subscriber %s not sent: %s", pk, delivery.error or "no answer")
    return Confirmation.UNREACHABLE
