"""What each alert says: one content class per kind of event, read from the database at send time.

Each class loads its event (or says why it cannot be sent), names who should get it, and builds
one subscriber's message (plain text and HTML, from templates/alerts/email/). Release content is
read only through `Release.objects.public()`, so an alert can never carry an embargoed figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import ClassVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape

from alerts import tokens
from alerts.models import Delivery, Subscriber
from alerts.tokens import microseconds
from stats.models import Correction, Release, ReleaseDateChange
from stats.selectors import ReleaseDocument, build_release_document
from stats.wording import formatting, ukclock

CONFIRM_PREFIX = "confirm"
BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")


class NotSendable(Exception):
    """The event cannot be sent (now): the reason is said to the caller and kept on the deliveries."""


def site_domain() -> str:
    return urlsplit(settings.NEWSROOM_SITE_URL).hostname or "localhost"


def absolute(path: str) -> str:
    return settings.NEWSROOM_SITE_URL + path


def message_id(delivery: Delivery) -> str:
    """The same for every attempt at one delivery, so a resent message is a duplicate mail systems drop."""
    return f"<delivery-{delivery.pk}@{site_domain()}>"


def render(template: str, context: dict, *, subject: str, to: str, headers: dict) -> EmailMultiAlternatives:
    context = {"subject": subject, "site_name": settings.NEWSROOM_SITE_NAME, **context}
    text = BLANK_LINES.sub("\n\n", render_to_string(f"alerts/email/{template}.txt", context)).strip() + "\n"
    html = render_to_string(f"alerts/email/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


# The links in a subscriber's message that are theirs alone.
PERSONAL_LINKS = {"manage_url": tokens.MANAGE, "unsubscribe_url": tokens.UNSUBSCRIBE}


def _stand_in(name: str) -> str:
    return f"https://personal.invalid/{name}"


class Letters:
    """One event's messages, rendered once for each different thing they say and then addressed:
    all that differs between two subscribers who chose the same is their own links, put in after.
    Five thousand subscribers cost a handful of renders, not ten thousand."""

    def __init__(self):
        self.rendered: dict[tuple, tuple[str, str]] = {}

    def message(self, template: str, context: dict, *, says: tuple, subject: str, subscriber, headers):
        """`says`: all that this subscriber's message says differently from others' (their choices)."""
        topics = subscriber.topic_labels()
        key = (template, subject, says, tuple(topics))
        if key not in self.rendered:
            stand_ins = {name: _stand_in(name) for name in PERSONAL_LINKS}
            kept = render(
                template, {**context, **stand_ins, "topics": topics}, subject=subject, to="", headers={}
            )
            self.rendered[key] = (kept.body, kept.alternatives[0][0])
        text, html = self.rendered[key]
        for name, url in personal_links(subscriber).items():
            text, html = text.replace(_stand_in(name), url), html.replace(_stand_in(name), escape(url))
        message = EmailMultiAlternatives(
            subject, text, settings.DEFAULT_FROM_EMAIL, [subscriber.email], headers=headers
        )
        message.attach_alternative(html, "text/html")
        return message


def personal_links(subscriber: Subscriber) -> dict[str, str]:
    return {name: tokens.url(subscriber, purpose) for name, purpose in PERSONAL_LINKS.items()}


def subscription_context(subscriber: Subscriber) -> dict:
    return {**personal_links(subscriber), "topics": subscriber.topic_labels()}


def alert_headers(subscriber: Subscriber, delivery: Delivery) -> dict:
    """Message-ID, and RFC 8058 one-click unsubscribe (the address takes a POST without a login or CSRF)."""
    return {
        "Message-ID": message_id(delivery),
        "List-Unsubscribe": f"<{tokens.url(subscriber, tokens.UNSUBSCRIBE)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }


def next_release_line(after: Release) -> str:
    """The next release the calendar announces once `after` is out, or that there is none yet."""
    moment = max(after.publish_at or datetime.now(UTC), datetime.now(UTC))
    upcoming = Release.objects.exclude(pk=after.pk).next_announced(at=moment)
    if upcoming is None:
        return "Next release: not announced yet."
    return f"Next release: {upcoming.announcement}."


@dataclass
class ReleaseAlert:
    """A release is out: its headline figures, with the change since the previous release."""

    needs_active: ClassVar[bool] = True

    release: Release
    document: ReleaseDocument
    test: bool = False
    letters: Letters = field(default_factory=Letters, repr=False, compare=False)

    @classmethod
    def load(cls, release_id: int) -> ReleaseAlert:
        release = Release.objects.public().filter(pk=release_id).first()
        if release is None:
            raise NotSendable(f"Release {release_id} is not public (yet): nothing is sent before its time.")
        return cls(release, build_release_document(release))

    @classmethod
    def preview(cls, release_id: int) -> ReleaseAlert:
        """The release as its alert will read once it is out, public or not (a publisher's test)."""
        release = Release.objects.get(pk=release_id)
        return cls(release, build_release_document(release, visible=Release.objects.as_published(release)))

    @property
    def event(self) -> str:
        return f"release:{self.release.pk}"

    @property
    def programme_slugs(self) -> list[str]:
        return [section.programme_slug for section in self.document.sections]

    def recipients(self):
        return Subscriber.objects.for_release(self.programme_slugs)

    def chosen(self, subscriber: Subscriber | None) -> set[str] | None:
        """The programmes (slugs) this subscriber gets; None means every programme."""
        if subscriber is None or subscriber.every_release:
            return None
        return {programme.slug for programme in subscriber.programmes.all()}

    def refusal(self, subscriber: Subscriber) -> str:
        chosen = self.chosen(subscriber)
        if chosen is not None and not chosen & set(self.programme_slugs):
            return "Not sent: the subscriber no longer wants releases about these programmes."
        return ""

    def _chosen_sections(self, chosen: set[str] | None):
        return [s for s in self.document.sections if chosen is None or s.programme_slug in chosen]

    @staticmethod
    def _item(section, row) -> dict:
        return {
            "programme": section.programme_name,
            "metric": row.metric_name,
            "display": row.display,
            "change": row.change,
            "as_of": formatting.as_of(row.as_of),  # only when it differs from the period
            "explanation": row.explanation,
            "url": absolute(row.metric_url) if row.metric_url else "",
        }

    def headlines(self, chosen: set[str] | None) -> list[dict]:
        return [
            self._item(section, section.headline)
            for section in self._chosen_sections(chosen)
            if section.headline is not None
        ]

    def explained(self, chosen: set[str] | None) -> list[dict]:
        """The other figures whose movement the release explains: a fall is never sent without why."""
        return [
            self._item(section, row)
            for section in self._chosen_sections(chosen)
            for row in section.figures
            if row.explanation and row is not section.headline
        ]

    def message(self, subscriber: Subscriber | None, delivery: Delivery | None, *, to: str = ""):
        release, chosen = self.release, self.chosen(subscriber)
        context = {
            "heading": release.heading,
            "release": release,
            "published": ukclock.uk_label(release.publish_at) or "at a time not set yet",
            "headlines": self.headlines(chosen),
            "explained": self.explained(chosen),
            "every_programme": chosen is None,
            "release_url": absolute(release.get_absolute_url()),
            "next_release": self.next_release,
            "test": self.test,
        }
        subject = f"Published: {release.heading}"
        if subscriber is None:  # a publisher's test: no subscription to manage
            subscribe = absolute(reverse("alerts:subscribe"))
            context.update(manage_url=subscribe, unsubscribe_url=subscribe, topics=["every release"])
            return render("release", context, subject=f"TEST: {subject}", to=to, headers={})
        says = (tuple(sorted(chosen)) if chosen is not None else None,)
        headers = alert_headers(subscriber, delivery)
        return self.letters.message(
            "release", context, says=says, subject=subject, subscriber=subscriber, headers=headers
        )

    @cached_property
    def next_release(self) -> str:
        return next_release_line(self.release)


# --- corrections, gathered -----------------------------------------------------------------------------
#
# Corrections to one release made close together are one alert: a window opens with a correction
# when none is open for its release, and takes in every correction of that release made within
# NEWSROOM_CORRECTION_WINDOW_SECONDS of that first one; the next correction after it opens another.
# The windows follow from the corrections' times alone, so every task and the catch-up agree on them,
# and each window is one event ("corrections:<release>:<its first correction's time>").

CORRECTIONS_PREFIX = "corrections"


def correction_window() -> timedelta:
    return timedelta(seconds=max(1, settings.NEWSROOM_CORRECTION_WINDOW_SECONDS))


def window_starts(release_id: int, *, until: datetime | None = None) -> list[datetime]:
    """When each window of corrections to a release opened, oldest first (those opened by `until`)."""
    times = Correction.objects.filter(release_id=release_id).order_by("created_at", "pk")
    if until is not None:
        times = times.filter(created_at__lte=until)
    starts: list[datetime] = []
    for moment in times.values_list("created_at", flat=True):
        if not starts or moment >= starts[-1] + correction_window():
            starts.append(moment)
    return starts


def window_of(correction: Correction) -> datetime:
    """When the window this correction falls in opened."""
    return window_starts(correction.release_id, until=correction.created_at)[-1]


def corrections_event(release_id: int, start: datetime) -> str:
    return f"{CORRECTIONS_PREFIX}:{release_id}:{microseconds(start)}"


def parse_corrections_event(ident: str) -> tuple[int, datetime] | None:
    """The release and window start of "<release>:<microseconds>", or None."""
    release, _, start = ident.partition(":")
    if not (release.isdigit() and start.isdigit()):
        return None
    return int(release), datetime.fromtimestamp(int(start) / 1_000_000, UTC)


def programme_of(correction: Correction):
    """The programme a corrected figure or bullet belongs to (None for a note on the release)."""
    if correction.figure_id and correction.figure:
        return correction.figure.metric.programme
    if correction.statement_id and correction.statement:
        return correction.statement.programme
    return None


@dataclass
class CorrectionsAlert:
    """Figures or bullets of a public release corrected after it came out, within one window."""

    needs_active: ClassVar[bool] = True

    release: Release
    corrections: list[Correction]
    event: str
    letters: Letters = field(default_factory=Letters, repr=False, compare=False)

    @staticmethod
    def _corrections():
        related = ("release", "figure__metric__programme", "statement__programme")
        return Correction.objects.select_related(*related).order_by("created_at", "pk")

    @classmethod
    def load(cls, release_id: int, start: datetime) -> CorrectionsAlert:
        """The corrections to a public release in the window that opened at `start`."""
        release = Release.objects.public().filter(pk=release_id).first()
        if release is None:
            raise NotSendable(f"Release {release_id} is not public: its corrections are not sent.")
        window = cls._corrections().filter(
            release=release, created_at__gte=start, created_at__lt=start + correction_window()
        )
        corrections = list(window)
        if not corrections:
            raise NotSendable(f"Release {release_id} has no corrections in that window.")
        return cls(release, corrections, corrections_event(release_id, start))

    @classmethod
    def load_one(cls, correction_id: int) -> CorrectionsAlert:
        """One correction alone: the event "correction:<id>" of deliveries recorded before windows."""
        correction = cls._corrections().filter(pk=correction_id, release__in=Release.objects.public()).first()
        if correction is None:
            raise NotSendable(f"Correction {correction_id} is not on a public release.")
        return cls(correction.release, [correction], f"correction:{correction_id}")

    def recipients(self):
        slugs = {programme.slug for c in self.corrections if (programme := programme_of(c))}
        return Subscriber.objects.for_corrections(sorted(slugs))

    def chosen(self, subscriber: Subscriber) -> list[Correction]:
        """What this subscriber reads: every correction, or those of the programmes they chose."""
        if subscriber.corrections:
            return self.corrections
        wanted = {programme.pk for programme in subscriber.programmes.all()}
        return [c for c in self.corrections if (programme := programme_of(c)) and programme.pk in wanted]

    def refusal(self, subscriber: Subscriber) -> str:
        if self.chosen(subscriber):
            return ""
        return "Not sent: the subscriber no longer wants corrections to these programmes."

    def message(self, subscriber: Subscriber, delivery: Delivery):
        release, chosen = self.release, self.chosen(subscriber)
        items = [
            {
                "correction": correction,
                "programme": programme.label if (programme := programme_of(correction)) else "",
                "corrected": ukclock.uk_label(correction.created_at),
            }
            for correction in chosen
        ]
        what = "A correction" if len(chosen) == 1 else f"{len(chosen)} corrections"
        context = {
            "heading": f"{what} to the deployment statistics for w/c {release.period_label}",
            "release": release,
            "items": items,
            "release_url": absolute(release.get_absolute_url()) + "#corrections-heading",
            "revisions_url": absolute(reverse("statistics:revision-list")),
        }
        subject = f"{'Correction' if len(chosen) == 1 else what}: {release.announced_name}"
        headers = alert_headers(subscriber, delivery)
        says = tuple(correction.pk for correction in chosen)
        return self.letters.message(
            "correction", context, says=says, subject=subject, subscriber=subscriber, headers=headers
        )


@dataclass
class DateChangeAlert:
    """An announced publish time moved, or the release was cancelled: the calendar already shows it."""

    needs_active: ClassVar[bool] = True

    change: ReleaseDateChange
    letters: Letters = field(default_factory=Letters, repr=False, compare=False)

    @classmethod
    def load(cls, change_id: int) -> DateChangeAlert:
        change = ReleaseDateChange.objects.select_related("release").filter(pk=change_id).first()
        if change is None:
            raise NotSendable(f"There is no release date change {change_id}.")
        return cls(change)

    @property
    def event(self) -> str:
        return f"date-change:{self.change.pk}"

    def recipients(self):
        return Subscriber.objects.active().filter(corrections=True)

    def refusal(self, subscriber: Subscriber) -> str:
        return "" if subscriber.corrections else "Not sent: the subscriber no longer wants date changes."

    def message(self, subscriber: Subscriber, delivery: Delivery):
        change, release = self.change, self.change.release
        name = release.announced_name
        context = {
            "heading": f"{name}: {'cancelled' if change.is_cancellation else 'new date'}",
            "name": name,
            "change": change,
            "was": ukclock.uk_label(change.old_publish_at),
            "now": ukclock.uk_label(change.new_publish_at),
            "calendar_url": absolute(reverse("statistics:release-calendar")),
        }
        subject = f"{'Cancelled' if change.is_cancellation else 'Date changed'}: {name}"
        headers = alert_headers(subscriber, delivery)
        return self.letters.message(
            "date_change", context, says=(), subject=subject, subscriber=subscriber, headers=headers
        )


class ConfirmationEmail:
    """The double opt-in link, or, to an address already subscribed, a note with its manage link.

    One event per time it is asked for ("confirm:<epoch microseconds>"), so asking again sends again,
    but sending the same request twice does not.
    """

    @staticmethod
    def event_at(asked: datetime) -> str:
        """The event of the email answering a request made at `asked`."""
        return f"{CONFIRM_PREFIX}:{microseconds(asked)}"

    @classmethod
    def event_for(cls, subscriber: Subscriber) -> str:
        return cls.event_at(subscriber.confirm_requested_at)

    needs_active = False  # it goes to addresses not confirmed yet: that is what it is for

    def refusal(self, subscriber: Subscriber) -> str:
        asked, left = subscriber.confirm_requested_at, subscriber.unsubscribed_at
        if left is not None and (asked is None or asked < left):
            return "Not sent: asked for before the subscriber unsubscribed."
        return ""

    def message(self, subscriber: Subscriber, delivery: Delivery):
        headers = {"Message-ID": message_id(delivery), "Auto-Submitted": "auto-replied"}
        if subscriber.is_active:
            context = subscription_context(subscriber)
            subject = f"You are already subscribed to {settings.NEWSROOM_SITE_NAME} alerts"
            to = subscriber.email
            return render("already_subscribed", context, subject=subject, to=to, headers=headers)
        context = {
            "confirm_url": tokens.url(subscriber, tokens.CONFIRM),
            "days": settings.NEWSROOM_CONFIRM_DAYS,
            "topics": subscriber.topic_labels(),
        }
        subject = f"Confirm your email alerts from the {settings.NEWSROOM_SITE_NAME}"
        return render("confirm", context, subject=subject, to=subscriber.email, headers=headers)
