"""The press office's week, through the real admin pages in Chromium.

A press officer starts this week's release from last week's, edits a figure and a bullet on the
release form, fills the supplier template and imports it back (one changed figure, one that falls,
explained), confirms the unchanged rest in one step, previews and submits; a publisher reviews
what changed, approves and schedules; the release goes out at its time; the publisher corrects a
figure and the public notice states what is published.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from stats.wording.ukclock import UK

from .conftest import said, screenshot, sideways_scroll

pytestmark = pytest.mark.browser

THIS_WEEK = "2010-03-10"


def figure_row(page, metric_name: str):
    """The release form's row for one figure, found by the label the press officer reads."""
    return page.locator("#figures-group tr.form-row", has=page.locator("td.original", has_text=metric_name))


def fill_supplier_template(path, values: dict[str, Decimal | None]) -> None:
    """What the supplier does: type this week's value on the rows they send; leave the others empty."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheet = book.active
    headers = [cell.value for cell in sheet[1]]
    slug_column, value_column = headers.index("metric_slug"), headers.index("value")
    assert all(sheet.cell(n, headers.index("as_of") + 1).value is None for n in range(2, sheet.max_row + 1))
    for number in range(2, sheet.max_row + 1):
        slug = sheet.cell(number, slug_column + 1).value
        if slug in values:
            sheet.cell(number, value_column + 1).value = values[slug]
    book.save(path)


def wait_until_public(page, path: str, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if page.request.get(page.base + path).status == 200:
            return
        time.sleep(0.5)
    raise AssertionError(f"{path} did not come out within {seconds} s.")


def test_a_week_in_the_press_office(sign_in, people, tmp_path):
    officer = sign_in(people["press officer"])
    draft = start_this_weeks_release(officer)
    edit_a_figure_and_a_bullet(officer, draft)
    sheet = download_and_fill_the_supplier_template(officer, tmp_path)
    import_refused_until_the_fall_is_explained(officer, draft, sheet)
    note = import_with_the_fall_explained(officer, draft, sheet)
    confirm_the_unchanged_rest(officer, draft)
    lower_the_fallen_figure_by_hand(officer, note)
    explain_the_fall_in_plainer_words(officer, note)
    preview_as_the_public_will_see_it(officer)
    submit_for_review(officer, draft)

    publisher = sign_in(people["publisher"])
    review_what_changed(publisher, draft)
    approve_and_schedule(publisher)
    goes_out_at_its_time(publisher)
    correct_a_figure_in_the_open(publisher)
    the_public_notice_states_what_is_published(publisher)


# -- The steps of the week, in order ------------------------------------------------------------------


def start_this_weeks_release(officer):
    """Last week's release is published: the officer starts this week's from it."""
    from stats.models import Release

    officer.get_by_role("link", name="Releases").first.click()
    officer.get_by_role("link", name="w/c 3 March 2010").click()
    assert "Publishing: Published" in officer.locator("#workflow-panel").inner_text()
    officer.get_by_role("link", name="Start the next release").click()
    officer.get_by_role("button", name="Start the next release").click()
    said(officer, "Started “NHS Connecting for Health deployment statistics (for w/c 10 March 2010)”")
    draft = Release.objects.get(period_date=THIS_WEEK)
    assert (
        draft.summary == "Weekly deployment statistics for the National Programme for IT, w/c 10 March 2010."
    )
    assert sideways_scroll(officer) == 0, "the draft form must fit a 1,280 px window"
    screenshot(officer, "admin-draft-release")
    return draft


def edit_a_figure_and_a_bullet(officer, draft) -> None:
    """Numbers read as people write them, and are typed the same way."""
    from stats.models import Figure

    messages_box = figure_row(officer, "Prescription messages transmitted").locator("td.field-value input")
    assert messages_box.input_value() == "306,774,292"
    messages_box.fill("310,000,000")
    bullet = officer.locator("#statements-group tr.form-row td.field-text textarea").first
    bullet_text = bullet.input_value()
    bullet.fill(bullet_text + " Figures are provisional.")
    officer.get_by_role("button", name="Save and continue editing").click()
    said(officer, "was changed successfully")
    eps = Figure.objects.get(release=draft, metric__slug="eps-messages-total")
    assert eps.value == 310_000_000 and eps.is_confirmed  # a changed value counts as confirmed
    assert draft.statements.filter(text=bullet_text + " Figures are provisional.").exists()
    assert figure_row(officer, "Prescription messages transmitted").locator(
        "td.field-value input"
    ).input_value() == ("310,000,000")


def download_and_fill_the_supplier_template(officer, tmp_path):
    """The supplier fills the template: bookings rise, Summary Care Records fall, two sent unchanged."""
    with officer.expect_download() as download:
        officer.get_by_role("link", name="Download supplier template (XLSX)").click()
    sheet = tmp_path / "supplier.xlsx"
    download.value.save_as(sheet)
    fill_supplier_template(
        sheet,
        {
            "eps-messages-total": Decimal(310_000_000),
            "cab-bookings-total": Decimal(23_100_000),
            "crs-summary-care-records": Decimal(1_200_000),
            "pacs-systems-live": Decimal(127),
            "nhsmail-registered-users": Decimal(500_000),
        },
    )
    return sheet


def import_refused_until_the_fall_is_explained(officer, draft, sheet) -> None:
    """Without an explanation the fall is refused, and the message names the box that explains it."""
    from stats.models import Figure

    officer.get_by_role("link", name="Import figures").click()
    officer.get_by_label("Spreadsheet").set_input_files(sheet)
    officer.get_by_role("button", name="Check the file").click()
    officer.locator(".nhsuk-error-summary").wait_for()
    problems = officer.locator(".nhsuk-error-summary").inner_text()
    assert "Summary Care Records created" in problems and "“Explanation” box" in problems
    assert Figure.objects.get(release=draft, metric__slug="crs-summary-care-records").value == 1_243_911


def import_with_the_fall_explained(officer, draft, sheet):
    """The explanation box named in the message unblocks the fall; the rows the supplier left empty
    keep their figures."""
    from stats.models import Correction, Explanation, Figure

    officer.get_by_label("Spreadsheet").set_input_files(sheet)
    officer.get_by_label("Explanation:", exact=True).fill("The supplier removed records created twice.")
    officer.get_by_role("button", name="Check the file").click()
    officer.locator("table.nhsuk-table").wait_for()
    preview = officer.locator("table.nhsuk-table").inner_text()
    assert "falls: explained (published beside the figure)" in preview
    assert preview.count("confirmed, unchanged") == 2
    assert "21 rows without a value are not sent" in officer.locator("#content-main").inner_text()
    officer.get_by_role("button", name=re.compile(r"Confirm import of 5 rows")).click()
    said(officer, "Imported supplier.xlsx")
    assert Figure.objects.get(release=draft, metric__slug="cab-bookings-total").value == 23_100_000
    assert Figure.objects.get(release=draft, metric__slug="pacs-systems-live").is_confirmed
    assert not Figure.objects.get(release=draft, metric__slug="n3-connections").is_confirmed  # not sent
    note = Explanation.objects.get(release=draft)
    assert (note.old_value, note.new_value) == ("1,243,911 (w/c 3 March 2010)", "1,200,000")
    assert not Correction.objects.filter(release=draft).exists()
    return note


def confirm_the_unchanged_rest(officer, draft) -> None:
    """The rest are still right: confirmed in one step, listed by programme."""
    left = draft.figures.filter(is_confirmed=False).count()
    assert left > 15
    officer.get_by_role("link", name="Confirm unchanged figures").click()
    officer.locator("#id_figures").wait_for()
    groups = officer.locator("#id_figures > div > label").all_inner_texts()
    assert groups[:2] == ["Choose and Book", "Electronic Prescription Service (EPS)"]
    officer.get_by_role("button", name="Confirm all figures not yet updated").click()
    said(officer, f"Confirmed {left} figures as still right.")
    assert not draft.figures.filter(is_confirmed=False).exists()


def lower_the_fallen_figure_by_hand(officer, note) -> None:
    """The figure falls again by hand: the explanation follows it (it states what will be published)."""
    row = figure_row(officer, "Summary Care Records created").locator("td.field-value input")
    row.fill("1,190,000")
    officer.get_by_role("button", name="Save and continue editing").click()
    said(officer, "was changed successfully")
    note.refresh_from_db()
    assert note.new_value == "1,190,000"


def explain_the_fall_in_plainer_words(officer, note) -> None:
    """“Explain a fall or jump” lists the figure the checks found first, marked; explaining it again
    replaces the words."""
    officer.get_by_role("link", name="Explain a fall or jump").click()
    officer.get_by_label("Figure").wait_for()
    choices = [c.strip() for c in officer.get_by_label("Figure").locator("option").all_text_contents()]
    assert choices[1] == "Fell, explained — NHS CRS: Summary Care Records created (1,190,000)"
    assert not any(c.startswith(("Fell", "Changed")) for c in choices[2:])
    officer.get_by_label("Figure").select_option(label=choices[1])
    officer.get_by_label("Why it changed").fill("The supplier removed records that had been created twice.")
    officer.get_by_role("button", name="Explain a fall or jump").click()
    said(officer, "Explained Summary Care Records created")
    note.refresh_from_db()
    assert note.reason == "The supplier removed records that had been created twice."


def preview_as_the_public_will_see_it(officer) -> None:
    """Preview exactly as the public will see it."""
    officer.get_by_role("link", name="Preview as the public will see it").click()
    body = officer.locator("main").inner_text()
    assert "310,000,000" in body
    row = officer.locator("tr", has_text="Summary Care Records created").inner_text()
    assert "1,190,000" in row and "Why it changed: The supplier removed records that had been" in row
    assert officer.locator(".newsroom-corrections").count() == 0  # an explanation, not a correction
    officer.go_back()


def submit_for_review(officer, draft) -> None:
    """Submit: the page says what is checked, and each check passes."""
    from stats.models import Release

    officer.get_by_role("link", name="Submit for review").click()
    checked = officer.locator("ul.newsroom-checks").inner_text()
    assert "Every figure copied from the previous release has been updated or confirmed." in checked
    assert "✗" not in checked
    officer.get_by_role("button", name="Submit for review").click()
    said(
        officer,
        "Submitted “NHS Connecting for Health deployment statistics (for w/c 10 March 2010)” for review",
    )
    draft.refresh_from_db()
    assert draft.status == Release.Status.IN_REVIEW


def review_what_changed(publisher, draft) -> None:
    """A publisher reviews what changed since last week."""
    publisher.goto(publisher.base + f"/admin/statistics/release/{draft.pk}/change/")
    publisher.get_by_role("link", name="What changed since the previous release").click()
    changes = publisher.locator("#content-main").inner_text()
    assert "306,774,292" in changes and "310,000,000" in changes and "+3,225,708 (+1.1%)" in changes
    publisher.go_back()


def approve_and_schedule(publisher) -> None:
    """Approve: a time the clocks skip is refused with the choices; then a time a moment ahead."""
    publisher.get_by_role("link", name="Approve and schedule").click()
    publisher.locator("#id_publish_at_0").fill("2027-03-28")
    publisher.locator("#id_publish_at_1").fill("01:30")
    publisher.get_by_role("button", name="Approve and schedule").click()
    said(
        publisher,
        "01:30 on 28 March 2027 does not exist in UK time (clocks go forward): choose 02:30 or 00:30.",
    )
    soon = (timezone.now() + dt.timedelta(seconds=12)).astimezone(UK)
    publisher.locator("#id_publish_at_0").fill(soon.date().isoformat())
    publisher.locator("#id_publish_at_1").fill(soon.strftime("%H:%M:%S"))
    publisher.get_by_role("button", name="Approve and schedule").click()
    # A 2010 period published in this year: said before approval, and ticked as checked.
    said(publisher, "16 years later")
    publisher.get_by_label("I have checked these changes and they are right").check()
    publisher.get_by_role("button", name="Approve and schedule").click()
    said(publisher, "will be published at")
    assert publisher.request.get(publisher.base + f"/statistics/{THIS_WEEK}/").status == 404


def goes_out_at_its_time(publisher) -> None:
    """It goes out at its time; staff see it as published."""
    wait_until_public(publisher, f"/statistics/{THIS_WEEK}/")
    publisher.reload()
    assert "Publishing: Published" in publisher.locator("#workflow-panel").inner_text()


def correct_a_figure_in_the_open(publisher) -> None:
    """The publisher corrects a figure in the open."""
    publisher.get_by_role("link", name="Correct a figure").click()
    publisher.get_by_label("Figure").select_option(label="Choose and Book: Bookings made (23,100,000)")
    publisher.get_by_label("Value").fill("23,150,000")
    publisher.get_by_label("Reason").fill("The supplier sent a late batch of bookings.")
    publisher.get_by_role("button", name="Correct a figure").click()
    said(publisher, "Corrected Bookings made: was 23,100,000, now 23,150,000.")
    assert "scheduled" not in publisher.locator("ul.messagelist").inner_text().lower()


def the_public_notice_states_what_is_published(publisher) -> None:
    """The public notice states the number now published."""
    public = publisher.context.browser.new_context()
    reader = public.new_page()
    reader.goto(publisher.base + f"/statistics/{THIS_WEEK}/")
    notices = reader.locator(".newsroom-corrections").first.inner_text()
    assert "Correction\n" in notices and "Corrections" not in notices  # one
    assert "Bookings made: was 23,100,000, now 23,150,000." in notices
    assert "Summary Care Records" not in notices  # explained before it came out: not a correction
    row = reader.locator("tr", has_text="Summary Care Records created").inner_text()
    assert "Why it changed: The supplier removed records that had been created twice." in row
    figures = reader.locator("main").inner_text()
    assert "23,150,000" in figures and "1,190,000" in figures
    public.close()
