"""The production front, started as the README's "Deploying" section sets it up, and slow clients.

- `Site`: gunicorn started as `make serve` starts it (DEBUG=0, collectstatic and migrate first,
  newsroom/gunicorn.conf.py) on a SQLite file and a file cache of its own, and optionally nginx in
  front of it with deploy/nginx/newsroom.conf, edited only where that file says to (the host name
  stays, the certificate is a throwaway self-signed one), listening on free ports, its pid, logs and
  temporary files in a folder of its own: `nginx -p <dir> -c <conf> -g 'daemon off;'`.
- `SlowClients`: connections that send a request's first line, then one header line every few
  seconds, never finishing it (slow loris).
- `measure`: ordinary requests, one after another, timed.

Used by tests/stack/test_slow_clients.py and scripts/slow_clients.py.
"""

from __future__ import annotations

import contextlib
import getpass
import http.client
import os
import secrets
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITE_CONF = ROOT / "deploy" / "nginx" / "newsroom.conf"
HOST = "newsroom.example.org"  # the host name the shipped file names
PYTHON = sys.executable
PASSED_ON = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "TZ")

MAIN_CONF = """\
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    gzip on;
    include {dir}/newsroom.conf;
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nginx_missing() -> str | None:
    """Why nginx cannot be started here, or None."""
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        return "nginx is not installed: apt-get install -y nginx"
    if not shutil.which("openssl"):
        return "openssl is not installed: apt-get install -y openssl"
    return None


def site_config(text: str, *, upstream: str, http_port: int, https_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx/newsroom.conf with its EDIT lines filled in for this machine, and nothing else
    changed: each line the README says to edit must be found, or the shipped file has moved on."""
    edits = {
        "server 127.0.0.1:8000;": f"server {upstream};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/letsencrypt/live/newsroom.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/newsroom.example.org/privkey.pem": str(key),
        "/var/log/nginx/newsroom.access.log": str(Path(cert).parent / "newsroom.access.log"),
    }
    for old, new in edits.items():
        assert old in text, f"{SITE_CONF} no longer has {old!r}"
        text = text.replace(old, new)
    return text


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Site:
    """gunicorn as `make serve` runs it, and nginx in front of it if asked for."""

    folder: Path
    with_nginx: bool = True
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self):
        self.app_port = free_port()
        self.http_port = free_port()
        self.https_port = free_port()
        self.env = (
            {name: os.environ[name] for name in PASSED_ON if name in os.environ}
            | {
                "DJANGO_SETTINGS_MODULE": "newsroom.settings",
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(64),
                "ALLOWED_HOSTS": f"{HOST},127.0.0.1",
                "DATABASE_URL": f"sqlite:///{self.folder / 'db.sqlite3'}",
                "NEWSROOM_CACHE_DIR": str(self.folder / "cache"),
                "MEDIA_ROOT": str(self.folder / "media"),
                "BIND": f"127.0.0.1:{self.app_port}",
                "TRUSTED_PROXIES": "127.0.0.1",
                "LOG_LEVEL": "WARNING",
                "XDG_RUNTIME_DIR": str(self.folder),  # gunicorn's control socket here
            }
            | self.env
        )
        if not self.with_nginx:  # plain HTTP straight to gunicorn: no TLS proxy to redirect to
            self.env["SECURE_SSL_REDIRECT"] = "0"

    # --- addresses ---

    def app_connection(self, timeout: float) -> http.client.HTTPConnection:
        """A connection to gunicorn itself, as a client would make it with nothing in front."""
        return http.client.HTTPConnection("127.0.0.1", self.app_port, timeout=timeout)

    def front_connection(self, timeout: float) -> http.client.HTTPSConnection:
        """A connection to nginx over TLS, for the public host name."""
        return _HostConnection("127.0.0.1", self.https_port, timeout=timeout, context=_trusting())

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        return self.front_connection(timeout) if self.with_nginx else self.app_connection(timeout)

    def raw_socket(self, timeout: float) -> socket.socket:
        """A socket to what readers reach: nginx (TLS) or gunicorn."""
        port = self.https_port if self.with_nginx else self.app_port
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if self.with_nginx:
            sock = _trusting().wrap_socket(sock, server_hostname=HOST)
        return sock

    # --- processes ---

    def manage(self, *args: str) -> None:
        subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def prepare(self) -> None:
        """What `make serve` does before starting gunicorn, and the seed release."""
        self.manage("collectstatic", "--noinput", "--verbosity", "0")
        self.manage("migrate", "--noinput")
        self.manage("load_seed")

    def start(self) -> None:
        gunicorn = str(Path(PYTHON).parent / "gunicorn")
        self._spawn("gunicorn", [gunicorn, "newsroom.wsgi:application", "-c", "newsroom/gunicorn.conf.py"])
        if self.with_nginx:
            self._start_nginx()
        self.wait_until_answering()

    def _start_nginx(self) -> None:
        cert, key = self.folder / "cert.pem", self.folder / "key.pem"
        throwaway = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={HOST}"]
        files = ["-keyout", str(key), "-out", str(cert)]
        subprocess.run(["openssl", *throwaway, *files], check=True, capture_output=True)
        conf = site_config(
            SITE_CONF.read_text(),
            upstream=f"127.0.0.1:{self.app_port}",
            http_port=self.http_port,
            https_port=self.https_port,
            cert=cert,
            key=key,
        )
        (self.folder / "newsroom.conf").write_text(conf)
        # Run as root (CI), nginx's workers would otherwise drop to "nobody", who cannot read here.
        user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
        (self.folder / "nginx.conf").write_text(MAIN_CONF.format(user=user, dir=self.folder))
        command = [nginx_binary(), "-p", str(self.folder), "-c", str(self.folder / "nginx.conf")]
        test = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert test.returncode == 0, f"nginx refused the configuration:\n{test.stderr}"
        self._spawn("nginx", [*command, "-g", "daemon off;"])

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.folder / f"{name}.log").open("wb")
        self.processes.append(
            subprocess.Popen(
                args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    def wait_until_answering(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            for process in self.processes:
                assert process.poll() is None, f"{process.args[0]} exited:\n{self.logs()}"
            try:
                status, _, _ = get(self.connection(5), "/healthz")
                if status == 200:
                    return
                last = str(status)
            except OSError as error:
                last = str(error)
            time.sleep(0.25)
        raise AssertionError(f"the site did not answer within {timeout} s ({last}):\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-30:])
            for path in sorted(self.folder.glob("*.log"))
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, 15)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, 9)
                process.wait(5)


@contextlib.contextmanager
def running_site(*, with_nginx: bool = True, prepared_from: Site | None = None):
    """A prepared, started Site in a temporary folder; stopped and removed after. `prepared_from`:
    share that site's database (and its collected static files), only a new server on it."""
    with tempfile.TemporaryDirectory(prefix="newsroom-front-") as folder:
        site = Site(Path(folder), with_nginx=with_nginx)
        if prepared_from is not None:
            site.env["DATABASE_URL"] = prepared_from.env["DATABASE_URL"]
        else:
            site.prepare()
        try:
            site.start()
            yield site
        finally:
            site.stop()


class _HostConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1, for the public host name (SNI and Host)."""

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=HOST)


def _trusting() -> ssl.SSLContext:
    """TLS that accepts the throwaway certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def get(connection: http.client.HTTPConnection, path: str, method: str = "GET", body=None, headers=None):
    """One request on a new connection: (status, headers, body)."""
    try:
        connection.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# --- slow clients ----------------------------------------------------------------------------------


class SlowClients:
    """`count` connections that each send a request line, then a header line every `interval`
    seconds, and never end the request. `closed()` is how many the server has closed."""

    def __init__(self, site: Site, count: int, interval: float):
        self.site, self.count, self.interval = site, count, interval
        self.sockets: list[socket.socket] = []
        self.closed_at: dict[int, float] = {}
        self.started = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)

    def __enter__(self) -> SlowClients:
        self.started = time.monotonic()
        for n in range(self.count):
            sock = self.site.raw_socket(timeout=10)
            sock.sendall(f"GET /?slow={n} HTTP/1.1\r\nHost: {HOST}\r\n".encode())
            sock.settimeout(0.01)
            self.sockets.append(sock)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _drip(self) -> None:
        line = 0
        while not self._stop.wait(self.interval):
            line += 1
            for n, sock in enumerate(self.sockets):
                if n in self.closed_at:
                    continue
                try:
                    sock.sendall(f"X-Slow-{line}: {'a' * 10}\r\n".encode())
                    if self._answered(sock):
                        self.closed_at[n] = time.monotonic() - self.started
                except OSError:
                    self.closed_at[n] = time.monotonic() - self.started

    @staticmethod
    def _answered(sock: socket.socket) -> bool:
        """Whether the server has answered or closed this connection (it may not take more)."""
        try:
            sock.recv(4096)  # an answer (408), or b"" as it closes
        except (TimeoutError, ssl.SSLWantReadError, BlockingIOError):
            return False
        return True

    def closed(self) -> int:
        return len(self.closed_at)


# --- ordinary readers -----------------------------------------------------------------------------


@dataclass
class Latencies:
    seconds: list[float]
    errors: int  # refused, reset, timed out, or a 5xx

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def max(self) -> float:
        return max(self.seconds) if self.seconds else float("nan")

    def __str__(self) -> str:
        return (
            f"{len(self.seconds)} requests, median {self.median * 1000:.0f} ms, "
            f"max {self.max * 1000:.0f} ms, {self.errors} errors"
        )


def measure(site: Site, seconds: float, paths=("/statistics/", "/healthz"), timeout: float = 10) -> Latencies:
    """Ordinary requests, one after another on new connections, for `seconds`: how long each took
    (a request that failed counts its time too)."""
    took, errors = [], 0
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        path = paths[n % len(paths)]
        n += 1
        began = time.monotonic()
        try:
            status, _, _ = get(site.connection(timeout), path)
            errors += status >= 500
        except (OSError, http.client.HTTPException):
            errors += 1
        took.append(time.monotonic() - began)
    return Latencies(took, errors)


# --- Varnish in front (deploy/varnish/newsroom.vcl) ------------------------------------------------

VCL = ROOT / "deploy" / "varnish" / "newsroom.vcl"


def varnish_missing() -> str | None:
    if not shutil.which("varnishd") and not Path("/usr/sbin/varnishd").exists():
        return "varnishd is not installed (Debian: apt-get install varnish varnish-modules)"
    if not list(Path("/usr/lib").glob("*/varnish/vmods/libvmod_xkey.so")):
        return "Varnish's xkey module is not installed (Debian: apt-get install varnish-modules)"
    return None


def vcl_for(backend_port: int) -> str:
    """The shipped file, with only what it says to edit: the backend's address."""
    text = VCL.read_text()
    edited = text.replace('.port = "8000";', f'.port = "{backend_port}";')
    assert edited != text, "the shipped VCL no longer names its backend's port as expected"
    return edited


@contextlib.contextmanager
def varnish(folder: Path, *, port: int, backend_port: int, host: str = HOST):
    """varnishd with the shipped VCL on `port`, in front of `backend_port`, until the block ends;
    it answers once the site's /healthz does through it, for `host`."""
    host = {"Host": host}
    (folder / "newsroom.vcl").write_text(vcl_for(backend_port))
    log = (folder / "varnish.log").open("wb")
    process = subprocess.Popen(
        [
            shutil.which("varnishd") or "/usr/sbin/varnishd",
            "-F",  # in the foreground, stopped with the block
            "-j", "none",  # no change of user: the caller's own files
            "-n", str(folder / "varnish"),
            "-a", f"127.0.0.1:{port}",
            "-f", str(folder / "newsroom.vcl"),
            "-s", "malloc,64m",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "varnishd exited:\n" + (folder / "varnish.log").read_text()
            with contextlib.suppress(OSError):
                answer = get(
                    http.client.HTTPConnection("127.0.0.1", port, timeout=5), "/healthz", headers=host
                )
                if answer[0] == 200:
                    break
            assert time.monotonic() < deadline, (
                "Varnish did not answer:\n" + (folder / "varnish.log").read_text()
            )
            time.sleep(0.2)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        process.wait(15)
