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


# PDF downloads: the release summary and the programme report, cached per release version.
from django.http import HttpResponse  # noqa: E402
from django.utils.cache import get_conditional_response  # noqa: E402

from .models import Programme  # noqa: E402
from .pdf_files import programme_pdf_file, programme_web_url, release_pdf_file, release_web_url  # noqa: E402


def _pdf_response(request, file, *, public: bool = True):
    response = get_conditional_response(request, etag=file.etag)
    if response is None:
        response = HttpResponse(file.content, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{file.filename}"'
    response["ETag"] = file.etag
    response["Cache-Control"] = "public, max-age=300" if public else "private, no-store"
    return response


def release_pdf(request, period):
    """The release summary as a PDF: public releases, or any release as a staff preview."""
    visible = Release.objects.public()
    release = visible.filter(period_date=period).first()
    preview = release is None and request.user.has_perm("statistics.view_release")
    if preview:
        release = Release.objects.filter(period_date=period).first()
        # Compared with and charted against what the public sees, plus the release itself.
        visible = visible | Release.objects.filter(pk=getattr(release, "pk", None))
    if release is None:
        raise Http404("No release has been published for that date.")
    file = release_pdf_file(release, visible=visible, url=release_web_url(request, release), preview=preview)
    return _pdf_response(request, file, public=not preview)


def programme_pdf(request, slug):
    """A programme's metrics over the whole public archive, as a PDF."""
    programme = get_object_or_404(Programme.objects.active(), slug=slug)
    web = programme_web_url(programme)
    url = request.build_absolute_uri(web) if web else ""
    return _pdf_response(request, programme_pdf_file(programme, visible=Release.objects.public(), url=url))
