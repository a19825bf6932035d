"""Signing in while someone guesses the account's password from many addresses, in a real Chromium.

Twenty wrong passwords for the publisher's account arrive through the proxy from twenty addresses:
the first few are checked, the rest refused unchecked. The publisher, signing in meanwhile from
their own address, is told on the sign-in page how long to wait; after that wait the right password
lets them in. The page passes axe-core (WCAG 2.2 A/AA).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from .conftest import AXE_OPTIONS, PASSWORD, screenshot

pytestmark = pytest.mark.browser

WAIT_SECONDS = 8  # the account's first wait: longer than the twenty guesses take


def guess(context, base: str, address: str, password: str):
    """One guess at sam's password through the sign-in form, sent by the proxy for `address`."""
    login = base + "/admin/login/?next=/admin/"
    form = context.request.get(login).text()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    return context.request.post(
        login,
        form={"csrfmiddlewaretoken": token, "username": "sam", "password": password},
        headers={"X-Forwarded-For": address},
        max_redirects=0,
    )


def test_a_publisher_whose_password_is_being_guessed_waits_once_then_signs_in(
    browser, newsroom, people, settings
):
    from axe_playwright_python.sync_playwright import Axe

    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the live server is reached as if through the proxy
    settings.AXES_FAILURE_LIMIT = 5
    settings.LOGIN_ACCOUNT_DELAY_SECONDS = WAIT_SECONDS

    attacker = browser.new_context()
    answers = [guess(attacker, newsroom.url, f"198.51.100.{n}", f"Guess{n}!") for n in range(20)]
    attacker.close()
    assert [answer.status for answer in answers] == [200] * 5 + [429] * 15
    assert all(1 <= int(answer.headers["retry-after"]) <= WAIT_SECONDS for answer in answers[5:])

    publisher = browser.new_context(
        viewport={"width": 1280, "height": 900}, extra_http_headers={"X-Forwarded-For": "203.0.113.50"}
    )
    page = publisher.new_page()
    page.goto(newsroom.url + "/admin/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    note = page.locator(".errornote")
    expect(note).to_contain_text("There have been too many failed sign-ins for this account.")
    wait = int(re.search(r"try again in (\d+) seconds?\.", note.inner_text()).group(1))
    assert 1 <= wait <= WAIT_SECONDS
    expect(page.get_by_label("Username")).to_have_value("sam")  # the form, to try again from
    screenshot(page, "sign-in-account-slowed-down")
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()

    time.sleep(wait)  # as the page says
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#user-tools").wait_for()  # "Welcome, …": signed in
    publisher.close()
