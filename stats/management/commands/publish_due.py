from django.core.management.base import BaseCommand

from stats.publishing.services import publish_due_releases
from stats.wording import ukclock


class Command(BaseCommand):
    help = (
        "Mark published every approved release whose publish time has passed (the worker does this at "
        "each publish time; run this to catch up after an outage). They were public from their time."
    )

    def handle(self, *args, **options):
        marked = publish_due_releases()
        for release in marked:
            self.stdout.write(
                f"{release}: published (due {ukclock.uk_label(release.publish_at)}, "
                f"marked {ukclock.uk_label(release.published_at)})"
            )
        if not marked:
            self.stdout.write("No release is due.")
