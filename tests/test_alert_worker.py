"""The real task worker, killed mid-send and started again: every subscriber gets the alert once.

Out of process, as in production: a scratch database of the engine under test, a real SMTP server
(aiosmtpd), `manage.py worker` as a subprocess, SIGKILL while it sends to 1,000 subscribers, then a
new worker whose catch-up finishes the job. A message the killed worker had handed to the SMTP
server but not yet recorded is sent again with the same Message-ID, so the receiving mail system
sees one message: each subscriber has exactly one alert, by Message-ID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from tests.smtp import smtp_server

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIBERS = 1000

SET_UP = f"""
from django.utils import timezone
from alerts.models import Subscriber
from stats.demo.seed import load_seed
from alerts import tasks
release = load_seed()
now = timezone.now()
Subscriber.objects.bulk_create(
    Subscriber(email=f"reader{{n}}@example.org", every_release=True, confirmed_at=now)
    for n in range({SUBSCRIBERS})
)
tasks.send_release_alerts.enqueue(release.pk)
"""
STATUSES = """
from collections import Counter
from alerts.models import Delivery
print(dict(Counter(Delivery.objects.values_list("status", flat=True))))
"""


@pytest.fixture
def scratch_database(tmp_path):
    """A database the worker processes share: a SQLite file, or a scratch PostgreSQL database."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if "sqlite" in engine:
        yield f"sqlite:///{tmp_path / 'worker.sqlite3'}"
        return
    import psycopg

    name = f"newsroom_worker_{uuid.uuid4().hex[:8]}"
    server = settings.DATABASES["default"]
    host, port = server["HOST"] or "127.0.0.1", server["PORT"] or 5432
    admin = f"host={host} port={port} user={server['USER']} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{server['USER']}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        **kwargs,
    )


def worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {seconds} s waiting for {what}.")


def test_a_worker_killed_mid_send_and_started_again_sends_each_alert_once(scratch_database, settings):
    with smtp_server(settings) as inbox:
        env = {
            **os.environ,
            "DATABASE_URL": scratch_database,
            "DEBUG": "1",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(inbox.port),
            "EMAIL_USE_TLS": "0",
            "NEWSROOM_ALERTS_PER_SECOND": "2000",
            "NEWSROOM_ALERTS_STALE_SECONDS": "2",
            "NEWSROOM_CATCH_UP_SECONDS": "1",
            "NEWSROOM_SITE_URL": "http://127.0.0.1:8000",
            "TASKS_BACKEND": "database",
            "REDIS_URL": "",
        }
        manage(env, "migrate", "--noinput")
        manage(env, "shell", "--no-imports", "-c", SET_UP)

        first = worker(env)
        try:
            wait_until(lambda: len(inbox) >= SUBSCRIBERS // 3, 120, "a third of the alerts")
        finally:
            first.send_signal(signal.SIGKILL)  # mid-send: no chance to record what it was doing
            first.wait()
        killed_at = len(inbox)
        assert killed_at < SUBSCRIBERS, "the worker finished before it could be killed"

        second = worker(env)
        try:
            wait_until(
                lambda: len({r.recipients[0] for r in inbox.received}) >= SUBSCRIBERS, 180, "every subscriber"
            )
            time.sleep(1)  # anything still in flight lands
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)

        ids = Counter()
        for message in inbox.received:
            ids[(message.recipients[0], message.message["Message-ID"])] += 1
        recipients = Counter(recipient for recipient, _ in ids)
        assert len(recipients) == SUBSCRIBERS
        assert all(count == 1 for count in recipients.values()), "someone got two different alerts"
        resent = sum(count - 1 for count in ids.values())
        assert resent <= 1, f"{resent} messages sent twice: only the one in flight at the kill may be"
        statuses = manage(env, "shell", "--no-imports", "-c", STATUSES).stdout
        assert statuses.strip() == f"{{'sent': {SUBSCRIBERS}}}", statuses
        print(f"killed after {killed_at} alerts; {resent} sent again (same Message-ID)")
