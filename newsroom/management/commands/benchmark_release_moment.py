"""The release moment with numbers: the first reader's wait with and without warming, and alerts a second.

Each figure is printed with the baseline measured in the same run (these machines are noisy): the
first request after the second with warming off is the baseline for warming on; plain emails sent
over one SMTP connection are the baseline for alerts. Alerts are measured with the pace limit off
(what the sender itself manages), at the release second (how long after it the first alert
leaves), and at the default limit (whether the configured pace is reached). On SQLite the scratch
database is a file, as the embedded default's is.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

from django.core.cache import cache
from django.core.mail import EmailMessage, get_connection
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

PAGES = ("/statistics/", "/", "/feed/")


class _Inbox:
    """A local SMTP server in a process of its own, as a mail server is: it takes no time from the
    sender's. Counts what it receives, and when the first message since the count was reset came."""

    def __init__(self, port: int):
        context = multiprocessing.get_context("fork")
        self._count, self._first_at = context.Value("l", 0), context.Value("d", 0.0)
        self._stop = context.Event()
        self.process = context.Process(target=self._serve, args=(port,), daemon=True)

    def __enter__(self):
        self.process.start()
        time.sleep(0.5)  # listening
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self.process.join(timeout=10)

    def _serve(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").disabled = True  # aiosmtpd's line per command
        count, first_at = self._count, self._first_at

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with count.get_lock():
                    if count.value == 0:
                        first_at.value = time.time()
                    count.value += 1
                return "250 OK"

        controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        controller.start()
        self._stop.wait()
        controller.stop()

    @property
    def count(self) -> int:
        return self._count.value

    @count.setter
    def count(self, value: int) -> None:
        self._count.value = value

    @property
    def first_at(self) -> float:
        return self._first_at.value


class Command(BaseCommand):
    help = (
        "In a scratch database: the first reader's request at a release's second with cache warming on "
        "and off, and email alerts sent a second to a local SMTP server against plain emails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=3, help="Releases timed per mode (median).")
        parser.add_argument("--subscribers", type=int, default=5000)

    def handle(self, *args, rounds, subscribers, **options):
        try:
            import aiosmtpd  # noqa: F401
        except ImportError as error:
            raise CommandError("aiosmtpd (a dev dependency) runs the local SMTP server.") from error
        import socket

        with socket.socket() as probe:  # a free port for the local SMTP server
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        logging.getLogger("newsroom.requests").setLevel(logging.WARNING)
        with _Inbox(port) as inbox:
            self.in_scratch_database(port, inbox, rounds=rounds, subscribers=subscribers)

    def in_scratch_database(self, port: int, inbox: _Inbox, *, rounds: int, subscribers: int) -> None:
        old_name = connection.settings_dict["NAME"]
        scratch = tempfile.TemporaryDirectory()
        if connection.vendor == "sqlite":  # a file, with the embedded default's settings (WAL)
            connection.settings_dict["TEST"]["NAME"] = str(Path(scratch.name) / "benchmark.sqlite3")
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            with override_settings(
                PUBLIC_CACHE_SECONDS=300,
                DEBUG=False,
                ALLOWED_HOSTS=["testserver"],
                NEWSROOM_SITE_URL="http://testserver",
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=port,
                EMAIL_USE_TLS=False,
                NEWSROOM_ALERTS_PER_SECOND=1_000_000,
                TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}},
            ):
                self.run(rounds=rounds, subscribers=subscribers, inbox=inbox)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
            scratch.cleanup()

    def say(self, text: str = "") -> None:
        self.stdout.write(text)

    def run(self, *, rounds: int, subscribers: int, inbox: _Inbox) -> None:
        from stats.demo.history import generate_history
        from stats.demo.seed import load_seed

        load_seed()
        generate_history(weeks=52)
        self.say(f"Scratch {connection.vendor} database, seed and a year of weekly history\n")

        first = {"off": [], "on": []}
        for _ in range(rounds):
            for mode in ("off", "on"):
                first[mode].append(self.first_reader(warm=mode == "on"))
        self.say("First reader at the release second (median of each page's first request)")
        base = statistics.median(first["off"])
        for mode in ("off", "on"):
            ms = statistics.median(first[mode])
            self.say(f"  warming {mode:3}  {ms:8.1f} ms  ({ms / base:4.2f} × warming off)")
        self.say()
        self.alerts(subscribers, inbox)

    @staticmethod
    def coming_release(seconds: float = 1):
        """A copy of the latest release, scheduled `seconds` ahead."""
        from stats.models import Release
        from stats.publishing import public

        latest = Release.objects.public().order_by("-period_date").first()
        figures, statements = list(latest.figures.all()), list(latest.statements.all())
        with transaction.atomic():
            latest.pk = None
            latest.period_date += dt.timedelta(days=7)
            latest.status = Release.Status.SCHEDULED
            latest.publish_at = timezone.now() + dt.timedelta(seconds=seconds)
            latest.published_at = latest.went_out_at = None
            latest.save()
            for row in figures + statements:
                row.pk, row.release = None, latest
                row.save()
            public.release_listed()  # as approving it says: on the calendar, out at its second
        return latest

    def first_reader(self, *, warm: bool) -> float:
        """Schedule a copy of the latest release a moment ahead; at its second run the worker's part
        (warming or not), then time each page's first anonymous request."""
        from stats.publishing.services import publish_due_releases
        from stats.publishing.warming import warm_public_cache

        latest = self.coming_release()
        cache.clear()
        Client().get("/")  # the site as it was a moment before: its cache state in place
        time.sleep(max(0.0, (latest.publish_at - timezone.now()).total_seconds()) + 0.05)
        publish_due_releases()
        if warm:
            warm_public_cache(latest)
        times = []
        reader = Client()
        for path in (latest.get_absolute_url(), *PAGES):
            began = time.perf_counter()
            response = reader.get(path)
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, path
        return statistics.median(times)

    def alerts(self, subscribers: int, inbox: _Inbox) -> None:
        from alerts.models import Subscriber
        from stats.models import Release
        from stats.publishing.services import AT_ITS_MOMENT, publish_due_releases
        from stats.publishing.tasks import follow_up

        now = timezone.now()
        Subscriber.objects.bulk_create(
            Subscriber(email=f"reader{n}@example.org", every_release=True, confirmed_at=now)
            for n in range(subscribers)
        )
        self.say(f"Email alerts to {subscribers} subscribers, local SMTP server (aiosmtpd, its own process)")
        inbox.count = 0
        began = time.perf_counter()
        with get_connection() as mail:
            mail.send_messages(
                [
                    EmailMessage("Plain", "The same size of news.", None, [f"reader{n}@example.org"])
                    for n in range(subscribers)
                ]
            )
        plain = subscribers / (time.perf_counter() - began)
        assert inbox.count == subscribers
        self.say(f"  plain emails, one connection          {plain:8.0f} /s  (baseline)")

        release = Release.objects.public().order_by("-period_date").first()
        alerts = self.alerts_a_second(release, subscribers, inbox)
        self.say(
            f"  release alerts, no pace limit         {alerts:8.0f} /s  ({alerts / plain:4.2f} × baseline)"
        )

        # At the second, as the worker runs it: publish, warm the release's page, send, warm the rest.
        follow_up()  # the releases timed above: followed up now, their alerts not sent (no tasks run)
        coming = self.coming_release(seconds=1)
        inbox.count = 0
        with override_settings(
            TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
        ):
            time.sleep(max(0.0, (coming.publish_at - timezone.now()).total_seconds()))
            publish_due_releases(how=AT_ITS_MOMENT)
            follow_up()
        late = inbox.first_at - coming.publish_at.timestamp()
        assert inbox.count == subscribers, inbox.count
        self.say(f"  first alert after the release second  {late:8.2f} s")

        limit = 20.0  # the default NEWSROOM_ALERTS_PER_SECOND
        few = int(limit * 5)
        Subscriber.objects.filter(pk__in=Subscriber.objects.order_by("pk").values("pk")[few:]).delete()
        coming = self.coming_release(seconds=0)
        publish_due_releases(how=AT_ITS_MOMENT)
        with override_settings(NEWSROOM_ALERTS_PER_SECOND=limit):
            paced = self.alerts_a_second(coming, few, inbox)
        self.say(
            f"  release alerts at the default limit   {paced:8.1f} /s  ({paced / limit:4.2f} × {limit:g} /s)"
        )

    @staticmethod
    def alerts_a_second(release, subscribers: int, inbox: _Inbox) -> float:
        """Send `release`'s alerts to every subscriber; how many a second reached the mail server."""
        from alerts.sending import send_release_alerts

        inbox.count = 0
        began = time.perf_counter()
        summary = send_release_alerts(release.pk)
        rate = summary.sent / (time.perf_counter() - began)
        assert summary.sent == subscribers == inbox.count, summary
        return rate
