"""The admin pages of each role's week, in Chromium, for a person using a screen reader, a keyboard or
a small pointer: no axe-core violation (WCAG 2.0, 2.1 and 2.2 A and AA, and best practice), every box
of a release's figures named for its measure, buttons that neither overlap the heading nor are too
small to hit (WCAG 2.2, 2.5.8)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from .conftest import AXE_OPTIONS, said, screenshot, sideways_scroll

pytestmark = pytest.mark.browser

ADMIN_AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": [*AXE_OPTIONS["runOnly"]["values"], "best-practice"]},
    "resultTypes": ["violations"],
}


def accessible(page, name: str) -> None:
    """No axe-core violation, nothing wider than the window; a screenshot."""
    from axe_playwright_python.sync_playwright import Axe

    page.locator("#content").wait_for()
    screenshot(page, f"admin-accessible-{name}")
    assert sideways_scroll(page) == 0, f"{name}: wider than the window"
    results = Axe().run(page, options=ADMIN_AXE_OPTIONS)
    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"


@pytest.fixture
def draft(newsroom, people):
    """This week's draft (w/c 10 March 2010), started from the seed release by a press officer."""
    from stats.models import Release
    from stats.publishing import services

    return services.start_next_release(source=Release.objects.get(), by=people["press officer"])


@pytest.fixture
def in_review(draft, people):
    """This week's draft, its figures confirmed and submitted by the press officer."""
    from stats.publishing import services

    services.confirm_figures(release=draft, by=people["press officer"])
    services.submit_release(release=draft, by=people["press officer"], acknowledge_warnings=True)
    draft.refresh_from_db()
    return draft


def open_release(page, label: str) -> None:
    """From the admin's home page, as people go: Releases, then the week."""
    page.goto(page.base + reverse("admin:index"))
    page.get_by_role("link", name="Releases").first.click()
    page.get_by_role("link", name=label, exact=True).click()
    page.locator("#workflow-panel").wait_for()


# Every box in a row of a release's figures or bullets: its name (from its labels) and the row's name.
ROW_BOXES = """
(group) => [...document.querySelectorAll(`#${group} tbody tr.form-row:not(.empty-form)`)].map((row) => ({
  row: (row.querySelector('td.original p')?.firstChild?.textContent || '').trim(),
  boxes: [...row.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter((box) => box.checkVisibility())
    .map((box) => [...box.labels].map((label) => label.textContent.trim()).join(' ')),
}))
"""


def test_every_box_of_a_figure_says_which_measure_it_is_for(sign_in, people, draft):
    """A screen reader reads "Value for Prescription messages transmitted", not "edit text" 26 times
    over; typed into by that name, the right figure changes."""
    from stats.models import Figure

    officer = sign_in(people["press officer"])
    open_release(officer, "w/c 10 March 2010")

    rows = officer.evaluate(ROW_BOXES, "figures-group")
    assert len(rows) == draft.figures.count()
    for row in rows:
        measure = row["row"].rsplit(":", 1)[0]
        columns = ("Metric for", "Value for", "Qualifier for", "As of for", "Note for", "Confirmed for")
        assert row["boxes"] == [*(f"{column} {measure}" for column in columns), f"Delete {measure}"], row
    bullets = officer.evaluate(ROW_BOXES, "statements-group")
    assert len(bullets) == draft.statements.count()
    assert bullets[0]["boxes"] == [
        "Programme for Choose and Book bullet “{cab-patients-referred|rounded} patients have been referred…”",
        "Order for Choose and Book bullet “{cab-patients-referred|rounded} patients have been referred…”",
        "Text for Choose and Book bullet “{cab-patients-referred|rounded} patients have been referred…”",
        "Delete Choose and Book bullet “{cab-patients-referred|rounded} patients have been referred…”",
    ]

    value = officer.get_by_label("Value for Prescription messages transmitted", exact=True)
    assert value.input_value() == "306,774,292"
    qualifier = officer.get_by_role("combobox", name="Qualifier for Prescription messages transmitted")
    assert qualifier.count() == 1
    accessible(officer, "release-draft")

    value.fill("310,000,000")
    officer.get_by_role("button", name="Save and continue editing").click()
    said(officer, "was changed successfully")
    assert Figure.objects.get(release=draft, metric__slug="eps-messages-total").value == 310_000_000

    # A row added for another figure is named too, once the page has numbered it.
    officer.get_by_role("button", name=re.compile("^Add another figure$", re.IGNORECASE)).click()
    added = officer.locator("#figures-group tbody tr.form-row.dynamic-figures").last
    assert added.locator("td.field-value label").inner_text() == "Value for the new figure"
    box = added.locator("td.field-value input")
    assert box.get_attribute("id") == added.locator("td.field-value label").get_attribute("for")


# The page's heading and every button above the form, as boxes.
BOXES = """
() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {text: el.innerText.trim(), left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            width: r.width, height: r.height}; };
  return {
    headings: [...document.querySelectorAll('#content > h1, #content > h2')].map(box),
    buttons: [...document.querySelectorAll('.object-tools a, #workflow-panel .button')]
      .filter((el) => el.checkVisibility()).map(box),
  };
}
"""


def overlap(a: dict, b: dict) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def assert_buttons_clear_of_the_heading(page, name: str) -> None:
    boxes = page.evaluate(BOXES)
    assert boxes["headings"] and boxes["buttons"], boxes
    for button in boxes["buttons"]:
        assert button["height"] >= 24 and button["width"] >= 24, f"{name}: too small to hit: {button}"
        assert button["left"] >= 0 and button["right"] <= 1280, f"{name}: off the page: {button}"
        for heading in boxes["headings"]:
            assert not overlap(button, heading), f"{name}: {button['text']!r} covers {heading['text']!r}"
    buttons = boxes["buttons"]
    for index, button in enumerate(buttons):
        for other in buttons[index + 1 :]:
            assert not overlap(button, other), f"{name}: {button['text']!r} covers {other['text']!r}"


def test_the_release_page_buttons_sit_clear_of_its_heading_at_1280_px(sign_in, people, draft):
    """ "History", "Import figures", the workflow buttons: none drawn over the release's heading."""
    officer = sign_in(people["press officer"])
    open_release(officer, "w/c 10 March 2010")
    assert officer.get_by_role("link", name="History", exact=True).is_visible()
    assert_buttons_clear_of_the_heading(officer, "draft, as its press officer")
    screenshot(officer, "admin-release-heading-and-buttons", full_page=False)

    publisher = sign_in(people["publisher"])
    open_release(publisher, "w/c 3 March 2010")
    assert publisher.get_by_role("link", name="Withdraw").is_visible()
    assert_buttons_clear_of_the_heading(publisher, "published, as a publisher")
    accessible(publisher, "release-published")


def test_the_release_list_filters_are_big_enough_to_hit(sign_in, people, draft):
    publisher = sign_in(people["publisher"])
    publisher.goto(publisher.base + reverse("admin:index"))
    publisher.get_by_role("link", name="Releases").first.click()
    publisher.locator("#changelist-filter").wait_for()
    choices = publisher.locator("#changelist-filter a")
    assert choices.count() > 5
    for index in range(choices.count()):
        box = choices.nth(index).bounding_box()
        assert box["height"] >= 24, (choices.nth(index).inner_text(), box)
    accessible(publisher, "release-list")


def test_a_press_officer_s_week_has_no_accessibility_failures(sign_in, people, newsroom, tmp_path):
    """Home, releases, a new release, starting the week, the draft, an import and its preview, the
    workflow pages, the history, the media contacts: each as the press officer reaches it."""
    officer = sign_in(people["press officer"])
    accessible(officer, "index")

    officer.get_by_role("link", name="Releases").first.click()
    accessible(officer, "release-list")
    officer.get_by_role("link", name="Add release").click()
    officer.get_by_label("Title").wait_for()
    accessible(officer, "release-add")

    open_release(officer, "w/c 3 March 2010")
    officer.get_by_role("link", name="Start the next release").click()
    accessible(officer, "start-next")
    officer.get_by_role("button", name="Start the next release").click()
    said(officer, "Started")
    accessible(officer, "release-draft")

    officer.get_by_role("link", name="Import figures").click()
    accessible(officer, "import-figures")
    sheet = tmp_path / "figures.csv"
    sheet.write_text(
        "period,metric_slug,value\n2010-03-10,eps-messages-total,310000000\n"
        "2010-03-10,cab-bookings-total,23100000\n"
    )
    officer.get_by_label("Spreadsheet").set_input_files(sheet)
    officer.get_by_role("button", name="Check the file").click()
    officer.locator("table.nhsuk-table").wait_for()
    accessible(officer, "import-figures-preview")
    officer.get_by_role("link", name="Cancel").click()

    open_release(officer, "w/c 10 March 2010")
    for step in ("Confirm unchanged figures", "Explain a fall or jump", "Submit for review"):
        officer.get_by_role("link", name=step).click()
        accessible(officer, step.lower().replace(" ", "-"))
        officer.go_back()
    for link, name in (("History", "history"), ("Full history", "full-history")):
        officer.get_by_role("link", name=link, exact=True).click()
        accessible(officer, name)
        officer.go_back()
    officer.get_by_role("link", name="What changed since the previous release").first.click()
    accessible(officer, "what-changed")

    officer.goto(officer.base + reverse("admin:index"))
    officer.get_by_role("link", name="Media contacts").last.click()
    accessible(officer, "contacts-list")
    assert officer.get_by_label(re.compile("^Display order for NHS CFH press office")).count() == 1
    officer.get_by_role("link", name="NHS CFH press office").click()
    accessible(officer, "contact-change")
    assert officer.get_by_role("checkbox", name="Electronic Prescription Service (EPS)").count() == 1


def test_a_publisher_s_week_has_no_accessibility_failures(sign_in, people, in_review):
    """Approving and scheduling, the steps of a scheduled release, pre-release access, a correction
    and a withdrawal: each as the publisher reaches it."""
    from stats.models import Release

    publisher = sign_in(people["publisher"])
    open_release(publisher, "w/c 10 March 2010")
    accessible(publisher, "release-in-review")
    publisher.get_by_role("link", name="Approve and schedule").click()
    accessible(publisher, "approve")
    publish = dt.date.today() + dt.timedelta(days=7)
    publisher.get_by_label("Date:", exact=True).fill(publish.isoformat())
    publisher.get_by_label("Time:", exact=True).fill("09:30:00")
    for box in publisher.get_by_role("checkbox").all():
        box.check()
    publisher.get_by_role("button", name="Approve and schedule").click()
    said(publisher, "Approved")
    assert Release.objects.get(pk=in_review.pk).status == Release.Status.SCHEDULED
    accessible(publisher, "release-scheduled")

    for step in ("Publish now", "Change or confirm the date", "Return to draft", "Cancel this release"):
        publisher.get_by_role("link", name=step).click()
        accessible(publisher, step.lower().replace(" ", "-"))
        publisher.go_back()

    publisher.get_by_role("link", name="Pre-release access ledger").click()
    accessible(publisher, "pre-release-grants")
    publisher.get_by_role("link", name="Add pre-release access grant").click()
    accessible(publisher, "pre-release-grant-add")
    publisher.get_by_label("Release").select_option(label=str(in_review))
    publisher.get_by_label("Name").fill("Ann Lee")
    publisher.get_by_label("Job title").fill("Private secretary to the minister")
    publisher.get_by_label("Organisation").fill("Department of Health")
    publisher.get_by_label("Email").fill("ann.lee@example.org")
    publisher.get_by_label("Reason").fill("Briefing the minister before publication.")
    publisher.get_by_role("button", name="Save and continue editing").click()
    said(publisher, "Ann Lee can open the release from")
    accessible(publisher, "pre-release-grant")

    open_release(publisher, "w/c 3 March 2010")
    for step in ("Correct a figure", "Correct a statement", "Withdraw"):
        publisher.get_by_role("link", name=step).click()
        accessible(publisher, step.lower().replace(" ", "-"))
        publisher.go_back()

    publisher.goto(publisher.base + reverse("admin:index"))
    publisher.get_by_role("link", name="Pre-release access breaches").click()
    accessible(publisher, "pre-release-breaches")
    publisher.get_by_role("link", name="Add pre-release access breach").click()
    accessible(publisher, "pre-release-breach-add")
