"""Pre-release access in a real Chromium: a publisher grants it in the admin; the person opens the
link from their email, presses "Open the release" and reads the watermarked release; the link is
refused before its window, after revocation and after publication; at publication the public list
names the roles that had access.
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from ..smtp import smtp_server
from .conftest import AXE_OPTIONS, said, screenshot, sideways_scroll

pytestmark = pytest.mark.browser


@pytest.fixture
def coming(people):
    """Next week's release, approved to come out in an hour (the workflow is tested elsewhere)."""
    from django.utils import timezone

    from stats.models import Release
    from stats.publishing import services

    seed = Release.objects.get(period_date=dt.date(2010, 3, 3))
    release = services.start_next_release(source=seed, by=people["press officer"])
    services.confirm_figures(release=release, by=people["press officer"])
    services.submit_release(release=release, by=people["press officer"], acknowledge_warnings=True)
    services.approve_release(
        release=release,
        by=people["publisher"],
        publish_at=timezone.now().replace(microsecond=0) + dt.timedelta(hours=1),
        acknowledge_warnings=True,
    )
    release.refresh_from_db()
    return release


@pytest.fixture
def inbox(settings, newsroom):
    settings.NEWSROOM_SITE_URL = newsroom.url
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with smtp_server(settings) as received:
        yield received


def accessible(page, name: str) -> None:
    """Fits the screen and passes axe-core (WCAG 2.2 A/AA); a screenshot."""
    from axe_playwright_python.sync_playwright import Axe

    assert sideways_scroll(page) == 0, name
    screenshot(page, name)
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def grant_in_the_admin(tab, release) -> None:
    tab.goto(tab.base + "/admin/")
    tab.get_by_role("link", name="Pre-release access grants").first.click()
    tab.get_by_role("link", name="Add pre-release access grant").click()
    tab.get_by_label("Release").select_option(label=str(release))
    tab.get_by_label("Name").fill("Ann Lee")
    tab.get_by_label("Job title").fill("Private secretary to the minister")
    tab.get_by_label("Organisation").fill("Department of Health")
    tab.get_by_label("Email").fill("ann.lee@example.org")
    tab.get_by_label("Reason").fill("Briefing the minister before publication.")
    tab.get_by_role("button", name="Save", exact=True).click()
    said(tab, "Ann Lee can open the release from")


def test_a_publisher_grants_access_and_the_person_reads_the_watermarked_release_only_in_its_window(
    browser, sign_in, people, coming, inbox
):
    from stats.models import PreReleaseAccess, Release

    # A press officer sees the ledger but cannot grant.
    officer = sign_in(people["press officer"])
    officer.goto(officer.base + "/admin/statistics/prereleasegrant/")
    expect(officer.get_by_role("link", name="Add pre-release access grant")).to_have_count(0)

    publisher = sign_in(people["publisher"])
    grant_in_the_admin(publisher, coming)
    [email] = inbox.received
    assert email.recipients == ["ann.lee@example.org"]
    link = email.link("/pre-release/")

    # Ann, not signed in, on her phone: the watermarked release, its embargoed figures, her PDF.
    ann = browser.new_context(viewport={"width": 320, "height": 800}, is_mobile=True).new_page()
    ann.goto(link)
    expect(ann.get_by_role("heading", level=1)).to_have_text("Pre-release access for Ann Lee")
    accessible(ann, "pre-release-open-320")
    ann.get_by_role("button", name="Open the release").click()
    expect(ann.locator("#preview-banner")).to_contain_text(
        "Pre-release access for Ann Lee. Not for publication until"
    )
    assert "(pre-release access)" in ann.title()
    accessible(ann, "pre-release-320")
    with ann.expect_response(lambda response: response.url.endswith(".pdf")) as pdf:
        ann.get_by_role("link", name="Release summary, watermarked for you").click()
    assert pdf.value.status == 200 and pdf.value.headers["cache-control"] == "private, no-store"

    # Before its window (as if the release were due in 25 hours, not one): refused, saying when.
    Release.objects.filter(pk=coming.pk).update(publish_at=coming.publish_at + dt.timedelta(hours=24))
    ann.goto(link)
    expect(ann.get_by_role("heading", level=1)).to_have_text("This pre-release access link cannot be opened")
    expect(ann.locator("main")).to_contain_text("Pre-release access opens at")
    accessible(ann, "pre-release-refused-320")
    Release.objects.filter(pk=coming.pk).update(publish_at=coming.publish_at)

    # The publisher revokes it on the grant's page: refused at once, and the ledger shows it all.
    publisher.goto(publisher.base + "/admin/statistics/prereleasegrant/")
    publisher.get_by_role("link", name="Ann Lee").click()
    publisher.get_by_label("Revoke this access, because").fill("Moved to another department.")
    publisher.get_by_role("button", name="Save", exact=True).click()
    said(publisher, "access is revoked")
    ann.goto(link)
    expect(ann.locator("main")).to_contain_text("This access was revoked")
    publisher.goto(publisher.base + "/admin/statistics/prereleasegrant/")
    row = publisher.locator("#result_list tbody tr").filter(has_text="Ann Lee")
    expect(row).to_contain_text("Revoked")
    outcomes = list(PreReleaseAccess.objects.order_by("at").values_list("viewed", "outcome"))
    assert outcomes == [("page", "opened"), ("pdf", "opened"), ("page", "refused"), ("page", "refused")]

    # Publication: the link is shut, and the release lists the role that used its access.
    Release.objects.filter(pk=coming.pk).update(publish_at=coming.publish_at - dt.timedelta(hours=2))
    ann.goto(link)
    expect(ann.locator("main")).to_contain_text("closed at publication")
    reader = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    reader.goto(publisher.base + coming.get_absolute_url())
    record = reader.locator("section.newsroom-pre-release")
    expect(record.get_by_role("heading", level=2)).to_have_text("Pre-release access")
    expect(record).to_contain_text("Had access and used it")
    expect(record.get_by_role("listitem")).to_have_text(
        ["Private secretary to the minister, Department of Health"]
    )
    expect(record).not_to_contain_text("Ann Lee")
    reader.context.close()
    ann.context.close()


def test_a_copy_compares_with_what_is_public_now_not_an_earlier_release_still_to_come(
    browser, people, coming, newsroom
):
    """Two releases a half hour apart: access to the later one shows nothing of the earlier one
    before its second (it is compared with the release public now)."""
    from django.utils import timezone

    from stats.models import Release
    from stats.publishing import prerelease, services

    now = timezone.now().replace(microsecond=0)
    Release.objects.filter(pk=coming.pk).update(
        title="Wallaby weekly deployment digest", publish_at=now + dt.timedelta(minutes=14)
    )
    coming.refresh_from_db()
    later = services.start_next_release(source=coming, by=people["press officer"])
    Release.objects.filter(pk=later.pk).update(title="Deployment statistics")
    services.confirm_figures(release=later, by=people["press officer"])
    services.submit_release(release=later, by=people["press officer"], acknowledge_warnings=True)
    services.approve_release(
        release=later,
        by=people["publisher"],
        publish_at=now + dt.timedelta(minutes=44),
        acknowledge_warnings=True,
        date_change_reason="Out the same day as the week before.",
    )
    grant = prerelease.grant_access(
        release=later,
        by=people["publisher"],
        name="Ann Lee",
        job_title="Private secretary to the minister",
        organisation="Department of Health",
        email="ann.lee@example.org",
        reason="Briefing the minister before publication.",
    )

    ann = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    ann.goto(newsroom.url + prerelease.link_path(grant))
    ann.get_by_role("button", name="Open the release").click()
    expect(ann.get_by_role("heading", level=1)).to_contain_text("w/c 17 March 2010")
    compared = ann.locator(".nhsuk-summary-list__row").filter(has_text="Compared with")
    expect(compared).to_contain_text("w/c 3 March 2010")
    expect(ann.get_by_role("navigation", name="Other releases")).to_contain_text("w/c 3 March 2010")
    expect(ann.locator("body")).not_to_contain_text("10 March 2010")
    expect(ann.locator("body")).not_to_contain_text("Wallaby")
    screenshot(ann, "pre-release-compares-with-public-now-1280")
    ann.context.close()
