#!/usr/bin/env python
"""Load test: gunicorn on PostgreSQL + Redis, driven by wrk over loopback.

Usage: .venv/bin/python scripts/load.py [--seconds 30] [--connections 16]

Starts two gunicorn servers on a scratch PostgreSQL database holding the seed
release and two years of history: one with public caching in Redis, one with
all public caching off. Prints requests/s, p99 latency and errors, with each
rate as a ratio to the trivial view's (the median of interleaved rounds; p99 is
the worst round's), for:

- a trivial Django view (robots.txt, through the whole middleware stack);
- the release page served whole from the page cache;
- the release page with the page cache passed by, as for a reader carrying a
  session cookie: the view runs, and the release body comes from the fragment
  cache (newsroom.caching.public_fragment);
- the release page with nothing cached: every request builds and renders it.

Then the 09:30 case: a release scheduled to come out part-way through a run of
the latest-release page on the caching server. It prints that run's rate, p99
and errors, and whether the page shows the new release once it is due.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB_NAME = "newsroom_load"
PG = "postgres://postgres@127.0.0.1:5432"
PAGE = "/statistics/2010-03-03/"
TRIVIAL = "/robots.txt"
LATEST = "/statistics/"

# Schedules a copy of the latest public release, a week on, to come out in {delay} seconds.
SCHEDULE_NEXT = """
import datetime as dt
from django.db import transaction
from django.utils import timezone
from stats.models import Release
latest = Release.objects.public().order_by("-period_date").first()
figures, statements = list(latest.figures.all()), list(latest.statements.all())
with transaction.atomic():
    latest.pk = None
    latest.period_date += dt.timedelta(days=7)
    latest.status = Release.Status.SCHEDULED
    latest.publish_at = timezone.now() + dt.timedelta(seconds={delay})
    latest.save()
    for row in figures + statements:
        row.pk, row.release = None, latest
        row.save()
print(latest.period_date.isoformat(), latest.publish_at.timestamp())
"""


def env(**extra) -> dict:
    base = dict(os.environ)
    base.update(
        DEBUG="0",
        SECRET_KEY="load-test-" + "k" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        DATABASE_URL=f"{PG}/{DB_NAME}",
        CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
    )
    base.update(extra)
    return base


def run(*args, **kwargs):
    subprocess.run(args, check=True, cwd=ROOT, **kwargs)


def prepare() -> None:
    run("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB_NAME}")
    run("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DB_NAME}")
    quiet = {"env": env(), "stdout": subprocess.DEVNULL}
    run(PY, "manage.py", "migrate", "--noinput", **quiet)
    run(PY, "manage.py", "load_seed", **quiet)
    run(PY, "manage.py", "generate_history", "--weeks", "104", **quiet)
    run(PY, "manage.py", "collectstatic", "--noinput", **quiet)


def start(port: int, **extra) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(Path(PY).parent / "gunicorn"), "newsroom.wsgi:application", "-c", "newsroom/gunicorn.conf.py"],
        cwd=ROOT,
        env=env(BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="4", **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{TRIVIAL}", timeout=1)
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"gunicorn did not start on port {port}")


def wrk(
    url: str, seconds: int, connections: int, headers: tuple[str, ...] = (), extra: tuple[str, ...] = ()
) -> dict:
    """Run wrk against `url`; `extra` are more wrk arguments (e.g. a Lua script: "-s", path)."""
    arguments = [arg for header in headers for arg in ("-H", header)] + list(extra)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *arguments, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    return {"rate": rate, "p99": p99_ms, "errors": errors}


def release_lands(seconds: int, connections: int) -> dict:
    """Drive the latest-release page while a scheduled release comes out half-way through."""
    delay = max(2, seconds // 2)
    out = subprocess.run(
        [PY, "manage.py", "shell", "-c", SCHEDULE_NEXT.format(delay=delay)],
        cwd=ROOT,
        env=env(REDIS_URL="redis://127.0.0.1:6379/14"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    period, due = out[-2], float(out[-1])
    url = f"http://127.0.0.1:8201{LATEST}"
    urllib.request.urlopen(url).read()  # cached before the release is due
    result = wrk(url, seconds=seconds, connections=connections)
    # The first look after the run: the new release must be the latest without waiting for max-age.
    html = urllib.request.urlopen(url).read().decode()
    result["landed"] = time.time() >= due and f'datetime="{period}"' in html
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="split each case's time into this many rounds, interleaved, so drift hits every case alike",
    )
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    prepare()
    cached = start(8201, REDIS_URL="redis://127.0.0.1:6379/14")
    uncached = start(8202, PUBLIC_CACHE_SECONDS="0")
    try:
        urllib.request.urlopen(f"http://127.0.0.1:8201{PAGE}").read()  # warm the cache
        load = {"seconds": max(1, options.seconds // options.rounds), "connections": options.connections}
        cases = {
            "trivial view (robots.txt)": (f"http://127.0.0.1:8202{TRIVIAL}", ()),
            "release page, page cache hit": (f"http://127.0.0.1:8201{PAGE}", ()),
            "release page, page cache passed by": (
                f"http://127.0.0.1:8201{PAGE}",
                ("Cookie: sessionid=load-test",),
            ),
            "release page, nothing cached": (f"http://127.0.0.1:8202{PAGE}", ()),
        }
        rounds = [
            {name: wrk(url, headers=headers, **load) for name, (url, headers) in cases.items()}
            for _ in range(options.rounds)
        ]
        results = {
            name: {
                "rate": statistics.median(r[name]["rate"] for r in rounds),
                "p99": max(r[name]["p99"] for r in rounds),
                "errors": sum(r[name]["errors"] for r in rounds),
            }
            for name in cases
        }
        landing = release_lands(options.seconds, options.connections)
    finally:
        for server in (cached, uncached):
            server.terminate()
            server.wait()
    baseline = results["trivial view (robots.txt)"]["rate"]
    print(f"{'page':36} {'req/s':>9} {'p99 ms':>8} {'errors':>7} {'× trivial':>10}")
    for name, r in results.items():
        print(f"{name:36} {r['rate']:9.0f} {r['p99']:8.1f} {r['errors']:7d} {r['rate'] / baseline:10.2f}")
    print(
        f"\na release comes out {max(2, options.seconds // 2)} s into a {options.seconds} s run of {LATEST}: "
        f"{landing['rate']:.0f} req/s, p99 {landing['p99']:.1f} ms, {landing['errors']} errors; "
        f"new release shown: {'yes' if landing['landed'] else 'NO'}"
    )
    failed = sum(r["errors"] for r in results.values()) + landing["errors"]
    print(f"errors: {failed}")
    sys.exit(1 if failed or not landing["landed"] else 0)


if __name__ == "__main__":
    main()
