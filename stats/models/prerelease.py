"""Pre-release access: the ledger of who saw which release before it came out.

The Code of Practice for Statistics: access before publication is limited, recorded and published.
The ledger is these three tables; the public list is generated from it (`stats.selectors`), and
every write goes through `stats.publishing.prerelease`.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from stats.models import Release


def new_access_token() -> str:
    """An unguessable part of a personal link (256 random bits); the link also carries a signature."""
    return secrets.token_urlsafe(32)


class PreReleaseGrant(models.Model):
    """Pre-release access to one release for one named person, from a publisher, for a reason."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="pre_release_grants")
    name = models.CharField(max_length=200)
    job_title = models.CharField(
        max_length=200, help_text="Published with the release, with the organisation."
    )
    organisation = models.CharField(max_length=200)
    email = models.EmailField(help_text="Where the personal link is sent. Never published.")
    reason = models.TextField(help_text="Why this person needs the statistics before they are published.")
    token = models.CharField(max_length=64, unique=True, default=new_access_token, editable=False)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", editable=False
    )
    granted_at = models.DateTimeField(default=timezone.now, editable=False)
    # The approval it was granted for: a release sent back and approved again needs a new grant.
    approval = models.DateTimeField("for the approval of", null=True, blank=True, editable=False)
    emailed_at = models.DateTimeField("link emailed", null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    revoke_reason = models.TextField("why revoked", blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["token"])

    class Meta:
        ordering = ["granted_at", "pk"]
        verbose_name = "pre-release access grant"
        permissions = [("grant_pre_release", "Can grant and revoke pre-release access")]

    def __str__(self):
        return f"{self.name}, {self.job_title}, {self.organisation} ({self.release})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class PreReleaseAccess(models.Model):
    """One use of a personal link, or one refused attempt: what was asked for, when, and the answer."""

    class Outcome(models.TextChoices):
        OPENED = "opened", "Opened"
        REFUSED = "refused", "Refused"

    grant = models.ForeignKey(
        PreReleaseGrant, on_delete=models.PROTECT, null=True, blank=True, related_name="accesses"
    )
    release = models.ForeignKey(
        Release, on_delete=models.PROTECT, null=True, blank=True, related_name="pre_release_accesses"
    )
    at = models.DateTimeField(default=timezone.now)
    viewed = models.CharField("asked for", max_length=20)  # "page" or "pdf"
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    refusal = models.CharField("why refused", max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = "pre-release access log entry"
        verbose_name_plural = "pre-release access log"

    def __str__(self):
        return f"{self.get_outcome_display()} {self.viewed} at {self.at:%Y-%m-%d %H:%M:%S}"


class PreReleaseBreach(models.Model):
    """A breach of pre-release access, published with the release with its explanation."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="pre_release_breaches")
    explanation = models.TextField(
        help_text="What happened and what was done, in plain English, for the public."
    )
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", editable=False
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["recorded_at", "pk"]
        verbose_name = "pre-release access breach"
        verbose_name_plural = "pre-release access breaches"

    def __str__(self):
        return f"Breach of pre-release access: {self.release}"
