"""The release moment with several workers at once, as real processes on one database.

What follows a release coming out (the late report, warming the cache, the published event that
queues its email alerts) runs once, whoever reaches it: the worker that was down at the second and
comes back to both its catch-up and the queued moment, two workers at the second, a moment
scheduled twice. Each worker is a process of its own on the same database (a SQLite file, or a
scratch PostgreSQL database on the suite's server), as `manage.py worker`s are; emails go to a real
SMTP server (aiosmtpd); what each worker warmed is read from its log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.smtp import smtp_server
from tests.test_alert_worker import ROOT, manage, scratch_database, wait_until  # noqa: F401  (a fixture)

READERS = 3
WARMED = "; warmed "  # what a worker logs when it warms the site for a release that came out

# A publisher with an email, READERS subscribers to every release, and next week's release put
# through the workflow and approved to come out {lead} seconds from now, on a whole second.
SET_UP = """
import datetime as dt, json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from alerts.models import Subscriber
from stats.demo.seed import load_seed
from stats.publishing import services, tasks

User = get_user_model()
officer = User.objects.create_user("pat", "pat@example.org", is_staff=True)
officer.groups.add(Group.objects.get(name="Press officers"))
publisher = User.objects.create_user("sam", "sam@example.org", is_staff=True)
publisher.groups.add(Group.objects.get(name="Publishers"))
officer, publisher = User.objects.get(pk=officer.pk), User.objects.get(pk=publisher.pk)
for n in range({readers}):
    Subscriber.objects.create(
        email=f"reader{{n}}@example.org", every_release=True, confirmed_at=timezone.now()
    )
draft = services.start_next_release(source=load_seed(), by=officer)
services.confirm_figures(release=draft, by=officer)
services.submit_release(release=draft, by=officer, acknowledge_warnings=True)
when = timezone.now().replace(microsecond=0) + dt.timedelta(seconds={lead})
release = services.approve_release(release=draft, by=publisher, publish_at=when, acknowledge_warnings=True)
for _ in range({extra_moments}):  # another scheduler puts the same moment on the queue
    with transaction.atomic():
        tasks.schedule_release_moment(release)
print(json.dumps({{"pk": release.pk, "publish_at": release.publish_at.timestamp()}}))
"""

# What is on the record afterwards: publications, events, the follow-up's claim, the moments' results.
RECORD = """
import json
from django_tasks_db.models import DBTaskResult
from stats.models import Release

release = Release.objects.get(pk={pk})
tasks = DBTaskResult.objects.all()
print(json.dumps({{
    "status": release.status,
    "published_at": release.published_at.timestamp() if release.published_at else None,
    "went_out_at": release.went_out_at.timestamp() if release.went_out_at else None,
    "marked": list(
        release.history.filter(history_change_reason__startswith="Published at its time")
        .values_list("history_change_reason", flat=True)
    ),
    "events": tasks.filter(task_path__endswith=".send_release_alerts").count(),
    "moments": sorted(
        str(t.return_value) for t in tasks.filter(task_path__endswith=".release_moment", status="SUCCESSFUL")
    ),
}}))
"""


def environment(database: str, smtp_port: int, tmp_path: Path, **extra: str) -> dict:
    """One deployment's settings for every process: the database, the mail server, a cache on disk
    shared by the processes (as the web server's and the worker's are), tasks in the database."""
    return {
        **os.environ,
        "DATABASE_URL": database,
        "DEBUG": "1",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "0",
        "LOG_LEVEL": "INFO",
        "NEWSROOM_ALERTS_PER_SECOND": "100",
        "NEWSROOM_CACHE": "",
        "NEWSROOM_CACHE_DIR": str(tmp_path / "cache"),
        "NEWSROOM_SITE_URL": "http://testserver",
        "REDIS_URL": "",
        "TASKS_BACKEND": "database",
        **extra,
    }


def set_up(env: dict, *, lead: int, extra_moments: int = 0) -> dict:
    manage(env, "migrate", "--noinput")
    code = SET_UP.format(readers=READERS, lead=lead, extra_moments=extra_moments)
    out = manage(env, "shell", "--no-imports", "-c", code).stdout
    return json.loads(out.strip().splitlines()[-1])


def record(env: dict, pk: int) -> dict:
    out = manage(env, "shell", "--no-imports", "-c", RECORD.format(pk=pk)).stdout
    return json.loads(out.strip().splitlines()[-1])


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


# Each starts Django, waits for the same instant, then does one worker's part.
AT_ONCE = """
import time
time.sleep(max(0, {start_at} - time.time()))
{work}
"""
RUN_THE_QUEUED_MOMENT = """
from django.core.management import call_command
call_command("db_worker", batch=True, startup_delay=False, reload=False, interval=0, verbosity=0)
"""
RUN_THE_CATCH_UP = """
from stats.publishing.tasks import catch_up
print(catch_up.call())
"""


@pytest.mark.parametrize(
    "moment_after",
    [0.0, 1.0],
    ids=["at once", "the moment while the catch-up warms"],
)
def test_a_worker_back_after_the_second_follows_a_release_up_once(
    scratch_database,  # noqa: F811
    settings,
    tmp_path,
    moment_after,
):
    """The worker was down at the release's second; it comes back, and the catch-up and the queued
    moment run together on two workers (at once, or the moment a second into the catch-up, as in
    the incident): one "Late" email, one warming, one published event."""
    with smtp_server(settings) as inbox:
        env = environment(scratch_database, inbox.port, tmp_path, NEWSROOM_LATE_SECONDS="1")
        release = set_up(env, lead=2)
        sleep_until(release["publish_at"] + 2.5)  # no worker ran at the second: it is now late
        start_at = time.time() + 5  # after both processes have started Django
        running = [
            subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "shell",
                    "--no-imports",
                    "-c",
                    AT_ONCE.format(start_at=at, work=work),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for work, at in ((RUN_THE_QUEUED_MOMENT, start_at + moment_after), (RUN_THE_CATCH_UP, start_at))
        ]
        logs = []
        for process in running:
            out, err = process.communicate(timeout=180)
            assert process.returncode == 0, err
            logs.append(out + err)

        late = [r for r in inbox.received if r.message["Subject"].startswith("Late:")]
        assert len(late) == 1, [r.message["Subject"] for r in late]
        assert late[0].recipients == ["sam@example.org"]
        assert "was marked published" in late[0].text
        warmed = [line for log in logs for line in log.splitlines() if WARMED in line]
        assert len(warmed) == 1, warmed
        on_record = record(env, release["pk"])
        assert on_record["status"] == "published" and len(on_record["marked"]) == 1
        assert on_record["events"] == 1  # release_published sent once: its alerts queued once
        assert on_record["went_out_at"] >= on_record["published_at"]
        print(f"marked: {on_record['marked']}; moment: {on_record['moments']}")


def worker(env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--interval", "0.1"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def test_two_workers_at_the_second_with_the_moment_queued_twice_publish_once(
    scratch_database,  # noqa: F811
    settings,
    tmp_path,
):
    """Two `manage.py worker`s running at a release's second, its moment queued twice (as two
    schedulers would) and the catch-up coming round every two seconds: one publication, one
    warming, one published event, one alert for each subscriber."""
    with smtp_server(settings) as inbox:
        env = environment(scratch_database, inbox.port, tmp_path, NEWSROOM_CATCH_UP_SECONDS="2")
        release = set_up(env, lead=12, extra_moments=1)
        logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
        workers = [worker(env, log) for log in logs]
        try:
            wait_until(lambda: len(inbox) >= READERS, release["publish_at"] - time.time() + 90, "the alerts")
            time.sleep(4)  # the other moment, and catch-ups, have their turn
        finally:
            for process in workers:
                process.send_signal(signal.SIGTERM)
            for process in workers:
                process.wait(timeout=60)

        on_record = record(env, release["pk"])
        assert on_record["status"] == "published" and len(on_record["marked"]) == 1
        assert on_record["published_at"] >= release["publish_at"]  # never before its second
        assert on_record["events"] == 1
        assert len(on_record["moments"]) == 2, on_record["moments"]  # both moments ran; one did the work
        warmed = [line for log in logs for line in log.read_text().splitlines() if WARMED in line]
        assert len(warmed) == 1, warmed
        recipients = sorted(address for received in inbox.received for address in received.recipients)
        assert recipients == sorted(f"reader{n}@example.org" for n in range(READERS))
        assert not any(r.message["Subject"].startswith("Late:") for r in inbox.received)
        print(f"moments: {on_record['moments']}")
