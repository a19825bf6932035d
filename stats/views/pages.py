from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.db.models import CharField, Count, Max, Min, Q
from django.db.models.functions import Cast, Substr
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.views.generic import DetailView, ListView, TemplateView
from django_tables2 import RequestConfig

from common.cache import declare_scopes
from common.http import read_only
from contacts.models import MediaContact
from stats.models import Correction, Figure, Metric, Programme, Release, ReleaseDateChange
from stats.outputs import charts, downloads, metadata, payloads
from stats.outputs.files import (
    all_data_csv_bytes,
    all_data_rows,
    record_series_sizes,
    record_sizes,
    release_files,
    series_sizes,
    sizes_of,
)
from stats.outputs.pdfs import (
    programme_pdf_file,
    programme_web_url,
    release_pdf_file,
    release_web_url,
)
from stats.outputs.tables import SeriesTable
from stats.selectors import build_release_document, series_for
from stats.views import reuse
from stats.vintages import BadAsOf
from stats.wording import formatting, qualified, ukclock

# How many recent releases the small trend charts on a programme page cover.
PROGRAMME_CHART_RELEASES = 52


class ReleaseDetailView(TemplateView):
    """A release by its period date, or the latest public one."""

    template_name = "statistics/release_detail.html"
    is_preview = False

    def get_queryset(self):
        return Release.objects.public().select_related("lead_contact")

    def get_object(self, queryset=None):
        queryset = self.get_queryset() if queryset is None else queryset
        period = self.kwargs.get("period")
        if period is None:
            release = queryset.order_by("-period_date").first()
            if release is None:
                raise Http404("No release has been published yet.")
            return release
        return get_object_or_404(queryset, period_date=period)

    def get(self, request, *args, **kwargs):
        try:
            page = self.page()
        except Http404:
            # A withdrawn release keeps its permanent address, with the reason and no figures.
            period = self.kwargs.get("period")
            withdrawn = Release.objects.withdrawn().filter(period_date=period).first() if period else None
            if withdrawn is None:
                raise
            context = {
                "release": withdrawn,
                "breadcrumbs": statistics_crumbs(("All releases", reverse("statistics:archive"))),
            }
            return render(request, "statistics/release_withdrawn.html", context, status=410)
        return self.render_to_response(self.get_context_data(**page))

    def page(self) -> dict:
        """The page's context, rendered from the figures (the public page cache keeps whole pages)."""
        return self.build_page(scoped=True)

    def build_page(self, *, scoped: bool = False) -> dict:
        """The release's heading, description and everything its body shows; `scoped`: the public
        page cache is told which releases the page shows, before anything of them is read."""
        release = self.get_object()
        if scoped:
            declare_scopes([release.cache_scope, release.files_scope])
        document = build_release_document(release, visible=self.get_queryset())
        return {
            "heading": release.heading,
            "summary": release.summary,
            "release": release,
            "document": document,
            "downloads": release_downloads(document, request=self.request),
            **self.live_parts(release, document.previous, document.next),
            **self.body_context(release),
        }

    def live_parts(self, release, previous, following) -> dict:
        """What changes with time rather than with an edit: the links either side, the caption, the
        next release announced (for a preview, the next once it is out)."""
        moment = max(release.publish_at or timezone.now(), timezone.now())
        return {
            "is_latest": "period" not in self.kwargs and not self.is_preview,
            "next_release": Release.objects.exclude(pk=release.pk).next_announced(at=moment),
            "nav": release_nav(previous, following),
        }

    def body_context(self, release) -> dict:
        return {}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The latest release is "Statistics" itself; a dated one sits under all releases.
        parents = () if "period" not in self.kwargs else (("All releases", reverse("statistics:archive")),)
        context["breadcrumbs"] = statistics_crumbs(*parents)
        return context


def release_nav(previous, following) -> dict:
    """Links to the releases either side of this one."""
    nav = {}
    for side, other in (("previous", previous), ("next", following)):
        if other is not None:
            nav[f"{side}_href"] = other.get_absolute_url()
            nav[f"{side}_label"] = f"w/c {other.period_label}"
    return nav


@dataclass(frozen=True)
class Download:
    """One entry of a page's download list: 'CSV, 3 KB'."""

    label: str
    url: str
    format: str
    size: int | None = None
    describedby: str = ""  # a CSV's CSV on the Web metadata

    @property
    def size_label(self) -> str:
        return downloads.human_size(self.size) if self.size is not None else ""


def release_downloads(document, *, request) -> list[Download]:
    """The download list on a release page, with the sizes of the files as last built.

    Never builds a file to learn its size: files are built when their release is approved or
    corrected (`stats.publishing.tasks.build_files_after_commit`) or first downloaded.
    """
    sizes = sizes_of(document.release)
    period = document.period_date
    labels = {"pdf": "Release summary"} | {
        name: data_format.label for name, data_format in downloads.DATA_FORMATS.items()
    }
    found = [
        Download(
            label,
            reverse("statistics:release-pdf", args=[period])
            if fmt == "pdf"
            else reverse("statistics:release-download", args=[period, fmt]),
            fmt.upper(),
            sizes.get(fmt),
            reverse("statistics:release-csvw", args=[period]) if fmt == "csv" else "",
        )
        for fmt, label in labels.items()
    ]
    excel = reverse("statistics:release-download-excel", args=[period])
    zipped = Download(ZIP_LABEL, reverse("statistics:release-zip", args=[period]), "ZIP", sizes.get("zip"))
    return [*_with_excel_csv(found, excel, sizes.get("csv")), zipped]


ZIP_LABEL = "Figures with their column descriptions, notes and licence"


def _with_excel_csv(found: list[Download], url: str, csv_size: int | None) -> list[Download]:
    """The list with the CSV for Excel right after the CSV: the same bytes after a 3-byte mark."""
    at = next(i for i, download in enumerate(found) if download.format == "CSV") + 1
    size = csv_size + len(downloads.BOM_BYTES) if csv_size is not None else None
    return [*found[:at], Download(downloads.EXCEL_LABEL, url, "CSV", size), *found[at:]]


def metric_downloads(metric: Metric, *, request) -> list[Download]:
    """The download list on a metric page, with the sizes of the series' files as last built."""
    sizes = series_sizes(metric.slug, base=request.build_absolute_uri("/").rstrip("/"))
    found = [
        Download(
            downloads.DATA_FORMATS[fmt].label,  # the format follows once: "(XLSX, 4 KB)"
            reverse("statistics:metric-download", args=[metric.slug, fmt]),
            fmt.upper(),
            sizes.get(fmt),
            reverse("statistics:metric-csvw", args=[metric.slug]) if fmt == "csv" else "",
        )
        for fmt in ("xlsx", "csv", "json")
    ]
    excel = reverse("statistics:metric-download-excel", args=[metric.slug])
    zip_url = reverse("statistics:metric-zip", args=[metric.slug])
    zipped = Download(ZIP_LABEL, zip_url, "ZIP", sizes.get("zip"))
    return [*_with_excel_csv(found, excel, sizes.get("csv")), zipped]


@read_only
def release_download(request, period, fmt):
    """/statistics/<yyyy-mm-dd>.csv|.xlsx|.json: the figures of one public release (`?as_of=`: as then)."""
    try:
        vintage = reuse.as_of(request)
    except BadAsOf as error:
        return reuse.bad_as_of(error)
    if vintage is not None:
        response = reuse.release_download_then(request, period, fmt, vintage)
    else:
        release = get_object_or_404(Release.objects.public(), period_date=period)
        declare_scopes([release.cache_scope])
        document = build_release_document(release)
        content = release_files(document, request=request)[fmt]
        record_sizes(release, {fmt: len(content)})
        response = downloads.file_response(
            content, filename=f"deployment-statistics-{period:%Y-%m-%d}.{fmt}", fmt=fmt
        )
    if fmt == "csv":
        reuse.described(response, reuse.csvw_url(request, "statistics:release-csvw", period, vintage=vintage))
    return response


class ArchiveView(TemplateView):
    """Public releases, newest first, a year to a page: the latest year at /statistics/archive/, any
    other at /statistics/archive/<year>/, each with every year to go to and how many it holds. A page
    costs the same however long the history grows."""

    template_name = "statistics/archive.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        years = self.years()
        year = kwargs.get("year", years[0]["year"] if years else None)
        if "year" in kwargs and year not in {y["year"] for y in years}:
            raise Http404(f"No release for a week of {year} has been published.")
        context.update(self.list_context(year, years))
        context["title_year"] = year if "year" in kwargs else None
        context["breadcrumbs"] = statistics_crumbs(*([archive_crumb()] if "year" in kwargs else []))
        return context

    @staticmethod
    def years() -> list[dict]:
        """Each year with public releases, newest first, with how many (synthetic ones among them).

        The year is read from the date written out ("2010-03-03"), not taken apart as a date, which
        SQLite does row by row in Python: one cheap query however long the history.
        """
        year = Substr(Cast("period_date", CharField()), 1, 4)
        return [
            {**row, "year": int(row["year"])}
            for row in Release.objects.public()
            .annotate(year=year)
            .values("year")
            .annotate(count=Count("pk"), synthetic=Count("pk", filter=Q(is_synthetic=True)))
            .order_by("-year")
        ]

    @staticmethod
    def list_context(year: int | None, years: list[dict]) -> dict:
        releases = list(
            Release.objects.public()
            .filter(period_date__year=year)
            .order_by("-period_date")
            .only("period_date", "title", "summary", "is_synthetic", "publish_at")
        )
        return {
            "year": year,
            "years": years,
            "releases": releases,
            "release_count": sum(y["count"] for y in years),
            "synthetic_count": sum(y["synthetic"] for y in years),
            "first_year": years[-1]["year"] if years else None,
        }


def archive_crumb() -> tuple[str, str]:
    return "All releases", reverse("statistics:archive")


def statistics_crumbs(*parents) -> list[dict]:
    """Home › Statistics, then the page's parents: never the page itself, never one address twice.

    As the NHS.UK breadcrumb: the trail ends at the page's parent, which a phone shows as "Back to …".
    """
    crumbs = [
        {"text": "Home", "href": "/"},
        {"text": "Statistics", "href": reverse("statistics:release-latest")},
    ]
    return crumbs + [{"text": text, "href": href} for text, href in parents]


def chart_for(metric: Metric, points: list[charts.Point], *, id_prefix: str, **size) -> dict:
    """A metric's series drawn twice (for wide screens and for phones), with its description in words.

    The description is written from the same points as the drawings, so a correction changes both.
    """
    title = metric.name
    description = charts.describe_chart(points, title=title, kind=metric.kind)
    drawing = charts.trend_chart(points, title=title, kind=metric.kind, unit=metric.unit, **size)
    small = charts.small_trend_chart(points, kind=metric.kind, unit=metric.unit)
    return {
        "svg": charts.to_svg(drawing, title=title, description=description.span, id_prefix=id_prefix),
        "small_svg": charts.to_svg(
            small, title=title, description=description.span, id_prefix=f"{id_prefix}-small"
        ),
        "description": description.text,
        # Worded only where a page shows it (the metric page has its own full table).
        "table": lambda: [
            (p.day, qualified.stated(p.value, p.qualifier, kind=metric.kind)) for p in reversed(points)
        ],
    }


class ProgrammeDetailView(DetailView):
    """A programme: each metric's latest value, a small trend chart and a link to its page."""

    template_name = "statistics/programme_detail.html"
    context_object_name = "programme"

    def get_queryset(self):
        return Programme.objects.active()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        metrics = list(self.object.metrics.all())
        series = series_for(metrics, last=PROGRAMME_CHART_RELEASES)
        rows = []
        for metric in metrics:
            points = series[metric.pk]
            latest = points[-1] if points else None
            before = points[-2] if len(points) > 1 else None
            rows.append(
                {
                    "metric": metric,
                    "latest": latest,
                    "latest_display": qualified.stated(latest.value, latest.qualifier, kind=metric.kind)
                    if latest
                    else "",
                    "change": formatting.change(latest.value, before.value, kind=metric.kind)
                    if before
                    else "",
                    "chart": chart_for(
                        metric, points, id_prefix=f"chart-{metric.slug}", width=440, height=200
                    ),
                    "points": points,
                }
            )
        context["rows"] = rows
        context["chart_releases"] = PROGRAMME_CHART_RELEASES
        context["contacts"] = list(MediaContact.objects.active().for_programme(self.object))
        context["breadcrumbs"] = statistics_crumbs()
        return context


class MetricDetailView(DetailView):
    """One metric's full series: a chart and a sortable, paginated table."""

    template_name = "statistics/metric_detail.html"
    context_object_name = "metric"

    def get_queryset(self):
        return Metric.objects.filter(programme__is_active=True).select_related("programme")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        metric = self.object

        context.update(self.series_context(metric))
        context["downloads"] = metric_downloads(metric, request=self.request)
        context["coverage"] = series_coverage(metric)
        context["breadcrumbs"] = statistics_crumbs(
            (metric.programme.name, metric.programme.get_absolute_url())
        )
        return context

    def series_context(self, metric) -> dict:
        points = series_for([metric])[metric.pk]
        previous = {point.day: before.value for before, point in itertools.pairwise(points)}
        figures = (
            Figure.objects.filter(metric=metric, release__in=Release.objects.public())
            .select_related("release")
            .only(
                "value", "kind", "qualifier", "as_of", "note", "release__period_date", "release__is_synthetic"
            )
        )
        table = SeriesTable(figures, previous=previous, caption=f"{metric.name}, by reporting period")
        RequestConfig(self.request).configure(table)
        return {
            "metric": metric,
            "table": table,
            "points": points,
            "latest": points[-1] if points else None,
            "latest_display": (
                qualified.stated(points[-1].value, points[-1].qualifier, kind=metric.kind) if points else ""
            ),
            "chart": chart_for(metric, points, id_prefix="chart-series"),
        }


def series_coverage(metric: Metric) -> metadata.SeriesCoverage | None:
    """The first and last periods of a metric's public figures, and when they came out and last
    changed (one query), or None."""
    days = Figure.objects.filter(metric=metric, release__in=Release.objects.public()).aggregate(
        first=Min("release__period_date"),
        last=Max("release__period_date"),
        published=Min("release__publish_at"),
        out=Max("release__publish_at"),
        changed=Max("release__updated_at"),
    )
    if not days["first"]:
        return None
    modified = max(days["out"], days["changed"]) if days["changed"] else days["out"]
    return metadata.SeriesCoverage(days["first"], days["last"], days["published"], modified)


@read_only
def metric_download(request, slug, fmt):
    """/statistics/metrics/<slug>.csv|.xlsx|.json: one metric's full public series (`?as_of=`: as then)."""
    try:
        vintage = reuse.as_of(request)
    except BadAsOf as error:
        return reuse.bad_as_of(error)
    metric = get_object_or_404(
        Metric.objects.filter(programme__is_active=True).select_related("programme"), slug=slug
    )
    if vintage is not None:
        response = reuse.metric_download_then(request, metric, fmt, vintage)
    else:
        rows = payloads.metric_rows(metric, request=request)
        content = downloads.DATA_FORMATS[fmt].write(
            rows, title=metric.slug, payload=lambda: payloads.series_payload(metric, rows, request=request)
        )
        record_series_sizes(
            metric.slug, {fmt: len(content)}, base=request.build_absolute_uri("/").rstrip("/")
        )
        response = downloads.file_response(content, filename=f"{metric.slug}.{fmt}", fmt=fmt)
    if fmt == "csv":
        metadata_url = reuse.csvw_url(request, "statistics:metric-csvw", metric.slug, vintage=vintage)
        reuse.described(response, metadata_url)
    return response


@read_only
def all_data_csv(request):
    """/statistics/data.csv: every public figure, one tidy row each; from the cache, or streamed."""
    visible = Release.objects.public()
    base = request.build_absolute_uri("/").rstrip("/")
    filename = "deployment-statistics.csv"
    content = all_data_csv_bytes(visible, base=base)
    if content is None:
        response = downloads.streamed_csv(all_data_rows(visible, base=base), filename=filename)
    else:
        response = downloads.file_response(content, filename=filename, fmt="csv")
    return reuse.described(response, reuse.csvw_url(request, "statistics:data-csvw"))


@read_only
def release_download_excel(request, period):
    """/statistics/<yyyy-mm-dd>.excel.csv: the release's CSV for Excel (a byte order mark first)."""
    return downloads.excel_ready(release_download(request, period, "csv"))


@read_only
def metric_download_excel(request, slug):
    """/statistics/metrics/<slug>.excel.csv: the series' CSV for Excel."""
    return downloads.excel_ready(metric_download(request, slug, "csv"))


@read_only
def all_data_csv_excel(request):
    """/statistics/data.excel.csv: every public figure, as a CSV for Excel."""
    return downloads.excel_ready(all_data_csv(request))


def may_preview(user) -> bool:
    """Staff who can see releases may open any of them, page or PDF, as a private preview."""
    return user.is_active and user.is_staff and user.has_perm("statistics.view_release")


def _pdf_response(request, file, *, public: bool = True):
    response = get_conditional_response(request, etag=file.etag)
    if response is None:
        response = HttpResponse(file.content, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{file.filename}"'
    response["ETag"] = file.etag
    response["Cache-Control"] = "public, max-age=300, s-maxage=300" if public else "private, no-store"
    return response


@read_only
def release_pdf(request, period):
    """The release summary as a PDF: public releases, or any release as a staff preview."""
    visible = Release.objects.public()
    release = visible.filter(period_date=period).first()
    preview = release is None and may_preview(request.user)
    if preview:
        release = Release.objects.filter(period_date=period).first()
        if release is not None:
            visible = Release.objects.as_published(release)
    if release is None:
        raise Http404("No release has been published for that date.")
    file = release_pdf_file(release, visible=visible, url=release_web_url(request, release), preview=preview)
    return _pdf_response(request, file, public=not preview)


@read_only
def programme_pdf(request, slug):
    """A programme's metrics over the whole public archive, as a PDF."""
    programme = get_object_or_404(Programme.objects.active(), slug=slug)
    web = programme_web_url(programme)
    url = request.build_absolute_uri(web) if web else ""
    return _pdf_response(request, programme_pdf_file(programme, visible=Release.objects.public(), url=url))


# --- publishing workflow: preview, calendar, revisions ---------------------------------


class ReleasePreviewView(ReleaseDetailView):
    """Any release exactly as the public will see it at its publish time; staff only, never cached."""

    is_preview = True

    def dispatch(self, request, *args, **kwargs):
        if not may_preview(request.user):
            raise Http404("No such page.")
        response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def get_queryset(self):
        release = get_object_or_404(Release.objects.only("pk", "publish_at"), pk=self.kwargs["pk"])
        return Release.objects.as_published(release).select_related("lead_contact")

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def page(self) -> dict:
        return self.build_page()  # staff-only visibility: never from the public cache

    def body_context(self, release) -> dict:
        return {"is_preview": True, "preview_publish_uk": ukclock.uk_label(release.publish_at)}


class ReleaseCalendarView(TemplateView):
    """Coming release dates (provisional or confirmed), changed dates and cancellations; never a figure."""

    template_name = "statistics/release_calendar.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["breadcrumbs"] = statistics_crumbs()
        upcoming = Release.objects.announced().only("period_date", "publish_at", "date_confirmed", "status")
        changes = (
            ReleaseDateChange.objects.select_related("release")
            .only(
                "release__period_date",
                "old_publish_at",
                "new_publish_at",
                "reason",
                "changed_at",
            )
            .order_by("-changed_at")
        )
        context["entries"] = [
            {
                "heading": release.announced_name,
                "period_date": release.period_date,
                "publish_at": release.publish_at,
                "uk": ukclock.uk_label(release.publish_at),
                "utc": ukclock.utc_label(release.publish_at),
                "confirmed": release.date_confirmed,
            }
            for release in upcoming
        ]
        context["changes"] = [
            {
                "heading": change.release.announced_name,
                "was": ukclock.uk_label(change.old_publish_at),
                "now": ukclock.uk_label(change.new_publish_at),
                "cancelled": change.is_cancellation,
                "reason": change.reason,
                "changed_at": change.changed_at,
            }
            for change in changes
        ]
        return context


class RevisionListView(ListView):
    """Every correction to a public release, newest first."""

    template_name = "statistics/revision_list.html"
    context_object_name = "corrections"
    paginate_by = 50

    def get_queryset(self):
        return (
            Correction.objects.filter(release__in=Release.objects.public())
            .select_related("release")
            .order_by("-created_at", "-pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["breadcrumbs"] = statistics_crumbs()
        context["withdrawn"] = (
            Release.objects.filter(status=Release.Status.WITHDRAWN)
            .only("period_date", "title", "status_reason", "updated_at")
            .order_by("-period_date")
        )
        return context
