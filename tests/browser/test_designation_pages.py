"""A release's lead statistician and statistics status, set on the real admin form in Chromium.

The press officer names the lead statistician and sees the status read-only; a publisher sets the
status; once the release is out, the public page shows the new label by its title, the statistician
beside it, and the label's link explains the status on the statement of compliance.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from .conftest import said, screenshot

pytestmark = pytest.mark.browser


def test_a_publisher_sets_the_status_and_the_public_page_shows_it(sign_in, people):
    from playwright.sync_api import expect

    from stats.models import Release
    from stats.publishing import services

    root = people["superuser"]
    draft = services.start_next_release(source=Release.objects.get(), by=root)
    services.confirm_figures(release=draft, by=root)
    change = reverse("admin:statistics_release_change", args=[draft.pk])

    # The press officer names the lead statistician; the status is shown to them, not offered.
    officer = sign_in(people["press officer"])
    officer.goto(officer.base + change)
    expect(officer.locator("select[name=designation]")).to_have_count(0)
    expect(officer.locator(".field-designation .readonly")).to_have_text("Management information")
    officer.locator("#id_statistician_name").fill("Jo Bloggs")
    officer.locator("#id_statistician_email").fill("jo.bloggs@example.org")
    officer.locator("#id_statistician_phone").fill("020 7946 0123")
    officer.locator("input[name=_save]").click()
    said(officer, "was changed successfully")

    # The publisher sets the status on the same form.
    publisher = sign_in(people["publisher"])
    publisher.goto(publisher.base + change)
    status = publisher.locator("select[name=designation]")
    expect(status.locator("option:checked")).to_have_text("Management information")
    status.select_option(label="Official statistics")
    screenshot(publisher, "designation-admin")
    publisher.locator("input[name=_save]").click()
    said(publisher, "was changed successfully")
    draft.refresh_from_db()
    assert draft.designation == Release.Designation.OFFICIAL and draft.last_edited_by == people["publisher"]

    # Someone else sends it out (two pairs of eyes), acknowledging the change of status.
    services.submit_release(release=draft, by=root, acknowledge_warnings=True)
    services.publish_now(release=Release.objects.get(pk=draft.pk), by=root, acknowledge_warnings=True)

    reader = publisher.context.browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    reader.goto(publisher.base + "/statistics/2010-03-10/")
    label = reader.locator(".newsroom-statistics-status")
    expect(label.locator(".nhsuk-tag")).to_have_text("Official statistics")
    lead = reader.locator(".newsroom-release__facts .newsroom-lead-statistician")
    expect(lead).to_have_text("Jo Bloggs, jo.bloggs@example.org, 020 7946 0123")
    expect(lead.get_by_role("link", name="020 7946 0123")).to_have_attribute("href", "tel:+44-20-7946-0123")
    screenshot(reader, "designation-release")
    label.get_by_role("link", name="What this status means").click()
    assert reader.url.endswith("/statistics/compliance/#official")
    expect(reader.locator("h3#official")).to_be_in_viewport()
    reader.context.close()
