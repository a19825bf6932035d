"""Every kind of public page reads at 320 CSS px, and on a 375 px phone, without scrolling sideways
(WCAG 2.2, 1.4.10 Reflow).

A wide data table may scroll inside its own box, which takes keyboard focus and is named, as 1.4.10
allows for data tables; the page itself never does.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from .conftest import PASSWORD, screenshot, sideways_scroll

pytestmark = pytest.mark.browser


@pytest.fixture
def week_with_everything(site, django_user_model):
    """The seed release and a year before it; then w/c 10 March 2010, published with an explanation of
    a fall and later corrected, and a third release scheduled, so every long table has rows."""
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from alerts.models import Subscriber
    from stats.models import Figure, Release
    from stats.publishing import services
    from tests.factories import make_groups

    make_groups()

    def person(username, group):
        user = django_user_model.objects.create_user(username, f"{username}@example.org", PASSWORD)
        user.groups.add(Group.objects.get(name=group))
        return user

    officer, publisher = person("pat", "Press officers"), person("sam", "Publishers")
    seed = Release.objects.get(period_date=dt.date(2010, 3, 3))
    week = services.start_next_release(source=seed, by=officer)
    Figure.objects.filter(release=week, metric__slug="gp2gp-transfers-total").update(value=1_020_000)
    services.confirm_figures(release=week, by=officer)
    services.explain_figure(
        release=week,
        by=officer,
        metric_slug="gp2gp-transfers-total",
        reason="The supplier removed transfers counted twice in February; the total to date is now right.",
    )
    services.submit_release(release=week, by=officer, acknowledge_warnings=True)
    services.publish_now(release=week, by=publisher, acknowledge_warnings=True, reason="Ready early.")
    figure = Figure.objects.get(release=week, metric__slug="eps-messages-total")
    services.correct_figure(
        figure=figure,
        by=publisher,
        value=figure.value + Decimal(107),
        reason="A supplier's late return for the last day of the week, received after publication.",
    )
    coming = services.start_next_release(source=Release.objects.get(pk=week.pk), by=officer)
    services.confirm_figures(release=coming, by=officer)
    services.submit_release(release=coming, by=officer, acknowledge_warnings=True)
    services.approve_release(
        release=coming,
        by=publisher,
        publish_at=timezone.now() + dt.timedelta(days=7),
        date_change_reason="Announced for next week.",
        acknowledge_warnings=True,
    )
    reader = Subscriber.objects.create(
        email="reader@example.org", every_release=True, confirmed_at=timezone.now()
    )
    return {"site": site, "week": week, "reader": reader}


def public_pages(reader) -> dict[str, str]:
    """One address of each kind of public page, from the URL configurations."""
    from django.urls import reverse

    from alerts import tokens

    return {
        "home": "/",
        "latest release": "/statistics/",
        "release with history, explanation and correction": "/statistics/2010-03-10/",
        "seed release": "/statistics/2010-03-03/",
        "synthetic release": "/statistics/2009-09-02/",
        "archive": "/statistics/archive/",
        "revisions": "/statistics/revisions/",
        "calendar": "/statistics/calendar/",
        "compliance": "/statistics/compliance/",
        "programme": "/statistics/programmes/eps/",
        "programme with many metrics": "/statistics/programmes/cab/",
        "metric": "/statistics/metrics/eps-messages-total/",
        "metric, later page": "/statistics/metrics/eps-messages-total/?page=2",
        "contacts": "/contacts/",
        "contacts, filtered": "/contacts/?programme=eps",
        "search": "/search/?q=prescription",
        "search, nothing found": "/search/?q=zzzzqqq",
        "subscribe": "/subscribe/",
        "check your email": "/subscribe/check-your-email/",
        "manage alerts": reverse("alerts:manage", args=[tokens.make(reader, "manage")]),
        "unsubscribe": reverse("alerts:unsubscribe", args=[tokens.make(reader, "unsubscribe")]),
        "broken alert link": "/subscribe/manage/not-a-real-token/",
        "API docs": "/api/",
        "not found": "/statistics/no-such-page/",
    }


def error_pages() -> dict[str, tuple[int, str]]:
    """The 500 and 503 pages as the site serves them (rendered here: nothing on the site fails on purpose)."""
    from django.test import RequestFactory

    from newsroom import views

    request = RequestFactory().get("/")
    answers = {
        "server error": views.server_error(request),
        "database down": views.database_unavailable(request),
    }
    return {name: (answer.status_code, answer.content.decode()) for name, answer in answers.items()}


def answer_with(status: int, html: str):
    return lambda route: route.fulfill(status=status, body=html, content_type="text/html")


@pytest.mark.parametrize("width", [320, 375])
def test_no_public_page_scrolls_sideways_on_a_phone(browser, week_with_everything, width):
    base = week_with_everything["site"].url
    context = browser.new_context(viewport={"width": width, "height": 640}, is_mobile=True)
    page = context.new_page()
    too_wide, unnamed_boxes = {}, []
    for name, path in public_pages(week_with_everything["reader"]).items():
        response = page.goto(base + path)
        assert response.status < 500, f"{name}: {response.status}"
        page.wait_for_load_state("networkidle")
        assert page.locator("main").count() == 1, name
        page.evaluate("document.querySelectorAll('main details').forEach((d) => { d.open = true; })")
        if sideways_scroll(page):
            too_wide[name] = sideways_scroll(page)
            screenshot(page, f"reflow-{width}-{name.replace(' ', '-').replace(',', '')}")
        unnamed_boxes += [(name, box) for box in page.evaluate(SCROLLING_BOXES) if not box["usable"]]
    for name, (status, html) in error_pages().items():
        address = f"{base}/{name.replace(' ', '-')}/"
        page.route(address, answer_with(status, html))
        page.goto(address)
        page.wait_for_load_state("networkidle")
        if sideways_scroll(page):
            too_wide[name] = sideways_scroll(page)
    context.close()
    assert too_wide == {}, f"pages wider than {width} px, by so many px: {too_wide}"
    assert unnamed_boxes == [], "boxes that scroll sideways without keyboard focus or a name"


# The boxes that scroll sideways; each must take keyboard focus and say what it holds (`usable`).
SCROLLING_BOXES = """
() => [...document.querySelectorAll('main *')]
  .filter((el) => el.checkVisibility() && el.scrollWidth > el.clientWidth + 1)
  .filter((el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX))
  .map((el) => ({
    tag: el.tagName, className: el.className,
    usable: el.tabIndex >= 0 && Boolean(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')),
  }))
"""
