"""Cached pages, as a publisher and a reader meet them, with public caching on as deployed.

Readers read the latest release, last week's and a measure's page, the later ones from the cache;
the publisher corrects a figure of the latest release in the admin; the next reader sees the
corrected figure and its notice on the release and the measure at once, while last week's page,
which does not show it, is still served as cached.
"""

from __future__ import annotations

import pytest

from .conftest import said

pytestmark = pytest.mark.browser

LATEST, EARLIER = "/statistics/2010-03-03/", "/statistics/2010-02-24/"


def read(reader, url: str) -> tuple[str, str]:
    """The page's main text, and whether the public page cache answered ("hit") or built it."""
    response = reader.goto(url)
    return reader.locator("main").inner_text(), response.header_value("x-cache") or ""


def test_a_correction_in_the_admin_reaches_every_cached_page_that_shows_it_and_no_other(
    sign_in, people, browser, settings
):
    from stats.demo.history import generate_history
    from stats.models import Figure, Release

    settings.PUBLIC_CACHE_SECONDS = 300  # as deployed: whole pages cached
    generate_history(weeks=3)
    latest = Release.objects.get(period_date="2010-03-03")
    figure = Figure.objects.select_related("metric__programme").get(
        release=latest, metric__name="Bookings made"
    )
    was = f"{int(figure.value):,}"
    now = f"{int(figure.value) + 50_000:,}"
    measure = figure.metric.get_absolute_url()

    public = browser.new_context()
    reader = public.new_page()
    base = sign_in(people["publisher"]).base  # the publisher's tab comes later; the address now
    for path in (LATEST, measure, EARLIER):
        assert read(reader, base + path)[1] == "miss", path  # the first reader builds each page
    public.close()
    public = browser.new_context()
    reader = public.new_page()
    for path in (LATEST, measure):
        text, how = read(reader, base + path)
        assert how == "hit" and was in text, path
    earlier_page, how = read(reader, base + EARLIER)
    assert how == "hit"

    publisher = sign_in(people["publisher"])
    publisher.goto(base + f"/admin/statistics/release/{latest.pk}/change/")
    publisher.get_by_role("link", name="Correct a figure").click()
    publisher.get_by_label("Figure").select_option(
        label=f"{figure.metric.programme.name}: {figure.metric.name} ({was})"
    )
    publisher.get_by_label("Value").fill(now)
    publisher.get_by_label("Reason").fill("The supplier sent a late batch of bookings.")
    publisher.get_by_role("button", name="Correct a figure").click()
    said(publisher, f"Corrected Bookings made: was {was}, now {now}.")

    # The next reader (this one's browser may keep its copy for the max-age, as it is told).
    public.close()
    public = browser.new_context()
    reader = public.new_page()
    latest_page, how = read(reader, base + LATEST)
    assert how == "miss"
    notice = reader.locator(".newsroom-corrections").first.inner_text()
    assert f"Bookings made: was {was}, now {now}." in notice
    assert now in latest_page
    assert now in read(reader, base + measure)[0]
    assert read(reader, base + EARLIER) == (earlier_page, "hit"), "last week's page does not show it"
    public.close()
