"""Cold pages against the peer: in-process CPU per request with every cache cleared, beside stock
Wagtail serving the same seed page, measured in the same run.

The peer is the site `../shared/peers/wagtail_peer.sh` builds (stock Wagtail, the seed as one
rich-text page): this command builds it the same way into a scratch directory (a virtualenv with
Wagtail from PyPI, `wagtail start`, the peer's app and seed) unless `--peer-site` names one already
built, then runs the peer's own `count_queries` command, which times its page with Django's test
client and `time.process_time`, as this command times ours, with the peer's cache (in-process
memory) unless told to use ours. Nothing is kept anywhere else: a cold page is rendered from the
figures.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from common.keeping import keeping

PAGES = {
    "release": "/statistics/2010-03-03/",
    "metric": "/statistics/metrics/eps-messages-total/",
    "home": "/",
    "archive": "/statistics/archive/",
    "API release list": "/api/v1/releases/",
}
TRIVIAL = "/robots.txt"
PEER_PAGE, PEER_TRIVIAL = "/deployment-statistics/", "/trivial/"
PROJECT = "statsite"
# The peer's settings name no cache: Django's default, in-process memory.
PEER_CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def clear_caches() -> None:
    for alias in settings.CACHES:
        caches[alias].clear()


def cpu_ms(client: Client, path: str, *, runs: int, cold: bool) -> float:
    """Median in-process CPU per request; `cold` clears every cache before each (not timed), else
    the second and later requests are served as readers get them (the public page cache)."""
    times = []
    for _ in range(runs):
        if cold:
            clear_caches()
        began = time.process_time()
        response = client.get(path)
        if response.streaming:
            b"".join(response.streaming_content)
        times.append((time.process_time() - began) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times)


class Command(BaseCommand):
    help = (
        "In-process CPU per request of the release, metric, home and archive pages with every cache "
        "cleared, at 1, 10 and 30 years of history, each as a ratio to stock Wagtail's seed page measured "
        "in the same run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=30, help="Requests timed per page (median).")
        parser.add_argument(
            "--peer-dir",
            default=str(Path(settings.BASE_DIR).parent / "shared" / "peers"),
            help="Where wagtail_peer.sh and its wagtail/ app are.",
        )
        parser.add_argument("--peer-site", help="A peer site already built (keeps it between runs).")
        parser.add_argument("--no-peer", action="store_true", help="Ours only.")
        parser.add_argument(
            "--cache-as-configured",
            action="store_true",
            help="Our cache as settings say (the file cache, or Redis with REDIS_URL); by default Django's "
            "in-process memory cache, as the peer runs.",
        )

    def say(self, text: str = "") -> None:
        self.stdout.write(text)

    def handle(self, *args, runs, peer_dir, peer_site, no_peer, cache_as_configured, **options):
        peer = None
        if not no_peer:
            site = Path(peer_site) if peer_site else Path(tempfile.mkdtemp(prefix="wagtail-peer-"))
            if not (site / PROJECT / "manage.py").exists():
                self.build_peer(Path(peer_dir), site)
            peer = site
        import logging

        logging.getLogger("newsroom.requests").setLevel(logging.WARNING)
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            caches_now = {} if cache_as_configured else {"CACHES": PEER_CACHES}
            with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"], **caches_now):
                self.run(runs=runs, peer=peer)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)

    def run(self, *, runs: int, peer: Path | None) -> None:
        from stats.demo.history import generate_history
        from stats.demo.seed import load_seed

        load_seed()
        client = Client()
        results = {}
        for label, weeks in (("1 year", 52), ("10 years", 520 - 52), ("30 years", 1560 - 520)):
            generate_history(weeks=weeks)
            with keeping():  # files built and their sizes kept once, as the worker does (readers keep none)
                for path in (*PAGES.values(), TRIVIAL):
                    client.get(path)
            results[label] = {
                name: (
                    cpu_ms(client, path, runs=runs, cold=True),
                    cpu_ms(client, path, runs=runs, cold=False),
                    self.queries(client, path),
                )
                for name, path in PAGES.items()
            }
            results[label]["trivial"] = (cpu_ms(client, TRIVIAL, runs=runs, cold=False),) * 2 + (0,)
        wagtail = self.peer_figures(peer) if peer else None

        backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        self.say(
            f"In-process CPU per request (time.process_time, Django test client), {connection.vendor}, "
            f"cache {backend}. Cold: every cache cleared first, each page rendered from the figures."
        )
        if wagtail:
            page, trivial = wagtail
            self.say(
                f"  stock Wagtail seed page {page:7.2f} ms (its trivial view {trivial:5.2f} ms): the baseline"
            )
        head = f"  {'page':20} {'history':9} {'cold ms':>8} {'cached':>8} {'queries':>7}"
        self.say(head + ("   cold ÷ Wagtail" if wagtail else ""))
        for label, pages in results.items():
            for name, (cold, warm, queries) in pages.items():
                ratio = f"   {cold / wagtail[0]:6.2f} ×" if wagtail else ""
                self.say(f"  {name:20} {label:9} {cold:8.2f} {warm:8.2f} {queries:7d}{ratio}")
        for label in ("10 years", "30 years"):
            at = results[label]
            ratios = ", ".join(
                f"{name} {at[name][0] / at['release'][0]:4.2f} ×"
                for name in ("metric", "archive", "API release list")
            )
            self.say(f"  {label}, cold, as a ratio to the release page: {ratios}")

    @staticmethod
    def queries(client, path) -> int:
        clear_caches()
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        return len(captured.captured_queries)

    def build_peer(self, peers: Path, site: Path) -> None:
        """As wagtail_peer.sh builds it: a virtualenv with Wagtail, `wagtail start`, the peer's app."""
        app, seed = peers / "wagtail", peers.parent / "seed" / "deployment-statistics-2010-03-03.txt"
        if not (app / "peerstats").is_dir() or not seed.exists():
            raise CommandError(f"No Wagtail peer at {peers} (or no seed beside it); pass --no-peer.")
        self.say(f"Building the Wagtail peer in {site} (pip install wagtail)…")
        python = site / "venv" / "bin" / "python"
        run = subprocess.run
        run([sys.executable, "-m", "venv", str(site / "venv")], check=True)
        run([str(python), "-m", "pip", "install", "-q", "wagtail", "gunicorn"], check=True)
        run([str(site / "venv" / "bin" / "wagtail"), "start", PROJECT], cwd=site, check=True)
        project = site / PROJECT
        shutil.copytree(app / "peerstats", project / "peerstats")
        (project / "peerstats" / "templates" / "peerstats" / "static_page.html").unlink(missing_ok=True)
        shutil.copy(app / "settings_bench.py", project / PROJECT / "settings" / "bench.py")
        # And the peer's cached settings, so its own load test (bench.py) can run on this site too.
        shutil.copy(app / "settings_bench_cached.py", project / PROJECT / "settings" / "bench_cached.py")
        env = self.peer_env()
        for step in (
            ["makemigrations", "peerstats", "-v0"],
            ["migrate", "-v0"],
            ["collectstatic", "--noinput", "-v0"],
            ["build_stats_page", str(seed)],
        ):
            run([str(python), "manage.py", *step], cwd=project, env=env, check=True, capture_output=True)

    @staticmethod
    def peer_env() -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
        return env | {"DJANGO_SETTINGS_MODULE": f"{PROJECT}.settings.bench"}

    def peer_figures(self, site: Path) -> tuple[float, float]:
        """The peer's own measure: (seed page, trivial view) CPU ms per request."""
        out = subprocess.run(
            [str(site / "venv" / "bin" / "python"), "manage.py", "count_queries", PEER_TRIVIAL, PEER_PAGE],
            cwd=site / PROJECT,
            env=self.peer_env(),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        figures = {
            url: float(ms)
            for url, ms in re.findall(r"^\| (\S+) \| \d+ \| \d+ \| \d+ \| ([\d.]+) \|$", out, re.M)
        }
        return figures[PEER_PAGE], figures[PEER_TRIVIAL]
