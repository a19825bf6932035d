"""How often /subscribe/ may be used: from one client, for one email address, and in all, each an hour.

Each request for alerts may email a confirmation link to any address, so the page limits how often
it can be used, per clock hour: from one client address (`NEWSROOM_SUBSCRIBE_PER_CLIENT`, the
address as `settings.NEWSROOM_CLIENT_IP` works it out, an IPv6 client by its /64), for one email
address (`NEWSROOM_SUBSCRIBE_PER_ADDRESS`) and in all (`NEWSROOM_SUBSCRIBE_PER_HOUR`).

The counts are kept in the database, not the cache. The database is the one store every app server
always shares: the cache is Redis only when `REDIS_URL` is set (otherwise a file on each machine),
each process skips Redis for a while whenever it fails, and clearing it flushes everything in it,
any of which would lift the limits for as long, perhaps just while someone hammers the page. In the
database a count is exact, however many servers answer at once: one INSERT that ignores a row
already there, then one UPDATE that adds one only while the count is under the limit.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.module_loading import import_string

from alerts.models import RequestCount

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Refusal:
    """A limit reached: which, and when the next hour starts."""

    limit: int
    per: str  # "client", "address" or "all"
    retry_at: datetime

    def retry_after(self) -> int:
        """Whole seconds until the limit lifts (Retry-After)."""
        return max(1, math.ceil((self.retry_at - timezone.now()).total_seconds()))


def client_key(request) -> str:
    """The client the request comes from: its address, or for IPv6 its /64 (one line's whole range)."""
    address = import_string(settings.NEWSROOM_CLIENT_IP)(request) or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"client:{address[:80]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
            return f"client:{ip.ipv4_mapped}"
        return f"client:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"client:{ip}"


def address_key(email: str) -> str:
    """The email address asked for, as a digest: the counts never hold an address."""
    return "address:" + salted_hmac("alerts.limits", email.strip().lower()).hexdigest()[:32]


def _counted(key: str, hour: datetime, limit: int) -> bool:
    """Count one more request for `key` this hour if it is under `limit`; whether it was."""
    RequestCount.objects.bulk_create([RequestCount(key=key, hour=hour)], ignore_conflicts=True)
    under = RequestCount.objects.filter(key=key, hour=hour, count__lt=limit)
    return under.update(count=F("count") + 1) == 1


def take(request, email: str) -> Refusal | None:
    """Count this request for alerts against each limit, or the first limit it would pass.

    A limit of 0 is no limit. A request refused by a later limit still counts against the earlier
    ones: a client that keeps asking stays refused.
    """
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    limits = (
        ("client", client_key(request), settings.NEWSROOM_SUBSCRIBE_PER_CLIENT),
        ("address", address_key(email), settings.NEWSROOM_SUBSCRIBE_PER_ADDRESS),
        ("all", "all", settings.NEWSROOM_SUBSCRIBE_PER_HOUR),
    )
    for per, key, limit in limits:
        if limit > 0 and not _counted(key, hour, limit):
            return Refusal(limit=limit, per=per, retry_at=hour + HOUR)
    return None


def forget_old() -> int:
    """Drop the counts of hours gone by (the catch-up does, every minute): how many."""
    deleted, _ = RequestCount.objects.filter(hour__lt=timezone.now() - HOUR).delete()
    return deleted
