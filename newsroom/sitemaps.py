"""sitemap.xml: public releases, programmes, metrics and the fixed pages."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from stats.models import Metric, Programme, Release


class ReleaseSitemap(Sitemap):
    changefreq = "yearly"
    limit = 5000

    def items(self):
        return Release.objects.public().order_by("-period_date").only("period_date", "updated_at")

    def lastmod(self, item):
        return item.updated_at


class ProgrammeSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Programme.objects.active()


class MetricSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Metric.objects.filter(programme__is_active=True)


class ArchiveYearSitemap(Sitemap):
    """The archive's page for each year with a public release."""

    changefreq = "weekly"

    def items(self):
        return Release.objects.public().dates("period_date", "year", order="DESC")

    def location(self, item):
        return reverse("statistics:archive-year", args=[item.year])


class PageSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return ["home", "statistics:release-latest", "statistics:archive", "statistics:compliance"]

    def location(self, item):
        return reverse(item)


sitemaps = {
    "pages": PageSitemap,
    "releases": ReleaseSitemap,
    "archive": ArchiveYearSitemap,
    "programmes": ProgrammeSitemap,
    "metrics": MetricSitemap,
}
