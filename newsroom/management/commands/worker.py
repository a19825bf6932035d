"""The task worker with its catch-up: `manage.py worker` (what `make run` starts beside the site).

Starts the periodic catch-up (unless one is already on its way), then runs the database backend's
worker, `db_worker`. With TASKS_BACKEND=rq run
`manage.py rqworker --with-scheduler --job-class django_tasks_rq.Job` instead (the scheduler moves
tasks due later, the release moments and the catch-up, onto the queue at their time), and
`manage.py worker --catch-up-only` once at each deployment to start the catch-up.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from stats.publishing.tasks import schedule_catch_up


class Command(BaseCommand):
    help = "Run the task worker (release moments, email alerts) and keep the catch-up going."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=0.5, help="Seconds between looks for due tasks."
        )
        parser.add_argument("--catch-up-only", action="store_true", help="Start the catch-up, then exit.")
        parser.add_argument("--batch", action="store_true", help="Run what is due now, then exit.")

    def handle(self, *args, interval, catch_up_only, batch, **options):
        started = schedule_catch_up()
        self.stdout.write("Catch-up started." if started else "Catch-up already on its way.")
        if catch_up_only:
            return
        if settings.TASKS_BACKEND != "database":
            raise CommandError(
                f"TASKS_BACKEND is {settings.TASKS_BACKEND!r}: run its own worker "
                "(rq: manage.py rqworker --with-scheduler --job-class django_tasks_rq.Job)."
            )
        worker_options = {"interval": interval, "startup_delay": False, "reload": False}
        call_command("db_worker", batch=batch, **worker_options)
