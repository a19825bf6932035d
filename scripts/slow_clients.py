#!/usr/bin/env python
"""Slow clients against the documented production front (nginx before gunicorn) and gunicorn alone.

Usage: .venv/bin/python scripts/slow_clients.py [--seconds 15] [--interval 5] [--clients 5 50]

Prepares one site on a SQLite file of its own (tests/stack/front.py: collectstatic, migrate, the
seed release), then starts gunicorn as `make serve` does, DEBUG=0, twice on that database: behind
nginx with deploy/nginx/newsroom.conf (TLS, on free ports), and with nothing in front. For each, with
no slow clients and then with each number of --clients (connections that send a request line, then
one header line every --interval seconds, never ending the request: slow loris), ordinary readers
ask for /statistics/ and /healthz one after another for --seconds, each giving up after 10 s.
Prints how many were answered, their median and longest time, and errors (refused, reset, timed
out or 5xx), as one table. Needs Debian's nginx and openssl.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.stack.front import SlowClients, measure, nginx_missing, running_site


def run(site, seconds: float, interval: float, counts: list[int]) -> dict:
    results = {0: measure(site, seconds)}
    for count in counts:
        with SlowClients(site, count, interval):
            results[count] = measure(site, seconds)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="how long readers are measured, each case")
    parser.add_argument("--interval", type=float, default=5, help="seconds between a slow client's lines")
    parser.add_argument("--clients", type=int, nargs="+", default=[5, 50])
    options = parser.parse_args()
    reason = nginx_missing()
    if reason:
        raise SystemExit(reason)
    workers = os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1))
    results, case = {}, (options.seconds, options.interval, options.clients)
    with running_site(with_nginx=True) as front:
        results["nginx + gunicorn (documented)"] = run(front, *case)
        with running_site(with_nginx=False, prepared_from=front) as bare:
            results["gunicorn alone"] = run(bare, *case)
    print(
        f"gunicorn: {workers} sync workers; readers for {options.seconds:g} s a case; "
        f"slow clients send a header line every {options.interval:g} s"
    )
    print(f"{'front':32} {'slow':>5} {'answered':>9} {'median ms':>10} {'max ms':>9} {'errors':>7}")
    for name, cases in results.items():
        for count, r in cases.items():
            print(
                f"{name:32} {count:5d} {len(r.seconds) - r.errors:9d} {r.median * 1000:10.0f} "
                f"{r.max * 1000:9.0f} {r.errors:7d}"
            )


if __name__ == "__main__":
    main()
