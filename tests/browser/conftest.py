"""Chromium through Playwright: the public site and the admin, as the people who use them.

Needs Debian's Chromium (`apt-get install -y chromium`). Without it these tests skip,
unless REQUIRE_BROWSER=1 (as in CI), when they fail instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}
PASSWORD = "correct-horse-battery-staple"


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as error:
        return f"Playwright or axe-playwright-python is not installed ({error})."
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"No Chromium at {CHROMIUM}: install it with `apt-get install -y chromium`."
    return None


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture
def site(transactional_db, live_server):
    """The seed release with a year of synthetic history, served by a live server."""
    from stats.demo.history import generate_history
    from stats.demo.seed import load_seed

    load_seed()
    generate_history(weeks=52)
    return live_server


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    requests: list[str] = []
    tab = context.new_page()
    tab.on("request", lambda request: requests.append(request.url))
    tab.outside_requests = lambda: [u for u in requests if not u.startswith((site.url, "data:", "blob:"))]
    yield tab
    context.close()


# --- the admin, as its users ------------------------------------------------------------------


@pytest.fixture
def newsroom(transactional_db, live_server):
    """The seed release (w/c 3 March 2010, published) served by a live server, with the groups."""
    from tests.factories import make_groups

    make_groups()
    from stats.demo.seed import load_seed

    load_seed()
    return live_server


@pytest.fixture
def people(newsroom, django_user_model):
    """A press officer, a second press officer, a publisher and a superuser, each with a password."""
    from django.contrib.auth.models import Group

    def person(username, group=None, **extra):
        user = django_user_model.objects.create_user(
            username, f"{username}@example.org", PASSWORD, is_staff=True, **extra
        )
        if group:
            user.groups.add(Group.objects.get(name=group))
        return user

    return {
        "press officer": person("pat", "Press officers"),
        "second press officer": person("kim", "Press officers"),
        "publisher": person("sam", "Publishers"),
        "superuser": person("root", is_superuser=True),
    }


@pytest.fixture
def sign_in(browser, newsroom):
    """`sign_in(user)`: a new browser, signed in through the admin's login page, at 1,280 px."""
    contexts = []

    def open_as(user, *, width: int = 1280):
        context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        tab.goto(newsroom.url + "/admin/login/")
        tab.get_by_label("Username").fill(user.username)
        tab.get_by_label("Password").fill(PASSWORD)
        tab.get_by_role("button", name="Log in").click()
        tab.locator("#user-tools").wait_for()  # "Welcome, …": signed in
        tab.base = newsroom.url
        return tab

    yield open_as
    for context in contexts:
        context.close()


def said(page, text: str) -> None:
    """The page tells the person `text`: a message, an error note or a field's error (waits for it)."""
    from playwright.sync_api import expect

    expect(
        page.locator("ul.messagelist, .errornote, ul.errorlist").filter(has_text=text).first
    ).to_be_visible()


def sideways_scroll(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
