"""Varnish in front of gunicorn, set up with deploy/varnish/newsroom.vcl as the README says.

The site marks each public page with how long a front cache may keep it (s-maxage, ending at the
next publish second) and with surrogate keys; a public change purges the keys of the pages that
show it. Here, with real processes: a kept page is never served past a release's second; a
correction purges exactly the pages that show the corrected figure (its release's page, the next
release's, which compares with it, and the site-wide pages), and every other release's page stays
kept; tracking parameters do not split what is kept; signed-in staff are never served a kept page.
Runs with the suite on SQLite, on a SQLite file and a file cache of its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import required, runs_on_postgresql
from .front import PYTHON, ROOT, Site, free_port, get, varnish, varnish_missing

pytestmark = pytest.mark.stack


class Front:
    """gunicorn (as `make serve` runs it) with Varnish in front."""

    def __init__(self, folder: Path):
        self.site = Site(folder, with_nginx=False)
        self.port = free_port()
        self.site.env["VARNISH_URLS"] = f"http://127.0.0.1:{self.port}"
        self.folder = folder
        self.stack = contextlib.ExitStack()

    def start(self) -> None:
        self.site.prepare()
        self.shell("from stats.demo.history import generate_history; generate_history(weeks=3)")
        local = {**self.site.env, "DEBUG": "1"}  # dev_admin makes the local accounts only with DEBUG on
        subprocess.run(
            [PYTHON, "manage.py", "dev_admin"], cwd=ROOT, env=local, check=True, capture_output=True
        )
        self.site.start()
        self.varnish = self.stack.enter_context(
            varnish(self.folder, port=self.port, backend_port=self.site.app_port)
        )

    def stop(self) -> None:
        self.stack.close()
        self.site.stop()

    def get(self, path: str, **headers) -> tuple[int, dict, bytes]:
        import http.client

        return get(http.client.HTTPConnection("127.0.0.1", self.port, timeout=10), path, headers=headers)

    def shell(self, code: str) -> str:
        """Python run in the site's own settings (a press office's change through the services)."""
        done = subprocess.run(
            [PYTHON, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=ROOT,
            env=self.site.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def front():
    if runs_on_postgresql():
        pytest.skip("Varnish in front runs with the suite on SQLite (make test).")
    reason = varnish_missing()
    if reason:
        if required():
            pytest.fail(f"REQUIRE_BROWSER=1 but Varnish cannot run: {reason}")
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(prefix="newsroom-varnish-") as folder:
        front = Front(Path(folder))
        try:
            front.start()
            yield front
        finally:
            front.stop()


def served(front: Front, path: str, **headers) -> tuple[str, bytes, dict]:
    """Whether Varnish had the page ("hit" or "miss"), its body and headers."""
    status, response_headers, body = front.get(path, **headers)
    assert status == 200, (path, status)
    return response_headers["X-Front-Cache"], body, response_headers


RELEASES = ("/statistics/2010-03-03/", "/statistics/2010-02-24/", "/statistics/2010-02-17/")
SITE_PAGES = ("/", "/statistics/metrics/eps-messages-total/", "/statistics/archive/", "/api/v1/releases/")


def test_a_correction_purges_exactly_the_pages_that_show_the_figure(front):
    for path in RELEASES + SITE_PAGES:
        served(front, path)
        how, _, headers = served(front, path)
        assert how == "hit", path
        assert "xkey" not in {name.lower() for name in headers}, "the keys are Varnish's, not readers'"
    value = front.shell(
        "from decimal import Decimal\n"
        "from django.contrib.auth import get_user_model\n"
        "from stats.models import Figure\n"
        "from stats.publishing.corrections import correct_figure\n"
        "figure = Figure.objects.get(release__period_date='2010-02-24', metric__slug='eps-messages-total')\n"
        "publisher = get_user_model().objects.filter(groups__name='Publishers').first()\n"
        "correct_figure(figure=figure, by=publisher, value=figure.value + 7, reason='Late returns.')\n"
        "print(int(figure.value + 7))"
    ).strip()
    shown = f"{int(value):,}".encode()
    # Its release, the next (which compares with it) and every page built from all releases: gone.
    for path in ("/statistics/2010-02-24/", "/statistics/2010-03-03/", *SITE_PAGES):
        assert served(front, path)[0] == "miss", f"{path} was still kept after the correction"
    assert shown in served(front, "/statistics/2010-02-24/")[1]
    assert shown in served(front, "/statistics/metrics/eps-messages-total/")[1]
    # A release that does not show the figure: still kept.
    assert served(front, "/statistics/2010-02-17/")[0] == "hit"


def test_nothing_is_served_past_a_release_second(front):
    second = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=5)
    front.shell(
        "import datetime as dt\n"
        "from stats.models import Figure, Release\n"
        "latest = Release.objects.get(period_date='2010-03-03')\n"
        "coming = Release.objects.create(period_date=dt.date(2010, 3, 10), status=Release.Status.SCHEDULED, "
        f"publish_at=dt.datetime.fromisoformat('{second.isoformat()}'), date_confirmed=True)\n"
        "for figure in latest.figures.all():\n"
        "    figure.pk, figure.release = None, coming\n"
        "    figure.save()\n"
        "from stats.publishing import public\n"
        "public.release_listed()  # as approving it says\n"
    )
    served(front, "/statistics/")
    how, body, headers = served(front, "/statistics/")
    assert how == "hit" and b"w/c 3 March 2010" in body
    s_maxage = int(re.search(r"s-maxage=(\d+)", headers["Cache-Control"]).group(1))
    assert s_maxage <= (second - dt.datetime.now(dt.UTC)).total_seconds() + 1, headers["Cache-Control"]
    time.sleep(max(0.0, (second - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)
    _, body, _ = served(front, "/statistics/")
    assert b"w/c 10 March 2010" in body, "the release page of before its second was served after it"


def test_tracking_parameters_do_not_split_what_is_kept(front):
    served(front, "/statistics/calendar/")
    assert served(front, "/statistics/calendar/?utm_source=newsletter&utm_medium=email")[0] == "hit"
    assert served(front, "/statistics/calendar/?fbclid=abc")[0] == "hit"
    # Signed-in staff (a session cookie) are passed to the site, never served what is kept.
    assert served(front, "/statistics/calendar/", Cookie="sessionid=anything")[0] == "miss"


def test_purging_is_only_for_the_site_s_own_servers_and_names_its_keys(front):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    status, _, _ = get(connection, "/", method="PURGE")
    assert status == 400  # no keys named: nothing purged
    served(front, "/statistics/revisions/")
    assert served(front, "/statistics/revisions/")[0] == "hit"
