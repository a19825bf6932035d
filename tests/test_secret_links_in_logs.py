"""Personal links never reach a log whole: every request to a pre-release or subscription link, by
every method and in every spelling, logs "/statistics/pre-release/…", never the token.

Everything any logger writes is read: a handler on the root logger and on every logger that does not
pass its records up, and what the site's own handlers write. Then the same requests to a real
gunicorn with DEBUG=0 and its access log on, reading all it writes to stdout and stderr.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from alerts import tokens
from alerts.models import Subscriber
from newsroom.middleware import redact_secret_links
from stats.publishing import prerelease

from .smtp import free_port
from .test_embargo import scheduled
from .test_pre_release import grant_to

__all__ = ["scheduled"]

ROOT = Path(__file__).resolve().parent.parent


# --- The links, and what of them is secret ------------------------------------------------------


@dataclass(frozen=True)
class Link:
    path: str
    token: str

    @property
    def secrets(self) -> list[str]:
        """The token and each long piece of it (the random part, the signature, the fingerprint)."""
        return [self.token, *(piece for piece in re.split(r"[:.]", self.token) if len(piece) >= 8)]


def links_of(grant, subscriber) -> dict[str, Link]:
    signed = prerelease.signed_token(grant)
    found = {
        "pre-release page": Link(prerelease.link_path(grant), signed),
        "pre-release PDF": Link(prerelease.link_path(grant, pdf=True), signed),
    }
    for purpose in tokens.PURPOSES:
        token = tokens.make(subscriber, purpose)
        found[f"subscription {purpose}"] = Link(f"/subscribe/{purpose}/{token}/", token)
    return found


def leaked(text: str, links: dict[str, Link]) -> list[str]:
    pieces = {piece for link in links.values() for piece in link.secrets}
    return sorted(piece for piece in pieces if piece in text)


def spellings(path: str) -> list[str]:
    """The link as given, and as it may also come: its last slash left off (or one added), its
    address in capitals, a letter percent-encoded, with a query string."""
    prefix = next(p for p in settings.NEWSROOM_SECRET_PATHS if path.startswith(p))
    rest = path.removeprefix(prefix)
    return [
        path,
        path.removesuffix("/") if path.endswith("/") else f"{path}/",
        prefix.upper() + rest,
        f"/%{ord(prefix[1]):02X}{prefix[2:]}{rest}",
        f"{path}?from=email",
    ]


@pytest.mark.parametrize(
    ("line", "written"),
    [
        ("Not Found: /Statistics/Pre-Release/2010-03-10/abc:def/", "Not Found: /Statistics/Pre-Release/…"),
        (
            '"GET /%73ubscribe%2Fmanage%2F1.ab:cd/ HTTP/1.1" 200',
            '"GET /%73ubscribe%2Fmanage%2F… HTTP/1.1" 200',
        ),
        ('{"next": "\\/subscribe\\/confirm\\/1.ab:cd\\/"}', '{"next": "\\/subscribe\\/confirm\\/…"}'),
        ("'path': 'statistics/pre-release/2010-03-10/abc:def'", "'path': 'statistics/pre-release/…'"),
        (f"kwargs={{'token': '1.af89b3e64ef4ac29:{'x' * 43}'}}", "kwargs={'token': '…'}"),
        # Not personal links: left alone.
        (
            "GET /subscribe/ 200; /subscribe/check-your-email/ 200",
            "GET /subscribe/ 200; /subscribe/check-your-email/ 200",
        ),
        ("GET /statistics/pre-releases/ 404 at 12:04:05", "GET /statistics/pre-releases/ 404 at 12:04:05"),
    ],
)
def test_a_log_line_is_written_without_the_secret_part_of_any_personal_link(line, written):
    assert redact_secret_links(line) == written


# --- Everything any logger writes ----------------------------------------------------------------


class Everything(logging.Handler):
    """Every record it is given, as a handler writes it: logger, level, message, traceback."""

    def __init__(self):
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


def all_loggers() -> list[logging.Logger]:
    known = logging.Logger.manager.loggerDict.values()
    return [logging.getLogger(), *(logger for logger in known if isinstance(logger, logging.Logger))]


@contextlib.contextmanager
def every_log_line():
    """(the lines every logger wrote meanwhile, at every level; what the site's own handlers wrote).

    The handler goes on the root logger, which hears every logger that passes its records up, and
    on each logger that does not.
    """
    handler, written = Everything(), io.StringIO()
    loggers = all_loggers()
    alone = [logger for logger in loggers if logger is logging.getLogger() or not logger.propagate]
    levels = {logger: logger.level for logger in loggers}
    own = {h for logger in loggers for h in logger.handlers if isinstance(h, logging.StreamHandler)}
    streams = {h: h.stream for h in own}
    for h in own:
        h.setStream(written)
    for logger in loggers:
        if logger.level or logger is logging.getLogger():
            logger.setLevel(logging.DEBUG)
    for logger in alone:
        logger.addHandler(handler)
    try:
        yield handler.lines, written
    finally:
        for logger in alone:
            logger.removeHandler(handler)
        for logger, level in levels.items():
            logger.setLevel(level)
        for h, stream in streams.items():
            h.setStream(stream)
    unheard = [logger.name for logger in all_loggers() if not logger.propagate and logger not in alone]
    assert not unheard, f"loggers that kept their records from the root and were not read: {unheard}"


# --- In the app: every logger, every method, every spelling ---------------------------------------

METHODS = ("get", "head", "put", "delete", "options", "trace")


def test_no_request_to_a_personal_link_writes_its_token_to_any_log(scheduled, publisher, settings):
    grant = grant_to(scheduled, publisher)
    reader = Subscriber.objects.create(
        email="reader@example.org", confirmed_at=timezone.now(), every_release=True
    )
    links = links_of(grant, reader)
    plain, strict = Client(), Client(enforce_csrf_checks=True)
    asked = 0
    with every_log_line() as (lines, written):
        strict.get("/subscribe/")  # the CSRF cookie the site's own forms post with
        csrf = strict.cookies["csrftoken"].value
        for link in links.values():
            for path in spellings(link.path):
                for method in METHODS:
                    getattr(plain, method)(path)
                plain.post(path)  # as a mail client's one-click unsubscribe
                Client(enforce_csrf_checks=True).post(path)  # no CSRF cookie: refused, 403
                strict.post(path, {"csrfmiddlewaretoken": csrf})  # as the page's own button
                asked += len(METHODS) + 3
            plain.get("/", HTTP_REFERER=f"http://testserver{link.path}")  # a page it links to
            asked += 1
        # With DEBUG on, a POST to a link without its last slash is an error whose traceback names it.
        settings.DEBUG = True
        broken = Client(raise_request_exception=False).post(links["pre-release page"].path.rstrip("/"))
        assert broken.status_code == 500
    output = "\n".join([*lines, written.getvalue()])
    found = [line for line in output.splitlines() if leaked(line, links)]
    assert not found, f"{len(found)} log lines hold a token:\n" + "\n".join(found[:20])

    requests = [line for line in lines if line.startswith("newsroom.requests ")]
    assert len(requests) >= asked  # every request was logged, by path
    for prefix in settings.NEWSROOM_SECRET_PATHS:
        assert f'"path": "{prefix}…"' in output
    assert "django.security.csrf WARNING Forbidden (CSRF cookie not set.): /statistics/pre-release/…" in lines
    assert "django.request WARNING Not Found: /STATISTICS/PRE-RELEASE/…" in lines
    assert "Traceback (most recent call last)" in output and "RuntimeError" in output
    assert output.count("\n") > 100 and written.getvalue()  # the site's own console handler wrote too


def test_a_personal_link_keeps_its_token_through_every_redirect(client, scheduled, publisher, settings):
    grant = grant_to(scheduled, publisher)
    reader = Subscriber.objects.create(email="reader@example.org", confirmed_at=timezone.now())
    for name, link in links_of(grant, reader).items():
        if not link.path.endswith("/"):
            continue
        # Without its last slash: sent on to the link itself, query string and all.
        response = client.get(f"{link.path.removesuffix('/')}?from=email")
        assert response.status_code == 301 and response["Location"] == f"{link.path}?from=email", name
        # In capitals: no redirect anywhere (the token's case is its own), a page that says so.
        assert client.get(link.path.upper()).status_code == 404, name
    # Over plain HTTP behind the proxy: sent on to HTTPS, whole.
    settings.SECURE_SSL_REDIRECT = True
    link = prerelease.link_path(grant)
    response = Client().get(link)  # a new client: its middleware reads the setting
    assert response.status_code == 301 and response["Location"] == f"https://testserver{link}"


# --- A real gunicorn, DEBUG=0, its access log on: all it writes ------------------------------------

# Run in the server's own database: a release scheduled in an hour with one grant, and a subscriber.
SETUP = """
import datetime as dt, json
from django.contrib.auth.models import Group, User
from django.utils import timezone
from alerts.models import Subscriber
from stats.models import Release
from stats.publishing import prerelease, services
from tests.factories import make_groups
from tests.test_secret_links_in_logs import links_of

if not Group.objects.filter(name="Publishers").exists():
    make_groups()

def member(name, group):
    user = User.objects.create_user(name, f"{name}@example.org", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)

press, publisher = member("pat", "Press officers"), member("sam", "Publishers")
release = services.start_next_release(source=Release.objects.get(period_date=dt.date(2010, 3, 3)), by=press)
services.confirm_figures(release=release, by=press)
services.submit_release(release=release, by=press, acknowledge_warnings=True)
in_an_hour = timezone.now() + dt.timedelta(hours=1)
services.approve_release(release=release, by=publisher, publish_at=in_an_hour, acknowledge_warnings=True)
grant = prerelease.grant_access(
    release=release, by=publisher, name="Ann Lee", job_title="Private secretary",
    organisation="Department of Health", email="ann@example.org", reason="Briefing the minister.",
)
reader = Subscriber.objects.create(email="reader@example.org", confirmed_at=timezone.now())
print(json.dumps({name: [link.path, link.token] for name, link in links_of(grant, reader).items()}))
"""
PASSED_ON = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "TZ")


class Gunicorn:
    """gunicorn as `make serve` starts it (newsroom/gunicorn.conf.py), in its own process group."""

    def __init__(self, env: dict[str, str], folder: Path):
        self.env, self.folder, self.port = env, folder, int(env["BIND"].rsplit(":", 1)[1])
        self.stdout, self.stderr = (folder / "gunicorn.out").open("wb"), (folder / "gunicorn.err").open("wb")
        command = [str(Path(sys.executable).parent / "gunicorn"), "newsroom.wsgi:application"]
        self.popen = subprocess.Popen(
            [*command, "-c", "newsroom/gunicorn.conf.py", "--log-level", "debug"],
            cwd=ROOT,
            env=env,
            stdout=self.stdout,
            stderr=self.stderr,
            start_new_session=True,
        )

    def output(self) -> str:
        return "\n".join(
            (self.folder / name).read_text(errors="replace") for name in ("gunicorn.out", "gunicorn.err")
        )

    def ask(self, method: str, path: str, *, secure: bool = True, headers=None, body: bytes = b""):
        """One request as a browser behind the TLS proxy sends it (X-Forwarded-Proto), or as plain HTTP."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": f"127.0.0.1:{self.port}", **({"X-Forwarded-Proto": "https"} if secure else {})}
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in {**sent, **(headers or {}), "Content-Length": str(len(body))}.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            response.read()
            return response
        finally:
            connection.close()

    def raw(self, data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(data)
            return sock.recv(65536)

    def wait_until_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.popen.poll() is None, f"gunicorn exited:\n{self.output()[-3000:]}"
            with contextlib.suppress(OSError):
                if self.ask("GET", "/healthz").status == 200:
                    return
            time.sleep(0.25)
        raise AssertionError(f"gunicorn did not answer in {timeout} s:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM to the process group it was started in, SIGKILL if it lingers."""
        for number, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
            if self.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, number)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(wait)
        self.stdout.close()
        self.stderr.close()


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture
def gunicorn():
    """gunicorn with DEBUG=0 on a SQLite file of its own, with gunicorn's access log on and every
    logger at DEBUG; the personal links it serves."""
    with tempfile.TemporaryDirectory(prefix="newsroom-logs-") as name:
        folder, port = Path(name), free_port()
        env = {key: os.environ[key] for key in PASSED_ON if key in os.environ}
        env |= {
            "DJANGO_SETTINGS_MODULE": "newsroom.settings",
            "PYTHONUNBUFFERED": "1",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "NEWSROOM_CACHE_DIR": str(folder / "cache"),
            "MEDIA_ROOT": str(folder / "media"),
            "TASKS_BACKEND": "database",
            "NEWSROOM_SITE_URL": f"http://127.0.0.1:{port}",
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "2",
            "LOG_LEVEL": "DEBUG",
            "GUNICORN_ACCESS_LOG": "-",
        }
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")  # as `make serve` does
        manage(env, "migrate", "--noinput")
        manage(env, "load_seed")
        made = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
        links = {name: Link(path, token) for name, (path, token) in made.items()}
        server = Gunicorn(env, folder)
        try:
            server.wait_until_healthy()
            yield server, links
        finally:
            server.stop()


@pytest.mark.stack
def test_gunicorn_writes_no_token_to_stdout_or_stderr(gunicorn):
    server, links = gunicorn
    origin = {"Origin": f"https://127.0.0.1:{server.port}"}
    form = server.ask("GET", "/subscribe/")
    assert form.status == 200, server.output()[-4000:]
    cookie = form.getheader("Set-Cookie").split(";")[0]  # csrftoken=…
    with_csrf = {**origin, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": cookie.split("=", 1)[1]}).encode()
    answers = []
    for link in links.values():
        for path in spellings(link.path):
            for method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"):
                answers.append(server.ask(method, path).status)
            answers.append(server.ask("POST", path, headers=origin).status)  # no CSRF cookie
            answers.append(server.ask("POST", path, headers=with_csrf, body=body).status)
            answers.append(server.ask("GET", path, secure=False).status)  # sent on to HTTPS
        answers.append(server.ask("GET", "/", headers={"Referer": f"https://127.0.0.1{link.path}"}).status)
        server.raw(f"GET {link.path}\r\n\r\n".encode())  # refused
    server.stop()
    output = server.output()

    found = [line for line in output.splitlines() if leaked(line, links)]
    assert not found, f"{len(found)} lines of gunicorn's output hold a token:\n" + "\n".join(found[:20])
    assert {200, 301, 303, 403, 404, 405} <= set(answers)
    assert '"GET /statistics/pre-release/… HTTP/1.1" 200' in output  # gunicorn's access log
    assert '"GET / HTTP/1.1" 200' in output and '"https://127.0.0.1/statistics/pre-release/…"' in output
    assert "Forbidden (CSRF cookie not set.): /subscribe/manage/…" in output
    assert (
        "Invalid request from ip=127.0.0.1: Invalid HTTP request line: 'GET /statistics/pre-release/…"
        in output
    )
    assert '"path": "/subscribe/unsubscribe/…", "status": 200' in output  # the request log
