"""The public site in a real Chromium: no axe-core WCAG 2.2 A/AA violations, keyboard use, screenshots.

Needs Debian's Chromium (`apt-get install -y chromium`). Without it these tests skip,
unless REQUIRE_BROWSER=1 (as in CI), when they fail instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ARTIFACTS, AXE_OPTIONS, screenshot

pytestmark = pytest.mark.browser

PAGES = {
    "home": lambda: "/",
    "release": lambda: "/statistics/2010-03-03/",
    "synthetic-release": lambda: "/statistics/2009-09-02/",
    "archive": lambda: "/statistics/archive/",
    "programme": lambda: "/statistics/programmes/eps/",
    "metric": lambda: "/statistics/metrics/eps-messages-total/",
    "search": lambda: "/search/?q=prescription",
    "not-found": lambda: "/statistics/no-such-page/",
    "contacts": lambda: "/contacts/",
}


@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_wcag_violations(page, site, name):
    from axe_playwright_python.sync_playwright import Axe

    path = PAGES[name]()
    response = page.goto(site.url + path)
    assert response.status == (404 if name == "not-found" else 200)
    assert page.locator("header.nhsuk-header").is_visible()
    assert page.locator("footer.nhsuk-footer").is_visible()
    # The NHS.UK stylesheet really applied: the header is NHS blue.
    assert page.evaluate("getComputedStyle(document.querySelector('.nhsuk-header')).backgroundColor") == (
        "rgb(0, 94, 184)"
    )
    assert screenshot(page, name).stat().st_size > 0
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()
    assert page.outside_requests() == []


@pytest.mark.parametrize("name", ["release", "metric", "home", "contacts"])
def test_mobile_layout_has_no_wcag_violations(browser, site, name):
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    page = context.new_page()
    page.goto(site.url + PAGES[name]())
    if name != "home":
        assert page.locator(".nhsuk-back-link").is_visible()  # the breadcrumb collapses to a back link
    screenshot(page, f"{name}-mobile")
    results = Axe().run(page, options=AXE_OPTIONS)
    context.close()
    assert results.violations_count == 0, results.generate_report()


def focused(page) -> dict:
    return page.evaluate(
        "(() => { const e = document.activeElement; return {tag: e.tagName, id: e.id,"
        " text: (e.innerText || '').trim(), href: e.getAttribute('href') || ''}; })()"
    )


def tab_until(page, predicate, limit: int = 200) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = focused(page)
        if predicate(element):
            return element
    raise AssertionError(f"Keyboard focus never reached the element after {limit} tabs.")


def test_keyboard_journey_skip_link_release_download(page, site):
    page.goto(site.url + "/")
    page.keyboard.press("Tab")
    first = focused(page)
    assert first["text"] == "Skip to main content"
    assert page.locator(".nhsuk-skip-link").is_visible()  # shown when focused
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "maincontent"
    link = tab_until(page, lambda e: e["tag"] == "A" and e["text"] == "Read the full release")
    assert link["href"] == "/statistics/2010-03-03/"
    screenshot(page, "keyboard-focus-release-link")
    page.keyboard.press("Enter")
    page.wait_for_url(site.url + "/statistics/2010-03-03/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # skip link again, on the release page
    assert focused(page)["id"] == "maincontent"
    tab_until(page, lambda e: e["href"].endswith(".csv"))
    screenshot(page, "keyboard-focus-download-link")
    with page.expect_download() as download_info:
        page.keyboard.press("Enter")
    download = download_info.value
    assert download.suggested_filename == "deployment-statistics-2010-03-03.csv"
    content = Path(download.path()).read_text(encoding="utf-8")  # plain UTF-8; Excel has its own copy
    assert content.startswith("period,programme,metric_slug")
    assert "306774292" in content


def test_print_stylesheet_hides_navigation(page, site):
    page.goto(site.url + "/statistics/2010-03-03/")
    page.emulate_media(media="print")
    assert not page.locator(".nhsuk-header__navigation").is_visible()
    assert not page.locator(".nhsuk-breadcrumb").is_visible()
    assert page.locator("h1").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.pdf(path=str(ARTIFACTS / "release-print.pdf"))


def test_axe_check_does_catch_a_violation(page, site):
    """The accessibility check can fail: an unlabelled image and input are reported."""
    from axe_playwright_python.sync_playwright import Axe

    page.goto(site.url + "/")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        ' \'<img src="/static/vendor/nhsuk/assets/images/favicon.svg"><input type="text">\')'
    )
    results = Axe().run(page, options=AXE_OPTIONS)
    ids = {violation["id"] for violation in results.response["violations"]}
    assert {"image-alt", "label"} <= ids


def test_journalist_filters_to_eps_taps_the_phone_and_saves_the_vcard(page, site):
    import vobject

    page.goto(site.url + "/contacts/")
    page.get_by_label("Programme", exact=True).select_option(label="Electronic Prescription Service (EPS)")
    page.get_by_role("button", name="Show contacts").click()
    page.wait_for_url("**/contacts/?*programme=eps*")
    assert page.locator("#contact-count").inner_text() == "1 contact found"
    assert page.locator(".newsroom-contact-card h3").all_inner_texts() == ["NHS CFH press office"]
    card = page.locator("#nhs-cfh-press-office")
    phone = card.get_by_role("link", name="020 7004 1555")
    assert phone.get_attribute("href") == "tel:+44-20-7004-1555"
    assert phone.inner_text() == "020 7004 1555"
    screenshot(page, "contacts-eps")
    with page.expect_download() as download_info:
        card.get_by_role("link", name="Save to your contacts").click()
    download = download_info.value
    assert download.suggested_filename == "nhs-cfh-press-office.vcf"
    (vcard,) = vobject.readComponents(Path(download.path()).read_text(encoding="utf-8"))
    assert vcard.fn.value == "NHS CFH press office"
    assert vcard.tel.value == "+44 20 7004 1555"
    assert page.outside_requests() == []


def test_a_journalist_sees_when_each_contact_was_last_checked(page, site):
    """Under every media contact, in the directory and on a release page, and in the saved vCard."""
    import vobject

    page.goto(site.url + "/contacts/")
    cards = page.locator(".newsroom-contact-card")
    assert cards.count() == 4
    for index in range(4):
        assert "Details checked on 3 March 2010" in cards.nth(index).inner_text()
    page.goto(site.url + "/statistics/2010-03-03/")
    block = page.locator(".newsroom-contacts")
    assert block.get_by_text("Details checked on 3 March 2010").count() == 4
    screenshot(page, "release-contacts-checked")
    with page.expect_download() as download_info:
        block.locator("#contact-nhs-cfh-press-office").get_by_role(
            "link", name="Save to your contacts"
        ).click()
    (vcard,) = vobject.readComponents(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert vcard.rev.value == "2010-03-03"


def test_scripts_run_under_the_content_security_policy(page, site):
    """The NHS.UK frontend starts from our own files; the policy blocks nothing on the page."""
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = page.goto(site.url + "/statistics/2010-03-03/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    classes = page.evaluate("document.body.className")
    assert "js-enabled" in classes and "nhsuk-frontend-supported" in classes
    # initAll() ran: the frontend marks each component it starts, e.g. the skip link.
    assert page.locator("[data-module='nhsuk-skip-link'][data-nhsuk-skip-link-init]").count() == 1
    assert problems == []


# Records every Content-Security-Policy violation, before any of the page's own code runs.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def test_styles_apply_under_the_content_security_policy(page, site):
    """No inline style is refused on public pages; the NHS.UK styles apply; charts keep their colours."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(str(error)))
    page.add_init_script(RECORD_VIOLATIONS)
    for name in ("home", "release", "programme", "metric", "contacts"):
        response = page.goto(site.url + PAGES[name]())
        assert response.status == 200
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        header = page.evaluate("getComputedStyle(document.querySelector('.nhsuk-header')).backgroundColor")
        assert header == "rgb(0, 94, 184)", name  # NHS blue
        assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith('"Frutiger W01"'), name
        if name in ("programme", "metric"):
            line = page.locator(".newsroom-chart polyline").first
            assert line.evaluate("line => getComputedStyle(line).stroke") == "rgb(0, 92, 184)", name
            title = page.locator(".newsroom-chart text").first
            assert title.evaluate("text => getComputedStyle(text).fontWeight") == "700", name
        assert page.evaluate("window.cspViolations") == [], name
    refused = [m for m in messages if "Content Security Policy" in m or "Refused" in m or "violat" in m]
    assert refused == []
    assert [m for m in messages if m.startswith("error")] == []


NAVIGATION = ["Newsroom", "Statistics", "All releases", "Media contacts"]
NHS_FOCUS_YELLOW = "rgb(255, 235, 59)"

# For each header navigation link: shown, which list it is in, its box, and how many lines its label takes.
NAVIGATION_LINKS = """
() => [...document.querySelectorAll('.nhsuk-header__navigation-link[href]')].map((link) => {
  const box = link.getBoundingClientRect();
  const range = document.createRange();
  range.selectNodeContents(link);
  const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
  return {
    text: link.innerText.trim(),
    visible: link.checkVisibility(),
    inMenu: Boolean(link.closest('.nhsuk-header__menu-list')),
    left: box.left, right: box.right, height: box.height,
    lines: lines.size,
  };
})
"""
# The tops of the items shown in the navigation bar itself (the "More" item included when shown).
NAVIGATION_ROWS = """
() => [...document.querySelector('.nhsuk-header__navigation-list').children]
  .filter((item) => item.checkVisibility())
  .map((item) => Math.round(item.getBoundingClientRect().top))
"""
SIDEWAYS_SCROLL = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def assert_links_read_cleanly(links: list[dict], width: int) -> None:
    for link in links:
        assert link["lines"] == 1, link  # never wrapped mid-label
        assert link["left"] >= 0 and link["right"] <= width, link  # on screen, not cut off
        assert link["height"] >= 24, link  # WCAG 2.2 target size (2.5.8)


@pytest.mark.parametrize("width", [375, 320])
def test_header_navigation_fits_a_phone_screen(browser, site, width):
    """What does not fit goes into the NHS.UK "More" menu: one row, no sideways scroll, keyboard use."""
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(viewport={"width": width, "height": 700}, is_mobile=True)
    page = context.new_page()
    page.goto(site.url + "/contacts/")
    page.locator("[data-module='nhsuk-header'][data-nhsuk-header-init]").wait_for(state="attached")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(SIDEWAYS_SCROLL) == 0
    assert len(set(page.evaluate(NAVIGATION_ROWS))) == 1  # a single row: nothing wrapped onto a second line
    links = page.evaluate(NAVIGATION_LINKS)
    assert [link["text"] for link in links] == NAVIGATION
    shown = [link for link in links if link["visible"]]
    folded = [link["text"] for link in links if link["inMenu"]]
    assert shown and folded, links  # this width needs the menu
    assert all(not link["inMenu"] for link in shown)
    assert_links_read_cleanly(shown, width)
    screenshot(page, f"header-{width}", full_page=False)

    toggle = page.get_by_role("button", name="Browse More")
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    links = page.evaluate(NAVIGATION_LINKS)
    assert all(link["visible"] for link in links), links  # every link reachable
    assert [link["text"] for link in links if link["inMenu"]] == folded
    assert_links_read_cleanly(links, width)
    assert page.evaluate(SIDEWAYS_SCROLL) == 0
    for text in folded:  # each folded link takes keyboard focus, visibly (the NHS.UK yellow)
        page.keyboard.press("Tab")
        assert focused(page)["text"] == text
        assert page.evaluate("getComputedStyle(document.activeElement).backgroundColor") == NHS_FOCUS_YELLOW
    # Not full page: that shot resizes the viewport, and the header moves its links (and focus) again.
    screenshot(page, f"header-{width}-menu-open", full_page=False)
    results = Axe().run(page, options=AXE_OPTIONS)  # target size and reflow with the menu open
    context.close()
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("width", [375, 320])
def test_header_navigation_without_its_script_still_reflows(browser, site, width):
    """Until the header script runs, or if it never does, links wrap whole onto a second row, not sideways."""
    for name, options in {"script-blocked": {}, "no-javascript": {"java_script_enabled": False}}.items():
        context = browser.new_context(viewport={"width": width, "height": 700}, is_mobile=True, **options)
        page = context.new_page()
        page.route("**/js/newsroom.js", lambda route: route.abort())
        page.goto(site.url + "/contacts/")
        links = page.evaluate(NAVIGATION_LINKS)
        assert [link["text"] for link in links if link["visible"]] == NAVIGATION, name
        assert_links_read_cleanly(links, width)
        assert page.evaluate(SIDEWAYS_SCROLL) == 0, name
        screenshot(page, f"header-{width}-{name}", full_page=False)
        context.close()
