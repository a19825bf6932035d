"""Asking for alerts: the one write that takes several steps (subscriber, topics, confirmation email)."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.emails import ConfirmationEmail
from alerts.models import Delivery, Subscriber
from alerts.sending import send_confirmation

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
    asked, left = subscriber.confirm_requested_at, subscriber.unsubscribed_at
    if asked is None or (left is not None and asked < left):
        return False
    return now - asked < timedelta(seconds=CONFIRM_RESEND_SECONDS)


@transaction.atomic
def subscribe(*, email: str, every_release: bool, corrections: bool, programmes) -> bool:
    """Ask for alerts for `email`; True if an email goes out (once this transaction commits).

    A new or unconfirmed address (or one that unsubscribed) gets these topics and a confirmation
    link; nothing is sent to it until the link is opened. An address already subscribed keeps its
    topics and is emailed its manage link instead, so the page never says whether it was subscribed.
    """
    email = email.strip()
    subscriber = _subscriber_for(email)
    if not subscriber.is_active:
        set_topics(subscriber, every_release=every_release, corrections=corrections, programmes=programmes)
    now = timezone.now()
    if _asked_just_now(subscriber, now):
        return False
    subscriber.confirm_requested_at = now
    subscriber.save(update_fields=["confirm_requested_at"])
    Delivery.objects.get_or_create(subscriber=subscriber, event=ConfirmationEmail.event_for(subscriber))
    pk = subscriber.pk
    transaction.on_commit(lambda: send_confirmation(pk), robust=True)
    return True
