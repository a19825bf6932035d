"""Atom feed of public releases."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join

from stats.models import Release
from stats.outputs import charts
from stats.outputs.pdfs import TREND_RELEASES
from stats.selectors import headline_trends

FEED_LENGTH = 30


class ReleaseFeed(Feed):
    feed_type = Atom1Feed
    title = f"{settings.NEWSROOM_ORGANISATION} deployment statistics"
    subtitle = "Weekly deployment statistics, newest first."
    author_name = settings.NEWSROOM_ORGANISATION

    def link(self):
        return reverse("statistics:archive")

    def items(self):
        """The newest releases, each with its headline charts in words (two queries in all).

        The charts are the release PDF's: each programme's headline measure over the last
        TREND_RELEASES releases up to the release, described by charts.describe.
        """
        window = list(Release.objects.public().order_by("-period_date")[: FEED_LENGTH + TREND_RELEASES - 1])
        trends = headline_trends(window, last=TREND_RELEASES)
        releases = window[:FEED_LENGTH]
        for release in releases:
            release.headline_charts = [
                (
                    trend.programme_name,
                    charts.describe(trend.points, title=trend.metric_name, kind=trend.kind),
                )
                for trend in trends.get(release.pk, [])
            ]
        return releases

    def item_title(self, item):
        return item.heading + (" (synthetic demonstration data)" if item.is_synthetic else "")

    def item_description(self, item):
        """The statistics' status, the summary, then each programme's headline chart in words (HTML,
        escaped here)."""
        status = format_html("<p>Status: {}.</p>", item.statistics_status.label)
        summary = item.summary or f"Deployment statistics for the week commencing {item.period_label}."
        charts_in_words = format_html_join(
            "", "<li><strong>{}</strong>: {}</li>", getattr(item, "headline_charts", [])
        )
        if not charts_in_words:
            return format_html("{}<p>{}</p>", status, summary)
        return format_html(
            "{}<p>{}</p><p>Headline figures, last {} releases:</p><ul>{}</ul>",
            status,
            summary,
            TREND_RELEASES,
            charts_in_words,
        )

    def item_categories(self, item):
        """The statistics' status as an Atom category, so a reader can filter on it."""
        return [item.statistics_status.label]

    def item_pubdate(self, item):
        return item.publish_at

    def item_updateddate(self, item):
        return max(item.publish_at, item.updated_at)

    def item_guid(self, item):
        return f"tag:newsroom,{item.period_date.isoformat()}:release"

    item_guid_is_permalink = False
