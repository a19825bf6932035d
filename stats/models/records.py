"""The public records a release's life leaves: corrections, the files built for it, moved dates."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from stats.models import Figure, Release, Statement


class Correction(models.Model):
    """A change to a public release after it came out (a figure or a bullet): old → new, when, why.

    Only the correction services write one; a note written before publication explaining this
    week's figure is an `Explanation`, never a correction.
    """

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="corrections")
    figure = models.ForeignKey(
        Figure, on_delete=models.SET_NULL, null=True, blank=True, related_name="corrections"
    )
    statement = models.ForeignKey(
        Statement, on_delete=models.SET_NULL, null=True, blank=True, related_name="corrections"
    )
    subject = models.CharField(
        "what changed", max_length=300, help_text="e.g. “Prescription messages transmitted”."
    )
    old_value = models.TextField("was", blank=True)
    new_value = models.TextField("now", blank=True)
    reason = models.TextField(help_text="Why it changed, in plain English, for the public.")
    created_at = models.DateTimeField("corrected at", default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.subject}: {self.old_value} → {self.new_value}"


class Explanation(models.Model):
    """A note on one figure of a release, written before it comes out, saying why the figure moved
    since the previous release ("fell because two practices merged"). Published with the release
    beside its figure; never a correction, which changes a figure after publication."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="explanations")
    figure = models.OneToOneField(Figure, on_delete=models.CASCADE, related_name="explanation")
    subject = models.CharField("measure", max_length=300)
    old_value = models.TextField("previous release's figure", blank=True)
    new_value = models.TextField("this release's figure", blank=True)
    reason = models.TextField(
        "why it changed", help_text="Why the figure moved since the previous release, in plain English."
    )
    created_at = models.DateTimeField("written at", default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.subject}: {self.reason}"


class ReleaseFile(models.Model):
    """The size of one of a release's files as last built, so pages can show it without building it."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="files")
    format = models.CharField(max_length=10)
    size = models.PositiveIntegerField()
    version = models.PositiveIntegerField(help_text="The release's version the file was built from.")
    built_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "format"], name="release_file_one_per_format")
        ]

    def __str__(self):
        return f"{self.release}: {self.format}, {self.size} bytes"


class ReleaseDateChange(models.Model):
    """A public record that an announced publish time moved, or was cancelled, and why."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="date_changes")
    old_publish_at = models.DateTimeField("was", null=True, blank=True)
    new_publish_at = models.DateTimeField("now", null=True, blank=True, help_text="Empty when cancelled.")
    reason = models.TextField(help_text="Why the date changed, in plain English, for the public.")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-changed_at"]
        verbose_name = "release date change"

    def __str__(self):
        return f"{self.release}: {self.old_publish_at} → {self.new_publish_at or 'cancelled'}"

    @property
    def is_cancellation(self) -> bool:
        return self.new_publish_at is None
