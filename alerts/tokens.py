"""Signed links in alert emails: confirm (expires), manage and unsubscribe (do not), each with its own salt.

A token names the subscriber and a fingerprint of the address, so a link only ever works for the
address it was sent to. A confirmation link also carries when it was asked for: one asked for
before the subscriber last unsubscribed cannot subscribe them again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import salted_hmac

from alerts.models import Subscriber

CONFIRM, MANAGE, UNSUBSCRIBE = "confirm", "manage", "unsubscribe"
PURPOSES = (CONFIRM, MANAGE, UNSUBSCRIBE)


class Invalid(Exception):
    """The link is not one we sent, or not for this subscriber any more."""


class Expired(Invalid):
    """A confirmation link older than NEWSROOM_CONFIRM_DAYS."""


def microseconds(moment: datetime) -> int:
    """A moment as a whole number, exact enough that two requests never share one."""
    return round(moment.timestamp() * 1_000_000)


def _signer(purpose: str) -> signing.Signer:
    """A confirmation link carries when it was signed (it expires); the others, which never expire,
    do not, so an alert sent again (after a worker died mid-send) is the same message."""
    if purpose == CONFIRM:
        return signing.TimestampSigner(salt=f"alerts.{purpose}")
    return signing.Signer(salt=f"alerts.{purpose}")


def _fingerprint(subscriber: Subscriber) -> str:
    return salted_hmac("alerts.fingerprint", subscriber.email.strip().lower()).hexdigest()[:16]


def make(subscriber: Subscriber, purpose: str) -> str:
    value = f"{subscriber.pk}.{_fingerprint(subscriber)}"
    if purpose == CONFIRM:
        asked = subscriber.confirm_requested_at or datetime.now(UTC)
        value += f".{microseconds(asked)}"
    return _signer(purpose).sign(value)


def read(token: str, purpose: str) -> Subscriber:
    """The subscriber a token was made for; raises Expired or Invalid."""
    max_age = settings.NEWSROOM_CONFIRM_DAYS * 24 * 60 * 60 if purpose == CONFIRM else None
    try:
        if purpose == CONFIRM:
            value = _signer(purpose).unsign(token, max_age=max_age)
        else:  # links sent before these stopped carrying a time end ":<when signed>"
            value = _signer(purpose).unsign(token).partition(":")[0]
    except signing.SignatureExpired as error:
        raise Expired(str(error)) from error
    except signing.BadSignature as error:
        raise Invalid(str(error)) from error
    pk, _, rest = value.partition(".")
    fingerprint, _, asked = rest.partition(".")
    subscriber = Subscriber.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
    if subscriber is None or fingerprint != _fingerprint(subscriber):
        raise Invalid("No subscriber has this address any more.")
    left, asked_at = subscriber.unsubscribed_at, int(asked) if asked.isdigit() else 0
    if purpose == CONFIRM and left is not None and asked_at < microseconds(left):
        raise Expired("Asked for before the subscriber unsubscribed.")
    return subscriber


def url(subscriber: Subscriber, purpose: str) -> str:
    """The absolute address of a subscriber's link, for emails (NEWSROOM_SITE_URL)."""
    return settings.NEWSROOM_SITE_URL + reverse(f"alerts:{purpose}", args=[make(subscriber, purpose)])
