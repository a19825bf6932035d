#!/usr/bin/env python
"""Load test: gunicorn on PostgreSQL + Redis, driven by wrk over loopback.

Usage: .venv/bin/python scripts/load.py [--seconds 30] [--connections 16]

Starts three gunicorn servers on a scratch PostgreSQL database holding the seed
release and two years of history: one with public caching in Redis, one with
all public caching off, one with a cache that keeps nothing. Prints requests/s,
p99 latency and errors, with each
rate as a ratio to the trivial view's (the median of interleaved rounds; p99 is
the worst round's), for:

- a trivial Django view (robots.txt, through the whole middleware stack);
- the release page served whole from the page cache;
- the release page with the page cache passed by, as for a reader carrying a
  session cookie: the view runs and renders the page;
- the release page with every cache empty (a cache that keeps nothing,
  `NEWSROOM_CACHE=none`): every request renders the page from the figures;
- the release page with public caching off: the same, with no page cache to ask.

Then the 09:30 case: a release scheduled to come out part-way through a run of
the latest-release page on the caching server. It prints that run's rate, p99
and errors, and whether the page shows the new release once it is due.

Usage: .venv/bin/python scripts/load.py --release-second [--seconds 20] [--connections 16]

Runs only the release-second case, on the same servers: how long after the
publish second each public address a release changes shows it, under load. A
release is scheduled to come out on a whole second about half-way through a
wrk run on the caching server that rotates through what readers ask for at
09:30 (scripts/release_second.lua): home, the latest release, the new release's
page, PDF, CSV, XLSX and JSON, data.csv, the feed and the API's release list.
From three seconds before the publish second until the run ends, one thread
per address (RELEASE_SHOWN: those, the archive, the sitemap and the release
in the API) requests it again and again. A response shows the release if it is a
200 for one of the release's own addresses, or if its body holds the new period
as that address words it (RELEASE_SHOWN). Per address, in ms after the second:

- lag: when the first response showing the release arrived;
- sent: when that request was sent (before the second if it waited in a queue);
- last old: when the last response without it arrived, and old sent: when that
  request was sent (before the second, or it is old content after the second);
- usual: the median response time before the second;

and the number of polls, responses that went back to the old content after the
new, 5xx, failed requests, and responses that showed the release before the
second. Then wrk's rate (and as a ratio to the trivial view's), p99, max and
errors, and its responses by status before and from the publish second (404s
from the second: readers still refused the new release's addresses). It exits
1 on content before the second, old content to a request sent after it, a 5xx,
a failed request or an address that never showed the release; a lag over
LAG_TARGET is printed, not failed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.stack.front: Varnish started as the stack tests start it
PY = sys.executable
DB_NAME = "newsroom_load"
PG = "postgres://postgres@127.0.0.1:5432"
PAGE = "/statistics/2010-03-03/"
TRIVIAL = "/robots.txt"
LATEST = "/statistics/"
VARNISH_PORT = 8204
VARNISH_URLS = f"http://127.0.0.1:{VARNISH_PORT}"

# Schedules a copy of the latest public release, a week on, to come out in {delay} seconds
# (rounded down to a whole second, as announced times are).
SCHEDULE_NEXT = """
import datetime as dt
import http.client
from django.db import transaction
from django.utils import timezone
from stats.models import Release
latest = Release.objects.public().order_by("-period_date").first()
figures, statements = list(latest.figures.all()), list(latest.statements.all())
with transaction.atomic():
    latest.pk = None
    latest.period_date += dt.timedelta(days=7)
    latest.status = Release.Status.SCHEDULED
    latest.publish_at = (timezone.now() + dt.timedelta(seconds={delay})).replace(microsecond=0)
    latest.save()
    for row in figures + statements:
        row.pk, row.release = None, latest
        row.save()
    from stats.publishing import public
    public.release_listed()  # as approving it says: on the calendar, out at its second
# What approving it does once it commits: build its files, ready for the second it comes out.
from stats.outputs.files import build_files, site_request
build_files(latest, request=site_request("http://127.0.0.1:8201"))
print(latest.period_date.isoformat(), latest.publish_at.timestamp())
"""

# The release-second case. Each public address a release changes, and the text in its response
# that shows the new release ({period}: "2010-03-10", {label}: "10 March 2010"); None for the
# release's own addresses, which answer 404 until it is out and 200 once it is.
RELEASE_SHOWN = {
    "/": "Latest figures: w/c {label}",  # before the second the label is already under "Next release"
    "/statistics/": "(for w/c {label})</h1>",  # its heading: the calendar names it before, as next
    "/statistics/{period}/": None,
    "/statistics/{period}.pdf": None,
    "/statistics/{period}.csv": None,
    "/statistics/{period}.xlsx": None,
    "/statistics/{period}.json": None,
    "/statistics/data.csv": "\n{period},",  # oldest first: the new rows are at the end
    "/feed/": "(for w/c {label})",
    "/api/v1/releases/": '"period": "{period}"',
    "/api/v1/releases/{period}/": None,
    "/statistics/archive/": "{label}",
    "/sitemap.xml": "/statistics/{period}/</loc>",
}
# What wrk drives meanwhile: the addresses readers hit at 09:30.
RELEASE_LOAD = (
    "/",
    "/statistics/",
    "/statistics/{period}/",
    "/statistics/{period}.pdf",
    "/statistics/{period}.csv",
    "/statistics/{period}.xlsx",
    "/statistics/{period}.json",
    "/statistics/data.csv",
    "/feed/",
    "/api/v1/releases/",
)
RELEASE_LUA = Path(__file__).resolve().parent / "release_second.lua"
POLL_LEAD = 3.0  # seconds before the publish second that the pollers start
POLL_PAUSE = 0.01  # seconds between one poll's response and the next request
LAG_TARGET = 1.0  # seconds after the publish second by which every address should show the release


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


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]


def wrk(
    url: str,
    seconds: int,
    connections: int,
    headers: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
    script_args: tuple[str, ...] = (),
) -> dict:
    """Run wrk against `url`; `extra` are more wrk arguments (e.g. a Lua script: "-s", path).

    `script_args` go to the Lua script's init() (after the URL and "--"). "errors" counts
    non-2xx/3xx responses and socket errors; "socket" the socket errors alone; "output" is wrk's.
    """
    arguments = [arg for header in headers for arg in ("-H", header)] + list(extra)
    trailing = ["--", *script_args] if script_args else []
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *arguments, url, *trailing],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99_ms = _ms(*re.search(r"99%\s+([\d.]+)(us|ms|s|m)", out).groups())
    max_ms = _ms(*re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)", out).groups())
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(n) for n in socket.groups()) if socket else 0
    return {
        "rate": rate,
        "p99": p99_ms,
        "max": max_ms,
        "errors": errors + socket_errors,
        "socket": socket_errors,
        "output": out,
    }


def schedule_next(delay: int) -> tuple[str, float]:
    """Schedule the next release (SCHEDULE_NEXT) `delay` seconds ahead: its period date and publish time."""
    out = subprocess.run(
        [PY, "manage.py", "shell", "-c", SCHEDULE_NEXT.format(delay=delay)],
        cwd=ROOT,
        env=env(REDIS_URL="redis://127.0.0.1:6379/14", VARNISH_URLS=VARNISH_URLS),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[-2], float(out[-1])


def release_lands(seconds: int, connections: int) -> dict:
    """Drive the latest-release page while a scheduled release comes out half-way through."""
    period, due = schedule_next(max(2, seconds // 2))
    url = f"http://127.0.0.1:8201{LATEST}"
    urllib.request.urlopen(url).read()  # cached before the release is due
    result = wrk(url, seconds=seconds, connections=connections)
    # The first look after the run: the new release must be the latest without waiting for max-age.
    html = urllib.request.urlopen(url).read().decode()
    result["landed"] = time.time() >= due and f'datetime="{period}"' in html
    return result


class Poll(NamedTuple):
    sent: float
    received: float
    status: int  # 0: no response (refused, reset or timed out)
    cache_control: str
    new: bool  # the response shows the new release


def poll(url: str, shown: bytes | None, start: float, stop: threading.Event) -> list[Poll]:
    """Request `url` again and again from `start` until `stop`: does each response show the release?

    `shown` is the text that shows it; None: a 200 does.
    """
    time.sleep(max(0.0, start - time.time()))
    polls = []
    while not stop.is_set():
        sent = time.time()
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            with error:
                status, headers, body = error.code, error.headers, error.read()
        except (OSError, http.client.HTTPException):
            status, headers, body = 0, {}, b""
        new = status == 200 and (shown is None or shown in body)
        polls.append(Poll(sent, time.time(), status, headers.get("Cache-Control", ""), new))
        time.sleep(POLL_PAUSE)
    return polls


def lags(polls: list[Poll], due: float) -> dict:
    """One address's polls: when it first showed the release (seconds after `due`), and what went wrong."""
    first = next((p for p in polls if p.new), None)
    usual = [p.received - p.sent for p in polls if p.received < due]
    old = [p for p in polls if not p.new and 0 < p.status < 500]  # answered, without the release
    last_old = max((p for p in old if p.received >= due), key=lambda p: p.received, default=None)
    return {
        "lag": None if first is None else first.received - due,
        "sent": None if first is None else first.sent - due,
        "last old": None if last_old is None else last_old.received - due,
        "old sent": None if last_old is None else last_old.sent - due,
        "stale": [p for p in old if p.sent >= due],
        "usual": statistics.median(usual) if usual else None,
        "polls": len(polls),
        "early": [p for p in polls if p.new and p.received < due],
        "went back": 0 if first is None else sum(p.sent > first.received for p in old),
        "5xx": sum(p.status >= 500 for p in polls),
        "failed": sum(p.status == 0 for p in polls),
    }


def release_second(seconds: int, connections: int, base: str = "http://127.0.0.1:8201") -> dict:
    """A release comes out half-way through a run of the 09:30 load: when does each address show it?"""
    period, due = schedule_next(max(5, seconds // 2))
    day = dt.date.fromisoformat(period)
    words = {"period": period, "label": f"{day.day} {day:%B %Y}"}  # as Release.period_label
    stop = threading.Event()
    with ThreadPoolExecutor(len(RELEASE_SHOWN)) as pool:
        polling = {
            path.format(**words): pool.submit(
                poll,
                base + path.format(**words),
                None if shown is None else shown.format(**words).encode(),
                due - POLL_LEAD,
                stop,
            )
            for path, shown in RELEASE_SHOWN.items()
        }
        try:
            load = wrk(
                base,
                seconds=math.ceil(due - time.time()) + seconds - seconds // 2,
                connections=connections,
                extra=("-s", str(RELEASE_LUA), "--timeout", "30s"),
                script_args=(str(int(due)), *(path.format(**words) for path in RELEASE_LOAD)),
            )
        finally:
            stop.set()
        addresses = {path: lags(future.result(), due) for path, future in polling.items()}
    load["statuses"] = {
        int(status): (int(before), int(after))
        for status, before, after in re.findall(r"status (\d+): (\d+) before, (\d+) from", load["output"])
    }
    return {"period": period, "due": due, "addresses": addresses, "load": load}


def _in_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def report_release_second(result: dict, trivial: dict) -> bool:
    """Print the release-second case; True if it failed."""
    addresses, load = result["addresses"], result["load"]
    moment = dt.datetime.fromtimestamp(result["due"], dt.UTC).strftime("%H:%M:%S UTC")
    print(f"release {result['period']} comes out at {moment}; times in ms after that second")
    print(
        f"{'address':30} {'lag ms':>7} {'sent ms':>8} {'last old ms':>12} {'old sent ms':>12} "
        f"{'usual ms':>9} {'polls':>6} {'went back':>10} {'5xx':>4} {'failed':>7} {'early':>6}"
    )
    for path, a in addresses.items():
        lag = "never" if a["lag"] is None else _in_ms(a["lag"])
        sent, last_old, old_sent, usual = (_in_ms(a[k]) for k in ("sent", "last old", "old sent", "usual"))
        print(
            f"{path:30} {lag:>7} {sent:>8} {last_old:>12} {old_sent:>12} {usual:>9} {a['polls']:6d} "
            f"{a['went back']:10d} {a['5xx']:4d} {a['failed']:7d} {len(a['early']):6d}"
        )
    shown = {path: a["lag"] for path, a in addresses.items() if a["lag"] is not None}
    if shown:
        slowest = max(shown, key=shown.get)
        print(f"slowest: {slowest}, {shown[slowest] * 1000:.0f} ms")
    late = [path for path, lag in shown.items() if lag > LAG_TARGET]
    print(f"over {LAG_TARGET:g} s: {', '.join(late) if late else 'none'}")
    never = [path for path, a in addresses.items() if a["lag"] is None]
    if never:
        print(f"NEVER SHOWN: {', '.join(never)}")
    early = [(path, p) for path, a in addresses.items() for p in a["early"]]
    for path, p in early:
        print(
            f"CONTENT BEFORE THE SECOND: {path} answered {p.status} with the new release "
            f"{(result['due'] - p.received) * 1000:.0f} ms before it"
        )
    if not early:
        print("content before the second: none")
    stale = [(path, p) for path, a in addresses.items() for p in a["stale"]]
    for path, p in stale:
        print(
            f"OLD CONTENT AFTER THE SECOND: {path} answered {p.status} without the new release to a request "
            f"sent {(p.sent - result['due']) * 1000:.0f} ms after it (Cache-Control: {p.cache_control})"
        )
    statuses = load["statuses"]
    server_errors = sum(before + after for status, (before, after) in statuses.items() if status >= 500)
    print(
        f"\nwrk over {len(RELEASE_LOAD)} addresses: {load['rate']:.0f} req/s "
        f"({load['rate'] / trivial['rate']:.2f} × the trivial view's {trivial['rate']:.0f}), "
        f"p99 {load['p99']:.1f} ms, max {load['max']:.1f} ms, "
        f"errors {server_errors + load['socket']} (5xx {server_errors}, socket {load['socket']})"
    )
    print(
        "responses before / from the second: "
        + ", ".join(f"{status} {before}/{after}" for status, (before, after) in sorted(statuses.items()))
    )
    poll_errors = sum(a["5xx"] + a["failed"] for a in addresses.values())
    return bool(early or stale or never or server_errors or load["socket"] or poll_errors)


@contextlib.contextmanager
def servers():
    """The scratch database and gunicorn on it three times: 8201 caching in Redis (purging Varnish
    on 8204, when it runs), 8202 with public caching off, 8203 with a cache that keeps nothing."""
    prepare()
    cached = start(8201, REDIS_URL="redis://127.0.0.1:6379/14", VARNISH_URLS=VARNISH_URLS)
    uncached = start(8202, PUBLIC_CACHE_SECONDS="0")
    forgetful = start(8203, NEWSROOM_CACHE="none")
    try:
        yield
    finally:
        for server in (cached, uncached, forgetful):
            server.terminate()
            server.wait()


def compare_with_varnish(options, load: dict) -> bool:
    """The release-second case on gunicorn alone, then through Varnish in front of it; True if
    either failed."""
    from tests.stack.front import varnish, varnish_missing

    if reason := varnish_missing():
        raise SystemExit(reason)
    with (
        servers(),
        tempfile.TemporaryDirectory(prefix="newsroom-load-varnish-") as folder,
        varnish(Path(folder), port=VARNISH_PORT, backend_port=8201, host="127.0.0.1"),
    ):
        trivial = wrk(f"http://127.0.0.1:8202{TRIVIAL}", **load)
        alone = release_second(options.seconds, options.connections)
        fronted = release_second(options.seconds, options.connections, base=VARNISH_URLS)
    print("== gunicorn alone (8201)")
    failed = report_release_second(alone, trivial)
    print("\n== Varnish in front of it (8204)")
    failed = report_release_second(fronted, trivial) or failed
    ratio = fronted["load"]["rate"] / alone["load"]["rate"]
    print(
        f"\nat the release second: {fronted['load']['rate']:.0f} req/s through Varnish, "
        f"{alone['load']['rate']:.0f} req/s from gunicorn alone ({ratio:.2f} ×)"
    )
    return failed


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
    parser.add_argument(
        "--release-second",
        action="store_true",
        help="run only the release-second case: how long after the publish second each address shows it",
    )
    parser.add_argument(
        "--varnish",
        action="store_true",
        help="with --release-second: run it on gunicorn alone, then through Varnish in front of it "
        "(deploy/varnish/newsroom.vcl), and compare",
    )
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    load = {"seconds": max(1, options.seconds // options.rounds), "connections": options.connections}
    if options.release_second and options.varnish:
        sys.exit(1 if compare_with_varnish(options, load) else 0)
    if options.release_second:
        with servers():
            trivial = wrk(f"http://127.0.0.1:8202{TRIVIAL}", **load)
            release = release_second(options.seconds, options.connections)
        sys.exit(1 if report_release_second(release, trivial) else 0)
    with servers():
        urllib.request.urlopen(f"http://127.0.0.1:8201{PAGE}").read()  # warm the cache
        cases = {
            "trivial view (robots.txt)": (f"http://127.0.0.1:8202{TRIVIAL}", ()),
            "release page, page cache hit": (f"http://127.0.0.1:8201{PAGE}", ()),
            "release page, page cache passed by": (
                f"http://127.0.0.1:8201{PAGE}",
                ("Cookie: sessionid=load-test",),
            ),
            "release page, every cache empty": (f"http://127.0.0.1:8203{PAGE}", ()),
            "release page, public caching off": (f"http://127.0.0.1:8202{PAGE}", ()),
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
