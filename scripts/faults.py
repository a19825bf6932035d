#!/usr/bin/env python
"""Throughput while Redis hangs: gunicorn on PostgreSQL + Redis, driven by wrk, with Redis paused.

Usage: .venv/bin/python scripts/faults.py [--seconds 8] [--connections 16] [--redis-db 13]
                                          [--database newsroom_faults]

Starts gunicorn (DEBUG off, 4 workers) on a scratch PostgreSQL database holding the seed
release and two years of history, twice: with its page cache in the Redis at
127.0.0.1:6379, and with REDIS_URL pointing at a closed port (Redis down). wrk drives a
rotation of public pages (home, latest release, a release, archive, feed, sitemap, API)
over loopback. It prints requests/s, p99 latency and errors for:

- Redis up: pages come whole from the page cache (the normal case);
- Redis paused (`CLIENT PAUSE`, every command held, connections still accepted): the whole
  run falls inside the pause;
- Redis down: every page is built from the database in each process, then kept in its
  memory for a second (what a paused Redis should cost).

and the paused rate as a ratio to each of the others, with the time /healthz took during the
pause. CLIENT PAUSE holds every client of that Redis server for the run (a few seconds). The
Redis index (flushed) and the scratch database (dropped and made again) are options, so that
several people can run it on one machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # scripts/load.py: scratch database, gunicorn and wrk helpers

load.DB_NAME = "newsroom_faults"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"
UP, DOWN = 8211, 8212
PATHS = (
    "/",
    "/statistics/",
    "/statistics/2010-03-03/",
    "/statistics/archive/",
    "/feed/",
    "/sitemap.xml",
    "/api/v1/releases/",
)
ROTATION = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def rotation_script(directory: str) -> str:
    path = Path(directory) / "rotation.lua"
    path.write_text(ROTATION % ", ".join(f'"{p}"' for p in PATHS))
    return str(path)


def drive(port: int, seconds: int, connections: int, script: str) -> dict:
    """wrk on the rotation; a response slower than wrk's usual 2 s is slow, not an error."""
    return load.wrk(
        f"http://127.0.0.1:{port}",
        seconds=seconds,
        connections=connections,
        extra=("-s", script, "--timeout", "30s"),
    )


def drive_and_probe(port: int, seconds: int, connections: int, script: str) -> tuple[dict, dict]:
    """Drive `port` and, half-way through, time one /healthz (queued behind the load like any request)."""
    health = {}

    def probe():
        time.sleep(seconds / 2)
        health.update(healthz(port))

    prober = threading.Thread(target=probe)
    prober.start()
    result = drive(port, seconds, connections, script)
    prober.join()
    return result, health


def healthz(port: int) -> dict:
    began = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
        body = json.loads(response.read())
    return {"ms": (time.monotonic() - began) * 1000, "status": body["status"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="length of each run; the pause is 2 s longer")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--redis-db", type=int, default=13, help="the Redis index the cache uses (flushed)")
    parser.add_argument("--database", default=load.DB_NAME, help="the scratch PostgreSQL database (dropped)")
    options = parser.parse_args()
    load.DB_NAME = options.database
    redis_url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{options.redis_db}"
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    admin = redis.Redis.from_url(redis_url, socket_timeout=options.seconds + 30)
    admin.flushdb()
    load.prepare()
    up = load.start(UP, REDIS_URL=redis_url)
    down = load.start(DOWN, REDIS_URL=DEAD_REDIS_URL)
    try:
        with tempfile.TemporaryDirectory() as directory:
            script = rotation_script(directory)
            for port in (UP, DOWN):  # warm: the page cache, and each worker's imports
                drive(port, 2, options.connections, script)
            results, health = {}, {}
            results["Redis up"], health["Redis up"] = drive_and_probe(
                UP, options.seconds, options.connections, script
            )
            admin.execute_command("CLIENT", "PAUSE", (options.seconds + 2) * 1000)
            paused_at = time.monotonic()
            results["Redis paused"], health["Redis paused"] = drive_and_probe(
                UP, options.seconds, options.connections, script
            )
            inside = time.monotonic() - paused_at < options.seconds + 2
            admin.execute_command("CLIENT", "UNPAUSE")  # Redis holds this too until the pause ends
            results["Redis down"], health["Redis down"] = drive_and_probe(
                DOWN, options.seconds, options.connections, script
            )
    finally:
        for server in (up, down):
            server.terminate()
            server.wait()
        admin.flushdb()
    print(f"{'case':14} {'req/s':>9} {'p99 ms':>8} {'errors':>7}   /healthz under the same load")
    for name, r in results.items():
        probe = health[name]
        print(
            f"{name:14} {r['rate']:9.0f} {r['p99']:8.1f} {r['errors']:7d}   "
            f"{probe.get('status')} in {probe.get('ms', float('nan')):.0f} ms"
        )
    paused = results["Redis paused"]["rate"]
    print(
        f"\nRedis paused: {paused / results['Redis up']['rate']:.3f} × Redis up, "
        f"{paused / results['Redis down']['rate']:.2f} × Redis down"
    )
    if not inside:
        print("warning: the paused run outlasted the pause")
    errors = sum(r["errors"] for r in results.values())
    print(f"errors: {errors}")
    sys.exit(1 if errors or not inside else 0)


if __name__ == "__main__":
    main()
