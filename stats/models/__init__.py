from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from stats.designations import Designation, StatisticsStatus
from stats.wording import formatting, ukclock
from stats.wording.parsing import BELOW_LIMIT, FIGURE_LIMIT, too_large

PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def one_line_ending(text: str) -> str:
    """Text with its line breaks as \n, whether typed in a browser (\r\n) or imported."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if text else text


class ProgrammeQuerySet(models.QuerySet):
    def active(self):
        """Programmes shown on the public site."""
        return self.filter(is_active=True)


class ReleaseQuerySet(models.QuerySet):
    def public(self, at: datetime | None = None):
        """Releases the public may see: approved and past their publish time.

        The only door through which public pages, feeds, the sitemap, search,
        downloads, the API and PDFs see releases.
        """
        return self.filter(status__in=Release.PUBLIC_STATUSES, publish_at__lte=at or timezone.now())

    def with_public(self, release, *, at: datetime | None = None):
        """`release`, and the releases public at `at` (now)."""
        return self.filter(Q(pk=release.pk) | Q(pk__in=Release.objects.public(at=at).values("pk")))

    def as_published(self, release):
        """What the public will see once `release` is out: it, and every release public by its publish time.

        Staff previews, the page and the PDF alike, read through this so they compare with
        and chart against the releases the public will have then.
        """
        return self.with_public(release, at=max(release.publish_at or timezone.now(), timezone.now()))

    def pre_release(self, release):
        """What one person's pre-release copy of `release` may show: it, and the releases public now.

        Never another release before its second, even one due out before `release` (two releases
        a few minutes apart): the copy compares with, and charts against, what is public now.
        """
        return self.with_public(release)

    def withdrawn(self, at: datetime | None = None):
        """Releases taken down after they came out: their pages keep a notice, never a figure."""
        return self.filter(status=Release.Status.WITHDRAWN, publish_at__lte=at or timezone.now())

    def upcoming(self, at: datetime | None = None):
        """Releases announced for the future (their dates, never their figures)."""
        return self.filter(status__in=Release.PUBLIC_STATUSES, publish_at__gt=at or timezone.now()).order_by(
            "publish_at"
        )

    def announced(self, at: datetime | None = None):
        """Coming releases with a publish time, approved or not: the calendar shows their dates only."""
        return self.filter(status__in=Release.COMING_STATUSES, publish_at__gt=at or timezone.now()).order_by(
            "publish_at"
        )

    def next_announced(self, at: datetime | None = None):
        """The next release the calendar announces after `at` (now): the one "next release" that the
        home page, the calendar, release pages and alerts all name; None when none is announced."""
        return self.announced(at=at).only("period_date", "publish_at", "date_confirmed", "status").first()

    def due(self, at: datetime | None = None):
        """Approved releases whose publish time has passed but which are not yet marked published."""
        return self.filter(status=Release.Status.SCHEDULED, publish_at__lte=at or timezone.now())


class Kind(models.TextChoices):
    TOTAL = formatting.TOTAL, "Total to date (never falls)"
    PERIOD = formatting.PERIOD, "Count within the reporting period"
    LEVEL = formatting.LEVEL, "Level at a point in time"
    PERCENT = formatting.PERCENT, "Percentage (0–100)"
    RECORD = formatting.RECORD, "Best ever (never falls)"
    AMOUNT = formatting.AMOUNT, "Amount of money (£)"


class Qualifier(models.TextChoices):
    AUTO = formatting.AUTO, "Automatic (“over” when rounded down)"
    EXACT = formatting.EXACT, "None (exact)"
    OVER = formatting.OVER, "over"
    MORE_THAN = formatting.MORE_THAN, "more than"
    APPROXIMATELY = formatting.APPROXIMATELY, "approximately"
    ALMOST = formatting.ALMOST, "almost"
    AROUND = formatting.AROUND, "around"


class Programme(models.Model):
    name = models.CharField(
        max_length=200,
        unique=True,
        help_text="Full name as the public reads it, e.g. “Electronic Prescription Service (EPS)”.",
    )
    short_name = models.CharField(
        max_length=50, blank=True, help_text="Short form for tables and charts, e.g. “EPS”."
    )
    slug = models.SlugField(
        max_length=100,
        unique=True,
        help_text="Used in web addresses. Do not change once the programme is public.",
    )
    description = models.TextField(
        blank=True, help_text="One or two sentences on what the programme does, for the public."
    )
    display_order = models.PositiveIntegerField(
        default=0, help_text="Programmes are shown in this order on a release: lower first."
    )
    is_active = models.BooleanField(
        "active", default=True, help_text="Untick to hide the programme from the public site."
    )

    objects = ProgrammeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["display_order", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("statistics:programme-detail", args=[self.slug])

    @property
    def label(self) -> str:
        return self.short_name or self.name


class Metric(models.Model):
    Kind = Kind

    programme = models.ForeignKey(
        Programme,
        on_delete=models.PROTECT,
        related_name="metrics",
        help_text="The programme this measures.",
    )
    slug = models.SlugField(
        max_length=100,
        unique=True,
        help_text=(
            "The metric’s permanent key, used in statements as {slug} and in spreadsheets. "
            "Lower case and hyphens, e.g. “eps-messages-total”. Never change it once used."
        ),
    )
    name = models.CharField(
        max_length=200, help_text="What is counted, e.g. “Prescription messages transmitted”."
    )
    unit = models.CharField(
        max_length=50, blank=True, help_text="What one unit is, e.g. “messages”, “bookings”, “%”, “£”."
    )
    definition = models.TextField(
        blank=True,
        help_text="Exactly what is counted and from which source, shown to the public beside the figures.",
    )
    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        default=Kind.TOTAL,
        help_text=(
            "Totals and records must never fall without a correction; percentages must be between 0 and 100."
        ),
    )
    display_order = models.PositiveIntegerField(
        default=0, help_text="Order within the programme: lower first."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["programme__display_order", "display_order", "name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Figures keep a copy of the kind so the database can hold the 0–100 rule.
        self.figures.exclude(kind=self.kind).update(kind=self.kind)

    def get_absolute_url(self):
        return reverse("statistics:metric-detail", args=[self.slug])

    def clean(self):
        if self.pk and self.kind == Kind.PERCENT:
            over = (
                self.figures.filter(value__gt=100).select_related("release").order_by("release__period_date")
            )
            first = over.first()
            if first is not None:
                count = over.count()
                raise ValidationError(
                    {
                        "kind": f"{count} figure{'s' if count != 1 else ''} of this metric "
                        f"{'are' if count != 1 else 'is'} over 100 (e.g. {first.display} for w/c "
                        f"{first.release.period_label}), so it cannot be a percentage."
                    }
                )


class Release(models.Model):
    Designation = Designation

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        SCHEDULED = "scheduled", "Scheduled"
        PUBLISHED = "published", "Published"
        WITHDRAWN = "withdrawn", "Withdrawn"
        CANCELLED = "cancelled", "Cancelled"

    # The statuses' groups, defined once: the querysets, checks, services and admin read these.
    # Approved: public once the publish time has passed (whatever any job has done by then).
    PUBLIC_STATUSES = (Status.SCHEDULED, Status.PUBLISHED)
    # Still to come: its date may move, or it may be cancelled; the calendar announces it.
    COMING_STATUSES = (Status.DRAFT, Status.IN_REVIEW, Status.SCHEDULED)
    # What a new release's figures are compared with: approved, or on the way to approval.
    COMPARABLE_STATUSES = (Status.IN_REVIEW, Status.SCHEDULED, Status.PUBLISHED)
    # Each status as a sentence names a release: "This is a preview of a draft release".
    STATUS_PHRASES = {
        Status.DRAFT: "a draft release",
        Status.IN_REVIEW: "a release in review",
        Status.SCHEDULED: "a scheduled release",
        Status.PUBLISHED: "a published release",
        Status.WITHDRAWN: "a withdrawn release",
        Status.CANCELLED: "a cancelled release",
    }

    period_date = models.DateField(
        unique=True,
        help_text=(
            "First day of the reporting period (“for w/c …”). It can be any weekday. "
            "It is the release’s permanent web address, e.g. /statistics/2010-03-03/."
        ),
    )
    title = models.CharField(
        max_length=200,
        default="NHS Connecting for Health deployment statistics",
        help_text="Heading of the release; “(for w/c 3 March 2010)” is added after it.",
    )
    summary = models.TextField(
        blank=True, help_text="One or two sentences for the archive, feed and search results."
    )
    notes = models.TextField(
        blank=True,
        help_text="Background paragraphs shown after the figures. Leave a blank line between paragraphs.",
    )
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.DRAFT,
        help_text="Where the release is in the publishing workflow. Change it with the buttons above.",
    )
    date_confirmed = models.BooleanField(
        "date confirmed",
        default=False,
        help_text="Ticked once the publish time is final; until then the calendar says “provisional”.",
    )
    status_reason = models.TextField(
        "reason for cancelling or withdrawing",
        blank=True,
        help_text="Shown to the public when a release is cancelled or withdrawn.",
    )
    publish_at = models.DateTimeField(
        "publish time",
        null=True,
        blank=True,
        help_text="UK time the release becomes public. It stays hidden until then.",
    )
    is_synthetic = models.BooleanField(
        default=False,
        editable=False,
        help_text="Generated demonstration data, labelled as such on the public site.",
    )
    lead_contact = models.ForeignKey(
        "contacts.MediaContact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The office responsible for this release, named on its page.",
    )
    # The statistician responsible for the figures, named on every release (Code of Practice T3.7).
    statistician_name = models.CharField(
        "lead statistician",
        max_length=200,
        blank=True,
        help_text="The statistician responsible for these figures, named on the page, the PDF and the API. "
        "Copied from the previous release.",
    )
    statistician_email = models.EmailField(
        "lead statistician’s email",
        blank=True,
        help_text="Where readers can ask the lead statistician about the figures, e.g. a team mailbox.",
    )
    statistician_phone = PhoneNumberField(
        "lead statistician’s phone",
        blank=True,
        help_text="Optional. UK numbers may be typed as dialled, e.g. 020 7946 0000.",
    )
    # Management information unless a publisher says otherwise: a new release never claims more.
    designation = models.CharField(
        "statistics status",
        max_length=30,
        choices=Designation.choices,
        default=Designation.MANAGEMENT_INFORMATION,
        help_text="What these statistics are, as the Office for Statistics Regulation names them, shown "
        "as a label on the page. Only publishers change it; it is copied from the previous release.",
    )
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Goes up by one at every save; stops lost updates."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_at = models.DateTimeField(
        "marked published at",
        null=True,
        blank=True,
        editable=False,
        help_text="When the release was marked published: at once, or when its publish time came.",
    )
    # Claimed once, with one conditional UPDATE, by whichever worker runs what follows the release
    # coming out (the late report, warming the cache, the published event): never twice.
    went_out_at = models.DateTimeField(
        "followed up at",
        null=True,
        blank=True,
        editable=False,
        help_text="When the task worker began what follows the release coming out: warming its pages "
        "and sending the event its email alerts wait for.",
    )

    objects = ReleaseQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_date"]
        get_latest_by = "period_date"
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=("scheduled", "published")) | Q(publish_at__isnull=False),
                name="release_approved_has_publish_time",
                violation_error_message="A scheduled or published release needs a publish time.",
            ),
        ]
        permissions = [
            ("submit_release", "Can submit a release for review"),
            ("approve_release", "Can approve and schedule a release"),
            ("publish_release", "Can publish a release straight away"),
            ("correct_release", "Can correct a published release"),
            ("withdraw_release", "Can withdraw a published release"),
        ]

    def __str__(self):
        return self.heading

    def get_absolute_url(self):
        return reverse("statistics:release-detail", args=[self.period_date])

    @property
    def period_label(self) -> str:
        return ukclock.day_label(self.period_date)

    @property
    def heading(self) -> str:
        return f"{self.title} (for w/c {self.period_label})"

    @property
    def announced_name(self) -> str:
        """What the release calendar calls a coming release: its period only, never a draft's own title."""
        return f"Deployment statistics for w/c {self.period_label}"

    @property
    def date_state(self) -> str:
        """Whether an announced date may still move: "confirmed" or "provisional"."""
        return "confirmed" if self.date_confirmed else "provisional"

    @property
    def announcement(self) -> str:
        """A coming release as every output words it: “w/c 10 March 2010, due Wednesday 10 March
        2010, 09:30 GMT (confirmed)”."""
        return f"w/c {self.period_label}, due {ukclock.uk_label(self.publish_at)} ({self.date_state})"

    @property
    def status_label(self) -> str:
        """The status as staff read it: an approved release whose time has come is "Published"."""
        if self.status == self.Status.SCHEDULED and self.is_public:
            return str(self.Status.PUBLISHED.label)
        return self.get_status_display()

    @property
    def status_phrase(self) -> str:
        """The status in a sentence, as staff read it: "a draft release", "a release in review"."""
        if self.status == self.Status.SCHEDULED and self.is_public:
            return self.STATUS_PHRASES[self.Status.PUBLISHED]
        return self.STATUS_PHRASES[self.status]

    @property
    def is_public(self) -> bool:
        return (
            self.status in self.PUBLIC_STATUSES
            and self.publish_at is not None
            and self.publish_at <= timezone.now()
        )

    @property
    def marked_late_by(self) -> int:
        """Whole seconds after its time the release was marked published, when more than
        NEWSROOM_LATE_SECONDS (its warming and email alerts went out that late: publishers are told,
        and its page says so); 0 otherwise. It was public from its time whatever was marked."""
        if self.published_at is None or self.publish_at is None:
            return 0
        late = (self.published_at - self.publish_at).total_seconds()
        return max(1, int(late)) if late > settings.NEWSROOM_LATE_SECONDS else 0

    @property
    def is_out(self) -> bool:
        """Public, or withdrawn after it was (its permanent address keeps the notice)."""
        return self.status == self.Status.WITHDRAWN or self.is_public

    @property
    def cache_scope(self) -> str:
        """The public cache's name for the pages that show this release's figures, text and files
        (its own, and the next release's, which compares with it)."""
        return f"release:{self.pk}"

    @property
    def files_scope(self) -> str:
        """The public cache's name for what shows the sizes of this release's files (its page), so
        recording a size moves on that page and not the files themselves."""
        return f"release-files:{self.pk}"

    def previous(self, queryset=None) -> Release | None:
        """The release before this one among `queryset` (public ones by default)."""
        queryset = Release.objects.public() if queryset is None else queryset
        return queryset.filter(period_date__lt=self.period_date).order_by("-period_date").first()

    def next(self, queryset=None) -> Release | None:
        queryset = Release.objects.public() if queryset is None else queryset
        return queryset.filter(period_date__gt=self.period_date).order_by("period_date").first()

    def figure_values(self) -> dict[str, formatting.FigureValue]:
        """This release's figures keyed by metric slug, ready for wording."""
        return {figure.metric.slug: figure.as_value() for figure in self.figures.select_related("metric")}

    @property
    def statistics_status(self) -> StatisticsStatus:
        """The status as the page, PDF, feed and API word it, with where it is explained."""
        return StatisticsStatus(self.designation)

    def clean(self):
        # Browsers send line breaks as \r\n: store them as \n, so a page saved unchanged is unchanged.
        self.summary, self.notes = one_line_ending(self.summary), one_line_ending(self.notes)
        self.statistician_name = self.statistician_name.strip()
        if self.statistician_name and not self.statistician_email:
            raise ValidationError(
                {"statistician_email": "Give the lead statistician’s email, so readers can ask them."}
            )
        if not self.statistician_name and (self.statistician_email or self.statistician_phone):
            raise ValidationError(
                {"statistician_name": "Name the lead statistician these contact details belong to."}
            )

    def paragraphs(self) -> list[str]:
        return [p.strip() for p in PARAGRAPH_BREAK.split(one_line_ending(self.notes)) if p.strip()]


class Figure(models.Model):
    Qualifier = Qualifier

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="figures")
    metric = models.ForeignKey(
        Metric,
        on_delete=models.PROTECT,
        related_name="figures",
        help_text="What this figure measures.",
    )
    value = models.DecimalField(
        max_digits=20,
        decimal_places=4,
        help_text="The exact figure, without commas or symbols, e.g. 306774292 or 85.",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, editable=False)
    as_of = models.DateField(
        "as of",
        null=True,
        blank=True,
        help_text="Only if the figure is correct as of a different day from the release period.",
    )
    qualifier = models.CharField(
        max_length=15,
        choices=Qualifier.choices,
        default=Qualifier.AUTO,
        blank=True,
        help_text=(
            "The word before a rounded figure: “over 300 million”, “almost 500,000”. "
            "Automatic says “over” when the figure was rounded down."
        ),
    )
    note = models.CharField(
        max_length=300, blank=True, help_text="A footnote shown with the figure in tables and downloads."
    )
    is_confirmed = models.BooleanField(
        "confirmed",
        default=True,
        help_text=(
            "Copied from last week’s release and not yet updated while unticked. Change the value or tick "
            "this to confirm it; a release cannot be submitted while any figure is unconfirmed."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["metric__programme__display_order", "metric__display_order", "metric__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "metric"],
                name="figure_one_per_release_metric",
                violation_error_message="This release already has a figure for that metric.",
            ),
            models.CheckConstraint(
                condition=Q(value__gte=0),
                name="figure_value_not_negative",
                violation_error_message="A figure cannot be negative.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100),
                name="figure_percent_at_most_100",
                violation_error_message="A percentage must be between 0 and 100.",
            ),
            models.CheckConstraint(
                condition=Q(value__lt=FIGURE_LIMIT),
                name="figure_value_below_limit",
                violation_error_message=BELOW_LIMIT,
            ),
        ]

    def __str__(self):
        return f"{self.metric}: {self.display}" if self.metric_id else "New figure"

    def save(self, *args, **kwargs):
        self.kind = self.metric.kind
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        if self.metric_id:
            self.kind = self.metric.kind
        if self.value is not None:
            if self.value < 0:
                errors["value"] = "A figure cannot be negative."
            elif self.kind == Kind.PERCENT and self.value > 100:
                errors["value"] = f"{formatting.grouped(self.value)} is not a percentage: use 0 to 100."
            elif self.value >= FIGURE_LIMIT:
                errors["value"] = too_large(self.value)
        if self.as_of and self.release_id and self.as_of > self.release.period_date:
            errors["as_of"] = (
                f"The “as of” date {formatting.as_of(self.as_of)} is after the release period "
                f"({formatting.as_of(self.release.period_date)})."
            )
        if errors:
            raise ValidationError(errors)

    def as_value(self) -> formatting.FigureValue:
        return formatting.FigureValue(
            value=self.value, kind=self.kind, qualifier=self.qualifier, as_of=self.as_of
        )

    @property
    def display(self) -> str:
        return formatting.exact(self.value, kind=self.kind)


class Statement(models.Model):
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="statements")
    programme = models.ForeignKey(
        Programme,
        on_delete=models.PROTECT,
        related_name="statements",
        help_text="The programme heading this bullet appears under.",
    )
    order = models.PositiveIntegerField(
        default=0, help_text="Position under the programme heading: lower first."
    )
    text = models.TextField(
        help_text=(
            "The bullet as the public reads it. Put figures in as placeholders: "
            "{metric-slug} gives the exact figure (306,774,292), {metric-slug|rounded} the rounded "
            "wording (over 300 million), {metric-slug|as_of} the figure’s “as of” date. "
            "Also |percent and |money."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["programme__display_order", "programme__name", "order", "pk"]

    def __str__(self):
        return self.text[:80]

    def clean(self):
        self.text = one_line_ending(self.text)
        if not self.release_id or not self.text:
            return
        # The admin sets `pending_figures` to the figures submitted with the statement.
        figures = getattr(self, "pending_figures", None)
        check_placeholders(self.text, self.release.figure_values() if figures is None else figures)

    def render(self, figures: dict[str, formatting.FigureValue]) -> str:
        return formatting.render_statement(self.text, figures)


def check_placeholders(text: str, figures: dict[str, formatting.FigureValue]) -> None:
    """Refuse a statement whose placeholders cannot all be filled from `figures`."""
    slugs = {p.slug for p in formatting.placeholders(text)}
    known = set(Metric.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    found = formatting.problems(text, figures, known)
    if found:
        raise ValidationError({"text": found})


# The public records a release's life leaves (corrections, files built, moved dates), and the
# pre-release access ledger: their own modules, the same app.
from stats.models.prerelease import (  # noqa: E402
    PreReleaseAccess,
    PreReleaseBreach,
    PreReleaseGrant,
    new_access_token,
)
from stats.models.records import (  # noqa: E402
    Correction,
    Explanation,
    ReleaseDateChange,
    ReleaseFile,
)

__all__ = [
    "Correction",
    "Explanation",
    "Figure",
    "Kind",
    "Metric",
    "PreReleaseAccess",
    "PreReleaseBreach",
    "PreReleaseGrant",
    "Programme",
    "Qualifier",
    "Release",
    "ReleaseDateChange",
    "ReleaseFile",
    "Statement",
    "check_placeholders",
    "new_access_token",
]
