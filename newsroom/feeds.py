"""Atom feed of public releases."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from stats.models import Release

FEED_LENGTH = 30


class ReleaseFeed(Feed):
    feed_type = Atom1Feed
    title = f"{settings.NEWSROOM_ORGANISATION} deployment statistics"
    subtitle = "Weekly deployment statistics, newest first."
    author_name = settings.NEWSROOM_ORGANISATION

    def link(self):
        return reverse("statistics:archive")

    def items(self):
        return Release.objects.public().order_by("-period_date")[:FEED_LENGTH]

    def item_title(self, item):
        return item.heading + (" (synthetic demonstration data)" if item.is_synthetic else "")

    def item_description(self, item):
        return item.summary or f"Deployment statistics for the week commencing {item.period_label}."

    def item_pubdate(self, item):
        return item.publish_at

    def item_updateddate(self, item):
        return max(item.publish_at, item.updated_at)

    def item_guid(self, item):
        return f"tag:newsroom,{item.period_date.isoformat()}:release"

    item_guid_is_permalink = False
