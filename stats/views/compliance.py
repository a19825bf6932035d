"""The statement of compliance with the Code of Practice for Statistics (/statistics/compliance/)."""

from __future__ import annotations

from django.conf import settings
from django.views.generic import TemplateView

from stats.designations import every_status
from stats.models import Release
from stats.views.pages import statistics_crumbs

CODE_URL = "https://code.statisticsauthority.gov.uk/"
OSR_URL = "https://osr.statisticsauthority.gov.uk/"


class ComplianceView(TemplateView):
    """What each statistics status means, how the releases follow the Code, and pre-release access."""

    template_name = "statistics/compliance.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        latest = Release.objects.public().order_by("-period_date").only("period_date", "designation").first()
        context.update(
            statuses=every_status(),
            latest=latest,
            latest_status=latest.statistics_status if latest else None,
            pre_release_hours=getattr(settings, "PRE_RELEASE_HOURS", 24),
            two_pairs_of_eyes=settings.NEWSROOM_TWO_PAIRS_OF_EYES,
            organisation=settings.NEWSROOM_ORGANISATION,
            code_url=CODE_URL,
            osr_url=OSR_URL,
            breadcrumbs=statistics_crumbs(),
        )
        return context
