from django.http import Http404
from django.shortcuts import get_object_or_404
from django.views.generic import DetailView

from .models import Release
from .presentation import build_release_document


class ReleaseDetailView(DetailView):
    """A release by its period date, or the latest public one."""

    template_name = "statistics/release_detail.html"
    context_object_name = "release"

    def get_queryset(self):
        return Release.objects.public().select_related("lead_contact")

    def get_object(self, queryset=None):
        queryset = queryset if queryset is not None else self.get_queryset()
        period = self.kwargs.get("period")
        if period is None:
            release = queryset.order_by("-period_date").first()
            if release is None:
                raise Http404("No release has been published yet.")
            return release
        return get_object_or_404(queryset, period_date=period)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["document"] = build_release_document(self.object, visible=self.get_queryset())
        context["is_latest"] = "period" not in self.kwargs
        return context


# --- publishing workflow: preview, calendar, revisions ---------------------------------

from django.db.models import Q  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.views.generic import ListView, TemplateView  # noqa: E402

from . import ukclock  # noqa: E402
from .models import Correction, ReleaseDateChange  # noqa: E402


class ReleasePreviewView(ReleaseDetailView):
    """Any release exactly as the public will see it at its publish time; staff only, never cached."""

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not (user.is_active and user.is_staff and user.has_perm("statistics.view_release")):
            raise Http404("No such page.")
        response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def get_queryset(self):
        # The one place preview widens what is visible: this release, plus every release
        # that will be public by its publish time (so previous/next read as they will then).
        release = get_object_or_404(Release.objects.only("pk", "publish_at"), pk=self.kwargs["pk"])
        moment = max(release.publish_at or timezone.now(), timezone.now())
        public_then = Release.objects.public(at=moment).values("pk")
        return Release.objects.filter(Q(pk=release.pk) | Q(pk__in=public_then)).select_related("lead_contact")

    def get_object(self, queryset=None):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["is_latest"] = False
        context["is_preview"] = True
        context["preview_publish_uk"] = ukclock.uk_label(self.object.publish_at)
        return context


class ReleaseCalendarView(TemplateView):
    """Coming release dates (provisional or confirmed), changed dates and cancellations; never a figure."""

    template_name = "statistics/release_calendar.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        upcoming = Release.objects.announced().only(
            "period_date", "title", "publish_at", "date_confirmed", "status"
        )
        changes = (
            ReleaseDateChange.objects.select_related("release")
            .only(
                "release__period_date",
                "release__title",
                "old_publish_at",
                "new_publish_at",
                "reason",
                "changed_at",
            )
            .order_by("-changed_at")
        )
        context["entries"] = [
            {
                "heading": release.heading,
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
                "heading": change.release.heading,
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
        context["withdrawn"] = (
            Release.objects.filter(status=Release.Status.WITHDRAWN)
            .only("period_date", "title", "status_reason", "updated_at")
            .order_by("-period_date")
        )
        return context
