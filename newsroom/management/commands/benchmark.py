"""Benchmarks with numbers: each figure printed as a ratio to a baseline measured in the same run."""

from __future__ import annotations

import io
import logging
import time
import tracemalloc

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from common.timing import median_ms

PAGES = {
    "home": "/",
    "latest release": "/statistics/",
    "release": "/statistics/2010-03-03/",
    "archive": "/statistics/archive/",
    "programme": "/statistics/programmes/eps/",
    "metric": "/statistics/metrics/eps-messages-total/",
    "search": "/search/?q=prescription",
    "calendar": "/statistics/calendar/",
    "revisions": "/statistics/revisions/",
    "contacts": "/contacts/",
    "feed": "/feed/",
    "sitemap": "/sitemap.xml",
    "release CSV": "/statistics/2010-03-03.csv",
    "release JSON": "/statistics/2010-03-03.json",
    "metric CSV": "/statistics/metrics/eps-messages-total.csv",
    "API releases": "/api/v1/releases/",
}
TIMED = ("release", "metric", "home")
TRIVIAL = "/robots.txt"


class Command(BaseCommand):
    help = (
        "Build a scratch database with the seed release and 1, then 10 years of weekly history, and "
        "print: queries per public page, render times against a trivial view, PDF build against the "
        "HTML page, import rate against bulk_create, and whole-dataset CSV export rate and memory. "
        "Your own database is not touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=15, help="Timed runs per page (median).")
        parser.add_argument("--rows", type=int, default=50_000, help="Rows for the import benchmark.")
        parser.add_argument(
            "--skip-export-100", action="store_true", help="Skip the 100-year CSV export (slow to build)."
        )

    def handle(self, *args, repeat, rows, skip_export_100, **options):
        creation = connection.creation
        old_name = connection.settings_dict["NAME"]
        self.stdout.write(f"Scratch {connection.vendor} database; repeat = {repeat}\n")
        logging.getLogger("newsroom.requests").setLevel(logging.WARNING)
        creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            # Page cache off (every request renders); the ordinary cache stays, as in production.
            with override_settings(PUBLIC_CACHE_SECONDS=0, DEBUG=False, ALLOWED_HOSTS=["testserver"]):
                self.run(repeat=repeat, rows=rows, skip_export_100=skip_export_100)
        finally:
            creation.destroy_test_db(old_name, verbosity=0)

    def say(self, text: str = "") -> None:
        self.stdout.write(text)

    def run(self, *, repeat: int, rows: int, skip_export_100: bool) -> None:
        from stats.demo.history import generate_history
        from stats.demo.seed import load_seed

        load_seed()
        client = Client()
        queries: dict[str, dict[str, int]] = {}
        export: dict[str, tuple[int, float, float]] = {}

        generate_history(weeks=52)
        queries["1 year"] = self.count_queries(client)
        export["1 year"] = self.export(client)
        generate_history(weeks=520 - 52)
        queries["10 years"] = self.count_queries(client)
        export["10 years"] = self.export(client)

        self.say("Queries per public page (must not grow with history)")
        self.say(f"  {'page':16} {'1 year':>7} {'10 years':>9}")
        for name in PAGES:
            one, ten = queries["1 year"][name], queries["10 years"][name]
            self.say(f"  {name:16} {one:7d} {ten:9d}{'' if one == ten else '   <- grew'}")
        grew = [name for name in PAGES if queries["1 year"][name] != queries["10 years"][name]]
        self.say(f"  equal at 1 and 10 years: {'yes' if not grew else 'NO: ' + ', '.join(grew)}\n")

        trivial = median_ms(lambda: client.get(TRIVIAL), repeat)
        self.say(f"Median render time, 10 years of history (baseline: trivial view {TRIVIAL})")
        self.say(f"  {'trivial view':16} {trivial:8.2f} ms   1.0 ×")
        html_ms = {}
        for name in TIMED:
            html_ms[name] = median_ms(lambda path=PAGES[name]: client.get(path), repeat)
            self.say(f"  {name:16} {html_ms[name]:8.2f} ms {html_ms[name] / trivial:5.1f} ×")
        self.say("  with public caching on: the whole page from the page cache, and the body from the")
        self.say("  fragment cache for a reader with a session, whom the page cache passes by")
        with override_settings(PUBLIC_CACHE_SECONDS=300):
            signed_in = Client()
            signed_in.cookies["sessionid"] = "benchmark"  # the page cache passes readers with a session by
            for name, reader in (("release, page", client), ("release, body", signed_in)):
                reader.get(PAGES["release"])  # warm
                ms = median_ms(lambda reader=reader: reader.get(PAGES["release"]), repeat)
                self.say(f"  {name:16} {ms:8.2f} ms {ms / trivial:5.1f} ×")
        self.say()

        self.pdf(html_ms["release"], repeat)
        self.imports(rows)

        if not skip_export_100:
            generate_history(weeks=5200 - 520)
            export["100 years"] = self.export(client)
        _base_rows, base_rate, base_peak = export["1 year"]
        self.say("Whole-dataset CSV export (/statistics/data.csv as streamed; baseline: 1 year)")
        self.say("  (rows are fetched 2,000 at a time, so memory should level off once the data passes that)")
        for name, (count, rate, peak) in export.items():
            self.say(
                f"  {name:10} {count:8,d} rows {rate:10,.0f} rows/s ({rate / base_rate:4.2f} ×) "
                f"peak {peak:6.2f} MB ({peak / base_peak:4.2f} ×)"
            )

    def count_queries(self, client) -> dict[str, int]:
        counts = {}
        for name, path in PAGES.items():
            client.get(path)  # warm: the release page caches its PDF once per version
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path)
                if response.streaming:
                    b"".join(response.streaming_content)
            assert response.status_code == 200, (path, response.status_code)
            counts[name] = len(captured.captured_queries)
        return counts

    def export(self, client) -> tuple[int, float, float]:
        """Rows, rows per second (untraced run) and peak Python memory in MB (traced run)."""

        from stats.models import Release
        from stats.outputs import downloads
        from stats.outputs.files import all_data_rows

        def consume() -> int:
            # The streamed form (data.csv over the size kept whole in the cache), built every time.
            rows = all_data_rows(Release.objects.public(), base="http://testserver")
            response = downloads.streamed_csv(rows, filename="data.csv")
            return sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1

        reset_queries()
        started = time.perf_counter()
        rows = consume()
        elapsed = time.perf_counter() - started
        tracemalloc.start()
        consume()
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return rows, rows / elapsed, peak / 1_000_000

    def pdf(self, html_ms: float, repeat: int) -> None:
        from stats.models import Release
        from stats.outputs.pdfs import build_release_pdf

        visible = Release.objects.public()
        release = visible.get(period_date="2010-03-03")
        pdf_ms = median_ms(lambda: build_release_pdf(release, visible=visible), max(3, repeat // 3))
        self.say("Release PDF build (baseline: the same release's HTML page)")
        ratio = pdf_ms / html_ms
        self.say(f"  HTML page {html_ms:8.2f} ms; PDF {pdf_ms:8.2f} ms; PDF / HTML {ratio:5.1f} ×\n")

    def imports(self, rows: int) -> None:
        out = io.StringIO()
        call_command("benchmark_import", rows=rows, stdout=out)
        self.say("Figure import through the admin's resource (baseline: raw bulk_create of the same rows)")
        for line in out.getvalue().splitlines():
            self.say(f"  {line}")
        self.say()
