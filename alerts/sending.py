"""Sending alerts exactly once: the functions the task queue calls.

Every function here may be called again at any time, and by several workers at once: none sends
any email twice. For each event a Delivery row per subscriber is written first (bulk, ignoring
those already there); a worker then claims a batch of rows with one conditional UPDATE (pending →
sending, stamped with the batch's own id: the rows that carry it are this worker's to send), sends
them one by one, and marks each sent as soon as the mail server accepts it: one commit a message
and one a batch. A worker killed between sending and marking leaves the row "sending":
`resume_pending` sends it again after NEWSROOM_ALERTS_STALE_SECONDS, with the same Message-ID, so
the receiving mail system sees the same message. A refused address is marked failed with the
error, and the rest of the batch goes on; a mail server that cannot be reached leaves the rows
pending for the catch-up.

Nothing is ever sent to an address that is not confirmed or has unsubscribed: that is checked for
each message as its batch is claimed, at most about half a second before it is sent, as is (for a
release) that the release is public.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from alerts import emails
from alerts.emails import (
    ConfirmationEmail,
    CorrectionsAlert,
    DateChangeAlert,
    NotSendable,
    ReleaseAlert,
    correction_window,
    corrections_event,
    window_of,
    window_starts,
)
from alerts.models import Delivery, Subscriber
from stats.models import Correction, Release

logger = logging.getLogger(__name__)

Status = Delivery.Status


# A row left "sending" this long belongs to a worker that died: send it again.
def stale_after() -> timedelta:
    """How long a delivery may stay "sending" (its worker killed mid-send) before it is sent again."""
    return timedelta(seconds=settings.NEWSROOM_ALERTS_STALE_SECONDS)


# A message the mail server keeps deferring (4xx) or dropping the connection over is given up after this.
MAX_ATTEMPTS = 5
LOADERS: dict[str, Callable] = {
    "release": ReleaseAlert.load,
    "correction": CorrectionsAlert.load_one,  # deliveries recorded before corrections were gathered
    "date-change": DateChangeAlert.load,
}


def correction_grace() -> timedelta:
    """After a window of corrections closes, how long its alert waits for a correction being saved as
    it closed (made in the window, committed just after): a few seconds, less for a short window."""
    return min(timedelta(seconds=5), correction_window() / 4)


@dataclass(frozen=True)
class SendSummary:
    """What one call did: sent and failed by this call; pending: still to go for the event afterwards."""

    event: str
    sent: int = 0
    failed: int = 0
    pending: int = 0
    already_sent: int = 0  # sent earlier, by an earlier call or another worker
    not_sent_reason: str = ""  # why nothing could be sent, e.g. the release is not public yet

    @property
    def finished(self) -> bool:
        """Nothing left to do for the event: the caller need not call again."""
        return not self.not_sent_reason and self.pending == 0


class Pacer:
    """At most NEWSROOM_ALERTS_PER_SECOND messages a second, across this process's threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        rate = settings.NEWSROOM_ALERTS_PER_SECOND
        if rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + 1 / rate
        if start > now:
            time.sleep(start - now)


pacer = Pacer()


class ConnectionLost(Exception):
    """The mail server cannot be reached or dropped us: whatever was claimed goes back to pending."""


class Refused(Exception):
    """The mail server refused this message (an address it does not know, content it will not take)."""

    def __init__(self, code: int, reason):
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        super().__init__(f"{code} {text}")
        self.code = code


class Mailer:
    """One SMTP connection for a whole batch, opened on entry and closed on exit."""

    def __enter__(self):
        self.connection = get_connection(fail_silently=False)
        try:
            self.connection.open()
        except OSError as error:  # refused, timed out, TLS or login failed (SMTPException is an OSError)
            raise ConnectionLost(f"Cannot reach the mail server: {error}") from error
        return self

    def __exit__(self, *exc_info):
        try:
            self.connection.close()
        except OSError:
            logger.debug("Closing the SMTP connection failed.", exc_info=True)

    def send(self, message) -> None:
        pacer.wait()
        message.connection = self.connection
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as error:
            code, reason = next(iter(error.recipients.values()))
            raise Refused(code, reason) from error
        except smtplib.SMTPDataError as error:
            raise Refused(error.smtp_code, error.smtp_error) from error
        except OSError as error:  # disconnected, timed out, sender refused: nothing to do with this address
            raise ConnectionLost(f"The mail server stopped answering: {error}") from error


# --- the ledger ---------------------------------------------------------------------------------------


def _record(event: str, recipients) -> None:
    """A pending Delivery for each recipient who has none for this event yet."""
    ids = list(recipients.values_list("pk", flat=True))
    Delivery.objects.bulk_create(
        [Delivery(subscriber_id=pk, event=event) for pk in ids], ignore_conflicts=True, batch_size=500
    )


# Deliveries are claimed together, as many as are sent in about half a second at the pace limit
# (at most MAX_BATCH): what is checked as a batch is claimed is never more than that moment old.
MAX_BATCH = 100


def _batch_size() -> int:
    rate = settings.NEWSROOM_ALERTS_PER_SECOND
    return MAX_BATCH if rate <= 0 else max(1, min(MAX_BATCH, int(rate / 2)))


def _claim(ids: list[int]) -> list[Delivery]:
    """Take a batch of pending deliveries to send, with their subscribers and what they chose; only
    the rows this worker's one conditional UPDATE changed (another worker may have some of them)."""
    claim = uuid.uuid4()
    Delivery.objects.filter(pk__in=ids, status=Status.PENDING).update(
        status=Status.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1, claim=claim
    )
    return list(
        Delivery.objects.filter(pk__in=ids, claim=claim, status=Status.SENDING)
        .select_related("subscriber")
        .prefetch_related("subscriber__programmes")
        .order_by("pk")
    )


def _unclaim(deliveries: list[Delivery]) -> None:
    """Claimed but never tried (the mail server went away first): pending again, the try not counted."""
    if deliveries:
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries], status=Status.SENDING).update(
            status=Status.PENDING, attempts=F("attempts") - 1
        )


def _finish(delivery: Delivery, status: str, error: str = "") -> str:
    fields = {"status": status, "error": error[:2000]}
    if status == Status.SENT:
        fields["sent_at"] = timezone.now()
    Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(**fields)
    if status == Status.FAILED:
        logger.warning(
            "Alert %s to subscriber %s failed: %s", delivery.event, delivery.subscriber_id, error or "-"
        )
    return status


def _again_later(delivery: Delivery, error: str) -> str:
    """Back to pending for the catch-up, unless it has been tried MAX_ATTEMPTS times."""
    if delivery.attempts >= MAX_ATTEMPTS:
        return _finish(delivery, Status.FAILED, f"Gave up after {delivery.attempts} attempts: {error}")
    Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(status=Status.PENDING, error=error)
    return Status.PENDING


# --- sending ------------------------------------------------------------------------------------------


def _send_one(delivery: Delivery, content, mailer: Mailer) -> str:
    """Send one claimed delivery if it is still wanted; its new status."""
    subscriber = delivery.subscriber
    if content.needs_active and not subscriber.is_active:
        return _finish(delivery, Status.FAILED, "Not sent: the address is unsubscribed or not confirmed.")
    refusal = content.refusal(subscriber)
    if refusal:
        return _finish(delivery, Status.FAILED, refusal)
    try:
        mailer.send(content.message(subscriber, delivery))
    except Refused as error:
        if 400 <= error.code < 500:  # deferred: try again at the next catch-up
            return _again_later(delivery, str(error))
        return _finish(delivery, Status.FAILED, str(error))
    except ConnectionLost as error:
        _again_later(delivery, str(error))
        raise
    except Exception as error:  # a message that cannot be built or sent must not stop the others
        logger.exception("Alert %s to subscriber %s could not be sent.", delivery.event, subscriber.pk)
        return _finish(delivery, Status.FAILED, f"{type(error).__name__}: {error}")
    return _finish(delivery, Status.SENT)


def _send_batch(batch: list[Delivery], content_for: Callable[[str], object], mailer: Mailer) -> Counter:
    """Send a claimed batch, each marked sent as the mail server accepts it (so a worker killed
    mid-batch leaves at most the one in flight to send again); those never tried go back to pending."""
    outcome: Counter = Counter()
    tried = 0
    try:
        for delivery in batch:
            tried += 1
            try:
                content = content_for(delivery.event)
            except NotSendable as error:
                outcome[_finish(delivery, Status.FAILED, f"Not sent: {error}")] += 1
                continue
            outcome[_send_one(delivery, content, mailer)] += 1
    finally:
        _unclaim(batch[tried:])
    return outcome


@contextmanager
def _marks_not_waited_for():
    """On PostgreSQL, this connection's commits not waited for on disk while a batch is sent.

    A message's wait for the disk would otherwise set the pace. What it risks: if the database
    server itself crashes, the marks of the last moment's messages are lost, and those messages,
    "sending" again, go again with their Message-IDs, as after a worker killed mid-send. Nothing
    is ever marked sent that was not.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _send_pending(deliveries, content_for: Callable[[str], object]) -> Counter:
    """Claim and send every pending delivery among `deliveries`, oldest first, a batch at a time;
    counts by outcome."""
    ids = list(deliveries.filter(status=Status.PENDING).order_by("pk").values_list("pk", flat=True))
    outcome: Counter = Counter()
    if not ids:
        return outcome
    try:
        with Mailer() as mailer, _marks_not_waited_for():
            size = _batch_size()
            for start in range(0, len(ids), size):
                outcome += _send_batch(_claim(ids[start : start + size]), content_for, mailer)
    except ConnectionLost as error:
        logger.error("Alerts paused, to be sent again by the catch-up: %s", error)
    return outcome


def _summary(event: str, deliveries, outcome: Counter, reason: str = "") -> SendSummary:
    counts = dict(deliveries.order_by().values_list("status").annotate(n=Count("pk")))
    return SendSummary(
        event=event,
        sent=outcome[Status.SENT],
        failed=outcome[Status.FAILED],
        pending=counts.get(Status.PENDING, 0) + counts.get(Status.SENDING, 0),
        already_sent=counts.get(Status.SENT, 0) - outcome[Status.SENT],
        not_sent_reason=reason,
    )


def _deliver(content) -> SendSummary:
    """Record the event's deliveries, then send those still pending."""
    _record(content.event, content.recipients())
    deliveries = Delivery.objects.filter(event=content.event)
    return _summary(content.event, deliveries, _send_pending(deliveries, lambda event: content))


def _not_sendable(event: str, error: NotSendable) -> SendSummary:
    logger.info("Alert %s not sent: %s", event, error)
    return _summary(event, Delivery.objects.filter(event=event), Counter(), str(error))


# --- the interface ------------------------------------------------------------------------------------


def send_release_alerts(release_id: int) -> SendSummary:
    """A public release's alert to every subscriber who wants it; nothing while it is not public."""
    try:
        content = ReleaseAlert.load(release_id)
    except NotSendable as error:
        return _not_sendable(f"release:{release_id}", error)
    return _deliver(content)


def send_corrections(release_id: int, start: datetime) -> SendSummary:
    """One window of corrections to a public release, once it has closed: one alert listing them, to
    corrections subscribers (every correction) and those who chose a programme (its corrections)."""
    event = corrections_event(release_id, start)
    closes = start + correction_window() + correction_grace()
    if timezone.now() < closes:
        return SendSummary(event, not_sent_reason=f"Waiting for the window to close at {closes.isoformat()}.")
    try:
        content = CorrectionsAlert.load(release_id, start)
    except NotSendable as error:
        return _not_sendable(event, error)
    return _deliver(content)


def send_correction_alerts(correction_id: int) -> SendSummary:
    """The alert of the window of corrections this one falls in, once that window has closed."""
    correction = Correction.objects.filter(pk=correction_id).first()
    if correction is None:
        return _not_sendable(f"correction:{correction_id}", NotSendable("There is no such correction."))
    return send_corrections(correction.release_id, window_of(correction))


def correction_alert_due(correction_id: int) -> datetime | None:
    """When the alert of this correction's window is to be sent: as the window closes, and its grace."""
    correction = Correction.objects.filter(pk=correction_id).first()
    if correction is None:
        return None
    return window_of(correction) + correction_window() + correction_grace()


def send_missed_correction_alerts(within: timedelta = timedelta(days=1)) -> list[SendSummary]:
    """Windows of corrections closed in the last day whose alert never started (a queue that could
    not wait, or lost the task): send them now."""
    now = timezone.now()
    recent = Correction.objects.filter(created_at__gte=now - within, release__in=Release.objects.public())
    windows = {
        (release_id, start)
        for release_id in set(recent.values_list("release_id", flat=True))
        for start in window_starts(release_id)
        if now - within <= start and start + correction_window() + correction_grace() <= now
    }
    events = {corrections_event(release_id, start): (release_id, start) for release_id, start in windows}
    started = set(Delivery.objects.filter(event__in=events).values_list("event", flat=True).distinct())
    return [send_corrections(*window) for event, window in events.items() if event not in started]


def send_date_change_alerts(change_id: int) -> SendSummary:
    """A moved or cancelled release date, to corrections-and-date-changes subscribers."""
    try:
        content = DateChangeAlert.load(change_id)
    except NotSendable as error:
        return _not_sendable(f"date-change:{change_id}", error)
    return _deliver(content)


def send_confirmation(subscriber_id: int) -> SendSummary:
    """The confirmation link (or an "already subscribed" note) for the subscriber's latest request."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return SendSummary("", not_sent_reason=f"There is no subscriber {subscriber_id}.")
    if subscriber.confirm_requested_at is None:  # made some other way than the subscribe page
        Subscriber.objects.filter(pk=subscriber.pk, confirm_requested_at__isnull=True).update(
            confirm_requested_at=timezone.now()
        )
        subscriber.refresh_from_db()
    event = ConfirmationEmail.event_for(subscriber)
    Delivery.objects.bulk_create([Delivery(subscriber=subscriber, event=event)], ignore_conflicts=True)
    deliveries = Delivery.objects.filter(subscriber=subscriber, event=event)
    return _summary(event, deliveries, _send_pending(deliveries, lambda event: ConfirmationEmail()))


def _content_loader() -> Callable[[str], object]:
    """Each event's content, loaded once per call (or the reason it cannot be sent)."""
    loaded: dict[str, object] = {}

    def content_for(event: str):
        if event not in loaded:
            kind, _, ident = event.partition(":")
            try:
                if kind == emails.CONFIRM_PREFIX:
                    loaded[event] = ConfirmationEmail()
                elif kind == emails.CORRECTIONS_PREFIX and (window := emails.parse_corrections_event(ident)):
                    loaded[event] = CorrectionsAlert.load(*window)
                elif kind in LOADERS and ident.isdigit():
                    loaded[event] = LOADERS[kind](int(ident))
                else:
                    raise NotSendable(f"Unknown event {event!r}.")
            except NotSendable as error:
                loaded[event] = error
        if isinstance(loaded[event], NotSendable):
            raise loaded[event]
        return loaded[event]

    return content_for


def resume_pending() -> SendSummary:
    """Send every delivery left pending, or left sending by a worker that died, whatever its event."""
    stale = Delivery.objects.filter(status=Status.SENDING, claimed_at__lt=timezone.now() - stale_after())
    resumed = stale.update(status=Status.PENDING)
    if resumed:
        logger.warning("%s alert(s) left sending by a stopped worker will be sent again.", resumed)
    everything = Delivery.objects.all()
    outcome = _send_pending(everything, _content_loader())
    pending = everything.filter(status__in=(Status.PENDING, Status.SENDING)).count()
    return SendSummary("", sent=outcome[Status.SENT], failed=outcome[Status.FAILED], pending=pending)


def send_missed_release_alerts(within: timedelta = timedelta(days=1)) -> list[SendSummary]:
    """Releases out for a while whose alerts never started: send them now.

    "A while" is NEWSROOM_ALERTS_STALE_SECONDS up to `within`.

    A worker stopped between marking a release published and announcing it leaves no delivery at
    all; the catch-up finds the release here. Its own announcement, if late, then sends nothing more.
    """
    now = timezone.now()
    recent = Release.objects.public().filter(
        publish_at__gte=now - within, publish_at__lte=now - stale_after()
    )
    events = {f"release:{pk}": pk for pk in recent.values_list("pk", flat=True)}
    started = set(
        Delivery.objects.filter(event__in=events).order_by().values_list("event", flat=True).distinct()
    )
    return [send_release_alerts(pk) for event, pk in events.items() if event not in started]


def send_test_alert(release_id: int, email: str) -> SendSummary:
    """A publisher's "send test alert to me": the release's alert, public or not, subject "TEST:".

    Every programme's headline figures, as an every-release subscriber reads them. Not recorded as
    a delivery; the manage and unsubscribe links go to the subscribe page.
    """
    event = f"test:release:{release_id}"
    try:
        content = ReleaseAlert.preview(release_id)
    except Release.DoesNotExist:
        return SendSummary(event, not_sent_reason=f"There is no release {release_id}.")
    content.test = True
    try:
        with Mailer() as mailer:
            mailer.send(content.message(None, None, to=email))
    except (Refused, ConnectionLost) as error:
        logger.warning("Test alert for release %s not sent: %s", release_id, error)
        return SendSummary(event, failed=1, not_sent_reason=str(error))
    return SendSummary(event, sent=1)
