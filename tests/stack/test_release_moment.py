"""The release moment on the real processes, as people meet it.

A reader subscribes to email alerts through /subscribe/ and confirms from the email. A press
officer confirms next week's figures in the admin and submits them; a publisher approves them to
come out a few seconds later. Then, over that second, while the worker publishes the release,
warms the cache and emails the alerts, the press officer keeps saving this week's draft with "Save
and continue editing": every save goes through. The release shows on the public site at its second
(never before), the worker marks it published, and the reader's alert arrives at the mail server.
Nothing is answered with a 5xx.

Run on the `make run` pair (runserver + worker on SQLite) with `make test`, and on the production
pair (gunicorn + RQ worker on PostgreSQL and Redis) with the suite on PostgreSQL: tests/stack/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, Stack

pytestmark = pytest.mark.stack

UK = ZoneInfo("Europe/London")
COMING = "2010-03-17"  # the release that comes out during the test
HEADING = "NHS Connecting for Health deployment statistics (for w/c 17 March 2010)"
READER = "reader@example.org"
LEAD_SECONDS = 15  # from the approval to the release's second
LEAST_SAVES = 10
# What a reader sees once the release is out, on each page they refresh.
PUBLIC = {
    "/statistics/": HEADING,
    "/": "Latest figures: w/c 17 March 2010",
}


@dataclass
class Save:
    seconds: float  # when the button was pressed, from the release's second
    status: int
    ok: bool
    said: str


@dataclass
class Seen:
    path: str
    sent: float
    received: float
    status: int
    shows_release: bool


class Reader(threading.Thread):
    """An anonymous reader refreshing the public pages over the release moment, beside the press
    officer's browser (Playwright's pages belong to one thread)."""

    def __init__(self, base_url: str):
        super().__init__(daemon=True)
        self.base_url = base_url
        self.seen: list[Seen] = []
        self.finished = threading.Event()

    def run(self):
        while not self.finished.is_set():
            for path, marker in PUBLIC.items():
                sent = time.time()
                status, text = self.get(path)
                self.seen.append(Seen(path, sent, time.time(), status, marker in text))
            self.finished.wait(0.25)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=30) as response:
                return response.status, visible_text(response.read().decode())
        except urllib.error.HTTPError as error:
            return error.code, ""
        except OSError:
            return 0, ""

    def first_showing(self, path: str) -> Seen | None:
        return next((s for s in self.seen if s.path == path and s.shows_release), None)


def visible_text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def uk_label(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, UK).strftime("%Y-%m-%d %H:%M:%S")


def sleep_until(epoch: float) -> None:
    while (left := epoch - time.time()) > 0:
        time.sleep(min(left, 0.1))


def wait_for(what: str, condition, seconds: float, shown=None):
    """What `condition` returns once it is true; else fail, with what `shown` says is on the page."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.25)
    raise AssertionError(f"{what} within {seconds} s." + (f" The page says:\n{shown()}" if shown else ""))


# --- the people ------------------------------------------------------------------------------------


def subscribe(reader, stack: Stack, inbox) -> None:
    """The reader asks for every release by email, then confirms from the email that arrives."""
    reader.goto(stack.base_url + "/")
    reader.locator("footer").get_by_role("link", name="Get email alerts").click()
    reader.get_by_label("Email address").fill(READER)
    reader.get_by_label("Every release").check()
    reader.get_by_role("button", name="Subscribe").click()
    expect(reader.get_by_role("heading", level=1)).to_have_text("Check your email")
    email = wait_for("No confirmation email arrived", lambda: inbox.to(READER), 60)[0]
    reader.goto(email.link("/subscribe/confirm/"))
    reader.get_by_role("button", name="Confirm email alerts").click()
    expect(reader.get_by_role("heading", level=1)).to_have_text("Email alerts confirmed")


def sign_in(page, stack: Stack, username: str) -> None:
    page.goto(stack.base_url + "/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#user-tools").wait_for()  # "Welcome, …": signed in


def open_release(page, stack: Stack, week: str) -> str:
    """From the admin's list of releases, the change page of the release for `week`; its address."""
    page.goto(stack.base_url + "/admin/statistics/release/")
    page.locator("#result_list").get_by_role("link", name=week).click()
    page.locator("#workflow-panel").wait_for()
    return page.url


def workflow_panel(page, stack: Stack, week: str) -> str:
    """What the admin's workflow panel says about a release (publishing state, alerts sent)."""
    open_release(page, stack, week)
    return page.locator("#workflow-panel").inner_text()


def confirm_the_figures(officer, stack: Stack) -> None:
    """Next week's figures are all still right: confirmed in one step."""
    open_release(officer, stack, "w/c 17 March 2010")
    officer.get_by_role("link", name="Confirm unchanged figures").click()
    officer.get_by_role("button", name="Confirm all figures not yet updated").click()
    expect(officer.locator("ul.messagelist")).to_contain_text("as still right")


def save_over_the_moment(officer, draft_url: str, moment: float, went_out) -> list[Save]:
    """Save the draft again and again from just before the release's second until the worker has
    published and warmed it (at least LEAST_SAVES times); a failed save is followed by a fresh page,
    as a person would reload."""
    sleep_until(moment - 3)
    saves: list[Save] = []
    while len(saves) < 60:
        officer.get_by_label("Title").fill(f"Deployment statistics, edit {len(saves) + 1}")
        pressed = time.time()
        with officer.expect_navigation(timeout=90_000) as navigation:
            officer.get_by_role("button", name="Save and continue editing").click()
        status = navigation.value.status
        messages = officer.locator("ul.messagelist, .errornote")
        said = messages.first.inner_text() if messages.count() else officer.locator("h1").first.inner_text()
        ok = status == 200 and "was changed successfully" in said
        first_line = (said.strip().splitlines() or [""])[0]
        saves.append(Save(round(pressed - moment, 1), status, ok, first_line[:120]))
        if not ok:
            officer.goto(draft_url)
        if len(saves) >= LEAST_SAVES and (went_out() or time.time() > moment + 20):
            break
    return saves


# --- the journey -----------------------------------------------------------------------------------


def release_moment_journey(stack: Stack, browser, inbox) -> None:
    errors: list[str] = []
    public = browser.new_context(viewport={"width": 1280, "height": 900})
    office = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        for context in (public, office):
            context.set_default_timeout(30_000)
            context.on("response", lambda r: r.status >= 500 and errors.append(f"{r.status} {r.url}"))
        journey(stack, public.new_page(), office.new_page(), inbox, errors)
    finally:
        public.close()
        office.close()


def journey(stack: Stack, reader, officer, inbox, errors: list[str]) -> None:
    subscribe(reader, stack, inbox)

    # Next week's release, confirmed and submitted by the press officer...
    stack.manage("release", "start-next", "2010-03-03", "--period-date", COMING, "--as", "press")
    sign_in(officer, stack, "press")
    confirm_the_figures(officer, stack)
    stack.manage("release", "submit", COMING, "--as", "press", "--acknowledge-warnings")

    # ...approved by the publisher to come out a few seconds from now, while a reader watches and
    # the press officer saves this week's draft over that second.
    watcher = Reader(stack.base_url)
    watcher.start()
    try:
        moment = math.ceil(time.time()) + LEAD_SECONDS
        stack.manage(
            "release",
            "approve",
            COMING,
            "--as",
            "publisher",
            "--at",
            uk_label(moment),
            "--acknowledge-warnings",
        )
        draft_url = open_release(officer, stack, "w/c 10 March 2010")
        saves = save_over_the_moment(
            officer, draft_url, moment, lambda: f"Published {HEADING}; warmed" in stack.log_text()
        )
        wait_for(
            "The release did not show on the public pages",
            lambda: all(watcher.first_showing(path) for path in PUBLIC),
            30,
        )
    finally:
        watcher.finished.set()
        watcher.join(60)

    report = "\n".join(
        f"{s.seconds:+6.1f} s  {s.status}  {'ok ' if s.ok else 'NOT'}  {s.said}" for s in saves
    )
    (stack.logs / "saves.txt").write_text(report + "\n")
    succeeded = sum(s.ok for s in saves)
    print(f"{stack.name}: {succeeded} of {len(saves)} saves succeeded\n{report}")
    assert succeeded == len(saves), f"{succeeded} of {len(saves)} saves succeeded:\n{report}"
    assert saves[0].seconds < 0 < saves[-1].seconds, f"The saves did not span the release's second:\n{report}"

    # The public site: not before its second, and within a few seconds of it, on every page.
    for path in PUBLIC:
        first = watcher.first_showing(path)
        early = [s for s in watcher.seen if s.path == path and s.shows_release and s.received < moment]
        assert not early, f"{path} showed the release {moment - early[0].received:.2f} s before its second"
        assert first.received - moment <= 10, (
            f"{path} showed the release {first.received - moment:.1f} s late"
        )
        stale = [s for s in watcher.seen if s.path == path and s.sent > moment and not s.shows_release]
        assert not stale, f"{path} was without the release when asked {stale[0].sent - moment:.2f} s after it"
        before = [s for s in watcher.seen if s.path == path and s.sent < moment and s.status == 200]
        assert before, f"The reader saw no {path} before the release's second: the embargo went unchecked"
    reader.goto(stack.base_url + "/statistics/")
    expect(reader.get_by_role("heading", level=1)).to_contain_text("w/c 17 March 2010")
    reader.goto(stack.base_url + "/")
    expect(reader.locator("#latest-heading")).to_have_text("Latest figures: w/c 17 March 2010")

    # The worker marked it published, and the reader's alert arrives at the mail server.
    panel = lambda: workflow_panel(officer, stack, "w/c 17 March 2010")  # noqa: E731
    wait_for(
        "The worker did not mark the release published", lambda: "Marked published at" in panel(), 30, panel
    )
    subject = f"Published: {HEADING}"
    alert = wait_for(
        f"No alert “{subject}” arrived for {READER}",
        lambda: [r for r in inbox.to(READER) if r.message["Subject"] == subject],
        60,
    )[0]
    assert alert.link(f"/statistics/{COMING}/").startswith(stack.base_url)
    wait_for(
        "The admin did not count the alert as sent", lambda: "Email alerts: 1 sent" in panel(), 30, panel
    )

    # Nothing answered with a 5xx: to the browsers, to the watching reader, in any process's log.
    errors += [f"{s.status} GET {s.path} (reader)" for s in watcher.seen if s.status >= 500 or s.status == 0]
    errors += [
        f"{r['status']} {r['method']} {r['path']} ({name})"
        for name, r in stack.requests()
        if r["status"] >= 500
    ]
    assert not errors, "Server errors:\n" + "\n".join(errors)
    for process in stack.processes:
        assert "Traceback" not in process.text(), f"{process.name} logged an error:\n{process.tail(80)}"


def test_the_make_run_pair_over_a_release_moment(make_run_pair, browser, inbox):
    """runserver + worker on one SQLite file and the file cache."""
    release_moment_journey(make_run_pair, browser, inbox)


def test_the_production_pair_over_a_release_moment(production_pair, browser, inbox):
    """gunicorn + RQ worker + the catch-up on PostgreSQL and Redis, DEBUG=0."""
    release_moment_journey(production_pair, browser, inbox)
