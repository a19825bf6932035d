"""Alert subscribers, requests waiting for the worker, and the delivery ledger.

The ledger has one row per (subscriber, event), written before sending.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from stats.models import Programme


class SubscriberQuerySet(models.QuerySet):
    def active(self):
        """Subscribers who confirmed their address and have not unsubscribed: the only ones sent alerts."""
        return self.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)

    def for_release(self, programme_slugs):
        """Active subscribers who want a release about these programmes: every release, or one of them."""
        wanted = Q(every_release=True) | Q(programmes__slug__in=list(programme_slugs))
        return self.active().filter(pk__in=self.filter(wanted).values("pk"))

    def for_corrections(self, programme_slugs=()):
        """Active subscribers to corrections and date changes, and those who chose one of these programmes."""
        wanted = Q(corrections=True) | Q(programmes__slug__in=list(programme_slugs))
        return self.active().filter(pk__in=self.filter(wanted).values("pk"))

    def with_address(self, email: str):
        """The subscriber with this address, whatever its case."""
        return self.filter(email__iexact=email.strip())


class Subscriber(models.Model):
    email = models.EmailField(
        "email address",
        max_length=254,
        help_text="Never shown on the public site. One subscriber per address, whatever its case.",
    )
    every_release = models.BooleanField(
        default=False, help_text="Sent every release, with the headline figures of every programme."
    )
    corrections = models.BooleanField(
        "corrections and date changes",
        default=False,
        help_text="Sent when a published figure is corrected or a release date moves or is cancelled.",
    )
    programmes = models.ManyToManyField(
        Programme,
        blank=True,
        related_name="subscribers",
        verbose_name="chosen programmes",
        help_text="Sent each release with these programmes’ headline figures, and their corrections.",
    )
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the address was confirmed from the link emailed to it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    confirm_requested_at = models.DateTimeField(
        "confirmation last asked for",
        null=True,
        blank=True,
        editable=False,
        help_text="When a confirmation (or a “you are already subscribed” email) was last asked for.",
    )

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="subscriber_email_unique_any_case",
                violation_error_message="There is already a subscriber with this email address.",
            )
        ]

    def __str__(self):
        return self.email

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None

    def confirm(self) -> None:
        """Start (or restart, after unsubscribing) sending the alerts chosen."""
        self.confirmed_at = timezone.now()
        self.unsubscribed_at = None
        self.save(update_fields=["confirmed_at", "unsubscribed_at"])

    def unsubscribe(self) -> None:
        """Stop every alert at once; nothing more is sent, even what was waiting to go."""
        if self.unsubscribed_at is None:
            self.unsubscribed_at = timezone.now()
            self.save(update_fields=["unsubscribed_at"])

    def topic_labels(self) -> list[str]:
        """What the subscriber asked for, as the emails and pages word it."""
        labels = []
        if self.every_release:
            labels.append("every release")
        if self.corrections:
            labels.append("corrections and date changes")
        names = [programme.label for programme in self.programmes.all()]
        if names:
            labels.append("releases about " + ", ".join(names))
        return labels


class Delivery(models.Model):
    """One email to one subscriber for one event ("release:12", "correction:5", "date-change:3")."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(
        max_length=50, help_text="What the email is about: release:12, correction:5, date-change:3, confirm:…"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last took it to send.")
    claim = models.UUIDField(
        null=True, blank=True, editable=False, help_text="The batch a worker last took it in, to send."
    )
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the mail server accepted it.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "event"], name="delivery_one_per_subscriber_event")
        ]
        indexes = [
            models.Index(fields=["event", "status"], name="delivery_event_status"),
            models.Index(fields=["status", "claimed_at"], name="delivery_status_claimed"),
        ]

    def __str__(self):
        return f"{self.event} to subscriber {self.subscriber_id}: {self.get_status_display()}"


class SubscriptionRequest(models.Model):
    """Someone asked for alerts on /subscribe/: kept until the task worker answers it by email.

    The page only records this and queues its answer, the same work whatever the address, so neither
    what it says nor how long it takes tells whether an address is subscribed. The worker then finds
    or makes the subscriber, and sends the confirmation link (or an "already subscribed" note).
    """

    email = models.EmailField("email address", max_length=254)
    every_release = models.BooleanField(default=False)
    corrections = models.BooleanField(default=False)
    programme_ids = models.JSONField(default=list, blank=True, help_text="The programmes chosen (their ids).")
    asked_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["asked_at", "pk"]

    def __str__(self):
        return f"Alerts asked for at {self.asked_at:%Y-%m-%d %H:%M:%S}"


class RequestCount(models.Model):
    """How often /subscribe/ was asked in one clock hour: from one client, for one address, or in all.

    Kept in the database every app server shares, and counted with one conditional UPDATE, so a limit
    holds exactly however many servers answer at once (alerts/limits.py).
    """

    key = models.CharField(max_length=100, help_text="client:<address>, address:<digest> or all.")
    hour = models.DateTimeField(help_text="The start of the clock hour counted.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "hour"], name="request_count_one_per_key_hour")]
        indexes = [models.Index(fields=["hour"], name="request_count_hour")]

    def __str__(self):
        return f"{self.key} at {self.hour:%Y-%m-%d %H:00}: {self.count}"
