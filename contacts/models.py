from django.db import models
from django.urls import reverse
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords


class MediaContactQuerySet(models.QuerySet):
    def active(self):
        """Contacts shown to the public."""
        return self.filter(is_active=True)


class MediaContact(models.Model):
    name = models.CharField(
        "office name",
        max_length=200,
        help_text="The office journalists call, e.g. “NHS CFH press office”.",
    )
    slug = models.SlugField(
        max_length=200,
        unique=True,
        help_text="Used in the contact’s web address and vCard file name. Do not change once public.",
    )
    remit = models.CharField(
        max_length=200,
        blank=True,
        help_text="What the office deals with, e.g. “Systems & Services” or “General NHS media enquiries”.",
    )
    organisation = models.CharField(
        max_length=200,
        help_text="The organisation the office belongs to, e.g. “Department of Health”.",
    )
    phone = PhoneNumberField(
        blank=True,
        help_text="Main press office number, e.g. 020 7004 1555. UK numbers may be typed as dialled.",
    )
    email = models.EmailField(blank=True, help_text="Press office email address.")
    out_of_hours_phone = PhoneNumberField(
        "out-of-hours phone",
        blank=True,
        help_text="Number for urgent enquiries outside office hours, if there is one.",
    )
    website = models.URLField("web address", blank=True, help_text="A page with more ways to get in touch.")
    note = models.CharField(
        max_length=300,
        blank=True,
        help_text="A short line shown under the contact, e.g. “Contact the trust’s own press office.”",
    )
    programmes = models.ManyToManyField(
        "statistics.Programme",
        blank=True,
        related_name="media_contacts",
        help_text="Programmes this office answers questions about.",
    )
    display_order = models.PositiveIntegerField(default=0, help_text="Lower numbers are listed first.")
    is_active = models.BooleanField(
        "active", default=True, help_text="Untick to hide the contact from the public site."
    )
    last_verified = models.DateField(
        null=True,
        blank=True,
        help_text="When someone last checked these details are right.",
    )

    objects = MediaContactQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["display_order", "name"]
        verbose_name = "media contact"

    def __str__(self):
        return f"{self.name} ({self.organisation})" if self.organisation else self.name

    def get_absolute_url(self):
        return reverse("contacts:contact-list") + f"#{self.slug}"
