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
