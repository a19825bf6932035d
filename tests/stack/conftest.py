"""The site's real processes, started as the README starts them, for the stack tests.

Two pairs:

- the `make run` pair: `manage.py runserver` and `manage.py worker` on one SQLite file, with the
  file cache (runs with the suite on SQLite, `make test`);
- the production pair: gunicorn, an RQ worker and `manage.py worker --catch-up-only`, on a fresh
  PostgreSQL database and a Redis index of their own (runs with the suite on PostgreSQL, when
  DATABASE_URL is a postgres:// address, as in CI). The PostgreSQL server is read from
  DATABASE_URL_POSTGRES (its database name is ignored), else DATABASE_URL, else
  postgres://postgres@127.0.0.1:5432; Redis from STACK_REDIS_URL (default
  redis://127.0.0.1:6379/12: that index is flushed before and after).

Each process writes its output to test-artifacts/stack/<pair>/<name>.log; a failing test shows
the last lines of each. Processes are always stopped, whatever happens to the test. Chromium is
needed as for tests/browser: without it these tests skip, with REQUIRE_BROWSER=1 they fail; with
REQUIRE_BROWSER=1 a missing PostgreSQL or Redis fails the production pair too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.smtp import Inbox, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "stack"
PYTHON = sys.executable  # the project's .venv/bin/python under `make test`
PASSWORD = "newsroom-local"  # dev_admin's users: admin, press, publisher
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
# What a process needs from the environment it is started from; nothing else leaks in (not the
# test run's own DATABASE_URL, NEWSROOM_CACHE=locmem, TASKS_BACKEND, ...).
PASSED_ON = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "TZ")
REQUEST_LINE = re.compile(r'^\{"method": .*"status": \d+.*\}$', re.MULTILINE)


def required() -> bool:
    return os.environ.get("REQUIRE_BROWSER") == "1"


def runs_on_postgresql() -> bool:
    """The suite is running on PostgreSQL (the second half of CI)."""
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


# --- processes -------------------------------------------------------------------------------------


class Process:
    """One long-running process in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path):
        self.name, self.args, self.log = name, args, log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def running(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def stop(self, grace: float = 15) -> None:
        """SIGTERM to its group (gunicorn's and RQ's children too), SIGKILL if it lingers."""
        if self.running():
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait(5)
        # Children left in the group (a work horse, a gunicorn worker) go too.
        self._signal(signal.SIGKILL)
        self._out.close()

    def _signal(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, number)


@dataclass
class Stack:
    """One pair of processes on one database, and the commands run against it."""

    name: str
    env: dict[str, str]
    logs: Path
    base_url: str = ""
    processes: list[Process] = field(default_factory=list)

    def manage(self, *args: str, timeout: float = 300, **env: str) -> str:
        """`manage.py <args>` run to its end, as a person at the terminal would; its output."""
        command = [PYTHON, "manage.py", *args]
        began = time.monotonic()
        done = subprocess.run(
            command,
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = done.stdout + done.stderr
        with (self.logs / "commands.log").open("a") as log:
            log.write(f"$ manage.py {' '.join(args)}  ({time.monotonic() - began:.1f} s)\n{output}\n")
        assert done.returncode == 0, f"manage.py {' '.join(args)} failed ({done.returncode}):\n{output}"
        return output

    def start(self, name: str, args: list[str], **env: str) -> Process:
        process = Process(name, args, {**self.env, **env}, self.logs / f"{name}.log")
        self.processes.append(process)
        return process

    def wait_until_healthy(self, web: Process, timeout: float = 60) -> None:
        """Poll /healthz until it answers 200 {"status": "ok"}; fail at once if the server died."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            assert web.running(), f"{web.name} exited ({web.popen.returncode}):\n{web.tail()}"
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=5) as response:
                    body = json.loads(response.read())
                    if response.status == 200 and body.get("status") == "ok":
                        return
                    last = f"{response.status} {body}"
            except (OSError, urllib.error.URLError, ValueError) as error:
                last = str(error)
            time.sleep(0.25)
        raise AssertionError(f"{web.name} was not healthy within {timeout} s ({last}):\n{web.tail()}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def requests(self) -> list[tuple[str, dict]]:
        """Every request any process logged (newsroom.middleware.RequestLogMiddleware: one JSON line
        each, the web server's and the worker's warming alike), with the process's name."""
        found = []
        for process in self.processes:
            for line in REQUEST_LINE.findall(process.text()):
                found.append((process.name, json.loads(line)))
        return found

    def log_text(self) -> str:
        return "\n".join(process.text() for process in self.processes)

    def tails(self) -> list[tuple[str, str]]:
        return [(process.name, process.tail()) for process in self.processes]


def base_env(tmp: Path, site_url: str, inbox: Inbox) -> dict[str, str]:
    """What every process of a pair shares: the mail relay, the public address, its own media."""
    env = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "newsroom.settings",
            "PYTHONUNBUFFERED": "1",
            "NEWSROOM_SITE_URL": site_url,
            "MEDIA_ROOT": str(tmp / "media"),
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(inbox.port),
            "EMAIL_USE_TLS": "0",
        }
    )
    return env


def prepare(stack: Stack, **admin_env: str) -> None:
    """The database as the README prepares it: migrated, the seed release, the local accounts, two
    years of history, and this week's draft (w/c 10 March 2010) started by the press officer."""
    stack.manage("migrate", "--noinput")
    stack.manage("load_seed")
    stack.manage("dev_admin", **admin_env)
    stack.manage("generate_history", "--weeks", "104")
    stack.manage("release", "start-next", "2010-03-03", "--as", "press")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing stack test shows the last lines of each process's log."""
    outcome = yield
    report = outcome.get_result()
    stack = getattr(item, "stack", None)
    if report.failed and stack is not None:
        for name, tail in stack.tails():
            report.sections.append((f"{stack.name}: {name} (last lines)", tail or "(no output)"))
        report.sections.append((f"{stack.name}: logs", str(stack.logs)))


# --- what the stack tests share --------------------------------------------------------------------


@pytest.fixture
def inbox():
    """A real SMTP server (aiosmtpd) on a free port: the mail relay the processes send through."""
    from aiosmtpd.controller import Controller

    received = Inbox()
    received.port = free_port()
    controller = Controller(received, hostname="127.0.0.1", port=received.port)
    controller.start()
    try:
        yield received
    finally:
        controller.stop()


def artifacts(name: str) -> Path:
    folder = ARTIFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.log"):
        old.unlink()
    return folder


# --- the `make run` pair ---------------------------------------------------------------------------


@pytest.fixture
def on_sqlite():
    if runs_on_postgresql():
        pytest.skip("The make run pair (SQLite) runs with the suite on SQLite (make test).")


@pytest.fixture
def make_run_pair(request, on_sqlite, browser, inbox):
    """`manage.py runserver` and `manage.py worker` on a temporary SQLite file, with the file cache."""
    with tempfile.TemporaryDirectory(prefix="newsroom-stack-") as folder:
        tmp = Path(folder)
        port = free_port()
        stack = Stack("make run pair", base_env(tmp, f"http://127.0.0.1:{port}", inbox), artifacts("sqlite"))
        stack.base_url = f"http://127.0.0.1:{port}"
        stack.env.update(
            {
                "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
                "NEWSROOM_CACHE_DIR": str(tmp / "cache"),
                "TASKS_BACKEND": "database",
                "DEBUG": "1",
            }
        )
        request.node.stack = stack
        try:
            prepare(stack)
            web = stack.start(
                "runserver", [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
            )
            stack.start("worker", [PYTHON, "manage.py", "worker"])
            stack.wait_until_healthy(web)
            yield stack
        finally:
            stack.stop()


# --- the production pair ---------------------------------------------------------------------------


def postgres_server() -> str:
    """The PostgreSQL server's address, without a database name."""
    url = os.environ.get("DATABASE_URL_POSTGRES") or (
        os.environ["DATABASE_URL"] if runs_on_postgresql() else DEFAULT_POSTGRES
    )
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def unreachable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable for the production pair: {error}"
    if required() or runs_on_postgresql():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def postgres_database():
    """A fresh database of this run's own on the PostgreSQL server (dropped at the end); its URL."""
    import psycopg

    server = postgres_server()
    name = f"newsroom_stack_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = psycopg.connect(server + "/postgres", autocommit=True, connect_timeout=5)
    except psycopg.Error as error:
        unreachable(f"PostgreSQL at {server}", error)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{server}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_index():
    """A Redis index of the stack tests' own (the page cache and the RQ queue): flushed before and
    after, and no other index touched."""
    import redis

    url = os.environ.get("STACK_REDIS_URL", DEFAULT_REDIS)
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        unreachable(f"Redis at {url}", error)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def on_postgresql():
    if not runs_on_postgresql():
        pytest.skip("The production pair runs with the suite on PostgreSQL (DATABASE_URL=postgres://…).")


@pytest.fixture
def production_pair(request, on_postgresql, browser, inbox, postgres_database, redis_index):
    """gunicorn (two workers), an RQ worker and the catch-up started once, on PostgreSQL and Redis,
    with DEBUG=0, as the README's "Deploying" and "The release moment" sections start them."""
    with tempfile.TemporaryDirectory(prefix="newsroom-stack-") as folder:
        tmp = Path(folder)
        port = free_port()
        stack = Stack(
            "production pair", base_env(tmp, f"http://127.0.0.1:{port}", inbox), artifacts("postgres")
        )
        stack.base_url = f"http://127.0.0.1:{port}"
        stack.env.update(
            {
                "DATABASE_URL": postgres_database,
                "REDIS_URL": redis_index,
                "TASKS_BACKEND": "rq",
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(64),
                "ALLOWED_HOSTS": "127.0.0.1",
                "SECURE_SSL_REDIRECT": "0",  # no TLS proxy in front here
                "BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": "2",
            }
        )
        request.node.stack = stack
        try:
            stack.manage("collectstatic", "--noinput", "--verbosity", "0")  # as `make serve` does
            prepare(stack, DEBUG="1")  # dev_admin makes the local accounts only with DEBUG on
            gunicorn = str(Path(PYTHON).parent / "gunicorn")
            web = stack.start(
                "gunicorn",
                [gunicorn, "newsroom.wsgi:application", "-c", "newsroom/gunicorn.conf.py"],
                XDG_RUNTIME_DIR=str(tmp),  # its control socket here, not beside another gunicorn's
            )
            stack.start(
                "rqworker",
                [PYTHON, "manage.py", "rqworker", "--with-scheduler", "--job-class", "django_tasks_rq.Job"],
            )
            stack.manage("worker", "--catch-up-only")
            stack.wait_until_healthy(web)
            yield stack
        finally:
            stack.stop()
