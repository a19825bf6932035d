"""Email alerts in a real Chromium: subscribe, confirm from the email, change topics, unsubscribe.

The task worker (run here as `db_worker --batch`) sends the emails through Django's SMTP backend to
a real SMTP server (aiosmtpd), and the test follows the link in the one it receives. Every page
passes axe-core (WCAG 2.2 A/AA) and fits the window, at 1,280 px and at 320 px.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..alerting import run_worker
from ..smtp import smtp_server
from .conftest import AXE_OPTIONS, screenshot, sideways_scroll

pytestmark = pytest.mark.browser

ADDRESS = "journalist@example.org"


@pytest.fixture
def inbox(settings, newsroom):
    settings.NEWSROOM_SITE_URL = newsroom.url  # the links in the emails lead to the live server
    settings.NEWSROOM_ALERTS_PER_SECOND = 1000
    with smtp_server(settings) as received:
        yield received


def check(page, name: str, width: int) -> None:
    """No WCAG violation, nothing wider than the window, NHS.UK styles applied; a screenshot."""
    from axe_playwright_python.sync_playwright import Axe

    assert page.evaluate("getComputedStyle(document.querySelector('.nhsuk-header')).backgroundColor") == (
        "rgb(0, 94, 184)"
    )
    screenshot(page, f"alerts-{name}-{width}")
    assert sideways_scroll(page) == 0, f"{name}: wider than {width} px"
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, f"{name} at {width} px:\n{results.generate_report()}"


def subscribe_through_the_form(page, base: str, width: int) -> None:
    """From the footer link: the form refuses nothing chosen, then takes an address and two topics."""
    page.goto(base + "/")
    page.locator("footer").get_by_role("link", name="Get email alerts").click()
    page.wait_for_url(base + "/subscribe/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Get email alerts")
    check(page, "subscribe", width)

    # Nothing chosen: the error summary says so and links to the field.
    page.get_by_role("button", name="Subscribe").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    assert page.title().startswith("Error: ")
    summary.get_by_role("link", name="Enter your email address").click()
    expect(page.get_by_label("Email address")).to_be_focused()
    check(page, "subscribe-errors", width)

    page.get_by_label("Email address").fill(ADDRESS)
    page.get_by_label("Corrections and date changes").check()
    page.get_by_label("Electronic Prescription Service (EPS)").check()
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(base + "/subscribe/check-your-email/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page.get_by_text("We are sending an email to the address you gave.")).to_be_visible()
    expect(page.get_by_text("We have sent")).to_have_count(0)
    check(page, "check-email", width)


@pytest.mark.parametrize("width", [1280, 320])
def test_subscribe_confirm_change_topics_and_unsubscribe(browser, newsroom, inbox, width):
    from alerts.models import Subscriber

    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    subscribe_through_the_form(page, newsroom.url, width)

    assert len(inbox) == 0  # the task worker sends it
    run_worker()
    (email,) = inbox.to(ADDRESS)
    assert not Subscriber.objects.get(email=ADDRESS).is_active
    page.goto(email.link("/subscribe/confirm/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email alerts")
    check(page, "confirm", width)
    assert not Subscriber.objects.get(email=ADDRESS).is_active  # opening the link is not confirming
    page.get_by_role("button", name="Confirm email alerts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email alerts confirmed")
    expect(page.locator(".nhsuk-panel__body")).to_contain_text("corrections and date changes")
    check(page, "confirmed", width)
    assert Subscriber.objects.get(email=ADDRESS).is_active

    page.get_by_role("link", name="Change what you get, or unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage your email alerts")
    expect(page.get_by_label("Corrections and date changes")).to_be_checked()
    check(page, "manage", width)
    page.get_by_label("Every release").check()
    page.get_by_label("Electronic Prescription Service (EPS)").uncheck()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".nhsuk-notification-banner--success")).to_contain_text("have been changed")
    check(page, "manage-saved", width)
    person = Subscriber.objects.get(email=ADDRESS)
    assert person.every_release and person.corrections and not person.programmes.exists()

    page.get_by_role("link", name="Unsubscribe from all email alerts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe from email alerts")
    check(page, "unsubscribe", width)
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You have unsubscribed")
    check(page, "unsubscribed", width)
    assert Subscriber.objects.get(email=ADDRESS).unsubscribed_at is not None

    page.goto(newsroom.url + "/subscribe/confirm/not-a-link/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    check(page, "link-problem", width)
    context.close()


def test_when_the_request_cannot_be_queued_the_page_says_nothing_will_be_sent(
    browser, newsroom, inbox, settings
):
    """The task queue does not answer (RQ on a Redis that is not there): the reader is told nothing
    will be sent, and to try again; once it answers, pressing Subscribe again sends the email."""
    from ..smtp import free_port

    queue = settings.TASKS
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": f"redis://127.0.0.1:{free_port()}/0"}}  # nothing listens
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(newsroom.url + "/subscribe/")
    page.get_by_label("Email address").fill(ADDRESS)
    page.get_by_label("Every release").check()
    page.get_by_role("button", name="Subscribe").click()

    problem = page.get_by_role("alert")
    expect(problem).to_contain_text("We could not take your request")
    expect(problem).to_contain_text(f"nothing will be sent to {ADDRESS}")
    expect(problem).to_contain_text("Try again in a few minutes")
    expect(page.get_by_text("We are sending")).to_have_count(0)
    assert page.url == newsroom.url + "/subscribe/"
    expect(page.get_by_label("Email address")).to_have_value(ADDRESS)
    expect(page.get_by_label("Every release")).to_be_checked()
    check(page, "not-queued", 1280)
    settings.TASKS = queue
    run_worker()
    assert len(inbox) == 0

    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(newsroom.url + "/subscribe/check-your-email/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    run_worker()
    assert len(inbox.to(ADDRESS)) == 1
    context.close()


@pytest.mark.parametrize("width", [1280, 320])
def test_past_a_limit_the_page_says_why_and_when_to_try_again(browser, newsroom, inbox, settings, width):
    """One client asking for alerts again and again (here, past a limit of 2 an hour) is told why
    nothing was sent and when to try again; the page passes axe-core and fits the window."""
    settings.NEWSROOM_SUBSCRIBE_PER_CLIENT = 2
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    for n in range(3):
        page.goto(newsroom.url + "/subscribe/")
        page.get_by_label("Email address").fill(f"someone{n}@example.org")
        page.get_by_label("Every release").check()
        page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many requests for email alerts")
    expect(
        page.get_by_text("2 requests for email alerts from your internet connection this hour")
    ).to_be_visible()
    expect(page.get_by_text("You can try again after ")).to_be_visible()
    assert page.title().startswith("Error: ")
    check(page, "too-many", width)
    run_worker()
    assert sorted(r.recipients[0] for r in inbox.received) == ["someone0@example.org", "someone1@example.org"]
    context.close()
