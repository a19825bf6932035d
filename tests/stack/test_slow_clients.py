"""Slow clients against the documented production front: nginx (deploy/nginx/newsroom.conf) before
gunicorn, started as the README's "Deploying" section says (tests/stack/front.py).

Fifty connections that send a request's headers one line every two seconds hold no gunicorn worker:
nginx waits for them, closes them once client_header_timeout has passed, and ordinary readers are
answered as quickly as before meanwhile. (Straight to gunicorn, five such clients hold all five of
its sync workers on two cores, and every other request waits for them: scripts/slow_clients.py
measures both.) Runs with the suite on SQLite, on a SQLite file and a file cache of its own.
"""

from __future__ import annotations

import http.client
import re

import pytest

from .conftest import required, runs_on_postgresql
from .front import HOST, SlowClients, get, measure, nginx_missing, running_site

pytestmark = pytest.mark.stack

SLOW_CLIENTS = 50
DRIP_SECONDS = 2  # one header line this often
HEADER_TIMEOUT = 10  # client_header_timeout in deploy/nginx/newsroom.conf


@pytest.fixture(scope="module")
def front():
    if runs_on_postgresql():
        pytest.skip("The production front runs with the suite on SQLite (make test).")
    reason = nginx_missing()
    if reason:
        if required():
            pytest.fail(f"REQUIRE_BROWSER=1 but the production front cannot run: {reason}")
        pytest.skip(reason)
    with running_site(with_nginx=True) as site:
        yield site


def test_readers_are_answered_quickly_while_fifty_clients_send_their_requests_slowly(front):
    before = measure(front, 2)
    with SlowClients(front, SLOW_CLIENTS, interval=DRIP_SECONDS) as slow:
        during = measure(front, HEADER_TIMEOUT + 3)
        closed = slow.closed()
    assert before.errors == 0, before
    assert during.errors == 0, f"with {SLOW_CLIENTS} slow clients: {during}"
    assert len(during.seconds) >= 20, f"with {SLOW_CLIENTS} slow clients: {during}"
    assert during.median < 0.5 and during.max < 2, f"with {SLOW_CLIENTS} slow clients: {during}"
    # nginx closed every slow connection once its headers had taken longer than client_header_timeout.
    assert closed == SLOW_CLIENTS, f"{closed} of {SLOW_CLIENTS} slow connections closed"


def test_the_front_terminates_tls_and_the_app_knows_it(front):
    status, headers, body = get(front.front_connection(10), "/statistics/")
    assert status == 200 and b"306,774,292" in body
    # X-Forwarded-Proto reached the app from a proxy it trusts: no redirect, HSTS and secure pages.
    assert "max-age=31536000" in headers["Strict-Transport-Security"]
    stylesheet = re.search(rb'<link rel="stylesheet" href="(/static/[^"]+)"', body).group(1).decode()
    status, headers, _ = get(front.front_connection(10), stylesheet)
    assert status == 200 and "immutable" in headers["Cache-Control"]  # whitenoise, through nginx

    status, headers, _ = get(front.app_connection(10), "/statistics/")  # gunicorn itself: plain HTTP
    assert status == 301 and headers["Location"] == f"https://{HOST}/statistics/"
    plain = http.client.HTTPConnection("127.0.0.1", front.http_port, timeout=10)  # nginx's port 80
    status, headers, _ = get(plain, "/statistics/?x=1")
    assert status == 301 and headers["Location"] == f"https://{HOST}/statistics/?x=1"


def test_the_front_slows_down_sign_in_and_subscription_posts_from_one_address(front):
    statuses = []
    for _ in range(8):  # no CSRF token: the app refuses those it is passed (403)
        status, headers, body = get(front.front_connection(10), "/admin/login/", method="POST", body=b"")
        statuses.append(status)
    assert statuses[:6] == [403] * 6  # one a few seconds, and a burst of five
    assert statuses[6:] == [429, 429]
    assert headers["Retry-After"] == "60" and b"Please wait a minute" in body
    status, _, _ = get(front.front_connection(10), "/subscribe/", method="POST", body=b"")
    assert status == 429  # the same allowance for every form post from that address
    status, _, _ = get(front.front_connection(10), "/subscribe/")
    assert status == 200  # reading the forms is never limited


def test_the_front_never_logs_a_personal_link(front):
    """Pre-release and subscription links carry a secret: nginx's access log leaves them out, and no
    line of it carries a Referer, whatever the spelling."""
    secret = "7.abcdef0123456789:1qTQ2x:" + "x" * 43
    paths = [
        f"/statistics/pre-release/2010-03-03/{secret}/",
        f"/STATISTICS/Pre-Release/2010-03-03/{secret}/",
        f"/subscribe/confirm/{secret}/",
        f"/subscribe/manage/{secret}/",
        f"/subscribe/unsubscribe/{secret}/",
        f"//subscribe/unsubscribe%2F{secret}/",
    ]
    referer = {"Referer": f"https://{HOST}/subscribe/manage/{secret}/"}
    for path in paths:
        get(front.front_connection(10), path)
    get(front.front_connection(10), "/statistics/", headers=referer)
    log = (front.folder / "newsroom.access.log").read_text()
    assert "GET /statistics/ HTTP" in log  # the log is written
    assert secret not in log and "x" * 43 not in log
