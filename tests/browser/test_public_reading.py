"""Reading the public site on a phone and on a desktop, in a real Chromium.

Every public page at 320 px and 1280 px: no sideways scroll and no axe-core violation; charts
legible on a phone (their text at least 12 CSS px as drawn); the calendar and the revisions a
click away; a keyboard user reaches the downloads without meeting the same link twice.
"""

from __future__ import annotations

import pytest

from .conftest import AXE_OPTIONS, screenshot, sideways_scroll

pytestmark = pytest.mark.browser

PAGES = (
    "/",
    "/statistics/",
    "/statistics/2010-03-03/",
    "/statistics/2009-09-02/",
    "/statistics/archive/",
    "/statistics/archive/2009/",
    "/statistics/calendar/",
    "/statistics/revisions/",
    "/statistics/compliance/",
    "/statistics/programmes/eps/",
    "/statistics/programmes/choose-and-book/",
    "/statistics/metrics/eps-messages-total/",
    "/statistics/metrics/n3-connections/",
    "/search/?q=prescription",
    "/contacts/",
    "/subscribe/",
    "/api/",
    "/statistics/no-such-page/",
)


@pytest.fixture
def reader(browser, site):
    contexts = []

    def open_at(width: int):
        context = browser.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 400)
        contexts.append(context)
        return context.new_page()

    yield open_at
    for context in contexts:
        context.close()


@pytest.mark.parametrize("width", [320, 1280])
def test_every_public_page_fits_the_screen_without_sideways_scroll(reader, site, width):
    from axe_playwright_python.sync_playwright import Axe

    page = reader(width)
    for path in PAGES:
        response = page.goto(site.url + path)
        assert response.status == (404 if "no-such" in path else 200), path
        assert sideways_scroll(page) <= 0, (path, width, sideways_scroll(page))
        if width == 320:
            results = Axe().run(page, options=AXE_OPTIONS)
            assert results.violations_count == 0, (path, results.generate_report())
    screenshot(page, f"reading-{width}")


# The largest text of each visible chart, as drawn on screen (the SVG scales with its column).
CHART_TEXT_SIZES = """
() => [...document.querySelectorAll('figure.newsroom-chart svg')]
  .filter(svg => svg.getBoundingClientRect().width > 0)
  .map(svg => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const sizes = [...svg.querySelectorAll('text')].map(t =>
      parseFloat(getComputedStyle(t).fontSize) * scale);
    return {smallest: Math.min(...sizes), count: sizes.length};
  })
"""


@pytest.mark.parametrize("width", [320, 375])
def test_charts_are_legible_on_a_phone(reader, site, width):
    page = reader(width)
    for path in ("/statistics/metrics/eps-messages-total/", "/statistics/programmes/eps/"):
        page.goto(site.url + path)
        charts = page.evaluate(CHART_TEXT_SIZES)
        assert charts, path
        for chart in charts:
            assert chart["count"] > 0 and chart["smallest"] >= 12, (path, width, chart)
        # The words under the chart say what it shows.
        description = page.locator("figure.newsroom-chart figcaption").first
        assert description.is_visible()
        assert "Latest figure, w/c 3 Mar 2010" in description.inner_text()


def test_the_calendar_and_revisions_are_a_click_away_from_a_release(reader, site):
    page = reader(1280)
    page.goto(site.url + "/statistics/2010-03-03/")
    page.locator("footer").get_by_role("link", name="Release calendar").click()
    assert page.locator("h1").inner_text().startswith("Release calendar")
    page.go_back()
    page.locator("footer").get_by_role("link", name="Revisions and corrections").click()
    assert "Revisions" in page.locator("h1").inner_text()


def test_a_reader_finds_an_older_release_through_its_year_in_the_archive(reader, site):
    page = reader(320)
    page.goto(site.url + "/")
    page.locator("footer").get_by_role("link", name="All releases").click()
    years = page.get_by_role("navigation", name="Choose a year")
    assert years.get_by_role("link", name="2010").get_attribute("aria-current") == "page"
    assert page.get_by_role("link", name="Deployment statistics for w/c 2 September 2009").count() == 0
    years.get_by_role("link", name="2009").click()
    assert page.url.endswith("/statistics/archive/2009/")
    assert page.locator("h1").inner_text().endswith("2009")
    page.get_by_role("link", name="Deployment statistics for w/c 2 September 2009").click()
    assert "w/c 2 September 2009" in page.locator("h1").inner_text()


def test_a_keyboard_user_reaches_the_downloads_without_meeting_a_link_twice(reader, site):
    page = reader(1280)
    page.goto(site.url + "/statistics/2010-03-03/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Enter")
    seen: list[str] = []
    for _ in range(200):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement;"
            " return {href: e.getAttribute('href') || '',"
            " inDownloads: !!e.closest('.newsroom-downloads')}; })()"
        )
        if focused["inDownloads"]:
            break
        if focused["href"]:
            seen.append(focused["href"])
    else:
        raise AssertionError("The keyboard never reached the downloads.")
    repeated = {href for href in seen if seen.count(href) > 1}
    assert not repeated, repeated
