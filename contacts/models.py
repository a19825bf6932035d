from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from contacts import phones

# A contact not checked for this many months is flagged in the admin.
VERIFY_EVERY_MONTHS = 6

# Slugs that would clash with the directory's own addresses (/contacts/all.vcf).
RESERVED_SLUGS = {"all"}


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier, clamped to the month's end."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def verification_due_on_or_before(today: dt.date | None = None) -> dt.date:
    """Contacts last verified on or before this date are due to be checked again."""
    return months_before(today or timezone.localdate(), VERIFY_EVERY_MONTHS)


def group_by_programme(contacts) -> dict[int, list[MediaContact]]:
    """Contacts keyed by programme pk, keeping their order; one query for which covers which."""
    contacts = list(contacts)
    covers: dict[int, list[int]] = {}
    if contacts:
        links = MediaContact.programmes.through.objects.filter(
            mediacontact__in=[contact.pk for contact in contacts]
        ).values_list("mediacontact_id", "programme_id")
        for contact_id, programme_id in links:
            covers.setdefault(contact_id, []).append(programme_id)
    grouped: dict[int, list[MediaContact]] = {}
    for contact in contacts:
        for programme_id in covers.get(contact.pk, ()):
            grouped.setdefault(programme_id, []).append(contact)
    return grouped


class MediaContactQuerySet(models.QuerySet):
    def active(self):
        """Contacts shown to the public."""
        return self.filter(is_active=True)

    def for_programme(self, programme):
        """Contacts that answer questions about `programme` (a Programme or its pk), without duplicates."""
        covers = MediaContact.programmes.through.objects.filter(
            mediacontact=OuterRef("pk"), programme=getattr(programme, "pk", programme)
        )
        return self.filter(Exists(covers))

    def by_programme(self) -> dict[int, list[MediaContact]]:
        """Contacts keyed by programme pk, in listing order; two queries (for release sections, PDFs)."""
        return group_by_programme(self)

    def search(self, text: str):
        """Contacts whose office, remit, organisation, email, note or programme mentions `text`."""
        text = text.strip()
        if not text:
            return self
        through = MediaContact.programmes.through
        in_programme = through.objects.filter(mediacontact=OuterRef("pk")).filter(
            Q(programme__name__icontains=text) | Q(programme__short_name__icontains=text)
        )
        return self.filter(
            Q(name__icontains=text)
            | Q(remit__icontains=text)
            | Q(organisation__icontains=text)
            | Q(email__icontains=text)
            | Q(note__icontains=text)
            | Exists(in_programme)
        )

    def needs_verifying(self, today: dt.date | None = None):
        """Contacts never verified, or not verified for six months."""
        return self.filter(
            Q(last_verified__isnull=True) | Q(last_verified__lte=verification_due_on_or_before(today))
        )

    def organisations(self) -> list[str]:
        """Distinct organisation names, A to Z."""
        return list(self.order_by("organisation").values_list("organisation", flat=True).distinct())


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
        help_text="When someone last checked these details are right. Journalists see it under the "
        "contact (“Details checked on 3 March 2010”) and in its vCard. Contacts not checked for six "
        "months are flagged in the list; use “Mark as verified today” after checking.",
    )

    objects = MediaContactQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["display_order", "name"]
        verbose_name = "media contact"

    def __str__(self):
        return f"{self.name} ({self.organisation})" if self.organisation else self.name

    def get_absolute_url(self):
        return self.listing_url

    # A contact shows on many parts of one page; each address is built once per instance.
    @cached_property
    def listing_url(self) -> str:
        return reverse("contacts:contact-list") + f"#{self.slug}"

    @cached_property
    def vcard_url(self) -> str:
        return reverse("contacts:contact-vcard", args=[self.slug])

    def clean(self):
        errors = {}
        if self.slug in RESERVED_SLUGS:
            errors["slug"] = f"“{self.slug}” is used by the directory itself; choose another web address."
        if self.last_verified and self.last_verified > timezone.localdate():
            errors["last_verified"] = (
                f"{self.last_verified:%-d %B %Y} is in the future: give the day the details were checked."
            )
        if errors:
            raise ValidationError(errors)

    @cached_property
    def phone_dial(self) -> phones.Dial | None:
        """The press office number as a tel: link and display text (see phones.dial)."""
        return phones.dial(self.phone)

    @cached_property
    def out_of_hours_dial(self) -> phones.Dial | None:
        return phones.dial(self.out_of_hours_phone)

    @property
    def needs_verifying(self) -> bool:
        """Never verified, or not verified for six months."""
        return self.last_verified is None or self.last_verified <= verification_due_on_or_before()
