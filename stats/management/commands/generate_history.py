from django.core.management.base import BaseCommand, CommandError

from stats.demo.history import generate_history


class Command(BaseCommand):
    help = "Add N weeks of synthetic, clearly labelled releases before the earliest release."

    def add_arguments(self, parser):
        parser.add_argument("--weeks", type=int, default=104, help="How many weekly releases to add.")
        parser.add_argument("--seed", type=int, default=2010, help="Random seed, for repeatable data.")

    def handle(self, *args, weeks, seed, **options):
        if weeks < 1:
            raise CommandError("--weeks must be at least 1.")
        try:
            releases = generate_history(weeks=weeks, seed=seed)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {len(releases)} synthetic releases, "
                f"{releases[-1].period_date} to {releases[0].period_date}."
            )
        )
