from django.core.management.base import BaseCommand

from stats.demo.seed import load_seed


class Command(BaseCommand):
    help = "Load the w/c 3 March 2010 deployment statistics release and media contacts. Safe to re-run."

    def handle(self, *args, **options):
        release = load_seed()
        self.stdout.write(self.style.SUCCESS(f"Seed release ready: {release.get_absolute_url()}"))
