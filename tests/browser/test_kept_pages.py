"""Pages kept rendered, as a publisher and a reader meet them, with public caching on as deployed.

The worker kept each release's pages when it came out; a reader reads the latest release, last
week's and a measure's page; the publisher corrects a figure of the latest release in the admin; the
next reader sees the corrected figure and its notice on the release and the measure at once; the
worker then keeps the corrected release's page again, while last week's page, which does not show
it, is not rendered again. Readers keep nothing.
"""

from __future__ import annotations

import pytest

from .conftest import said

pytestmark = pytest.mark.browser

LATEST, EARLIER = "/statistics/2010-03-03/", "/statistics/2010-02-24/"


def kept(key: str):
    from stats.models import Rendition

    return Rendition.objects.filter(key=key).values_list("built_at", flat=True).first()


def test_a_correction_in_the_admin_reaches_every_kept_page_that_shows_it_and_no_other(
    sign_in, people, browser, settings
):
    from stats.demo.history import generate_history
    from stats.models import Figure, Release
    from stats.publishing import tasks
    from stats.publishing.warming import warm_public_cache

    settings.PUBLIC_CACHE_SECONDS = 300  # as deployed: whole pages cached, pieces kept rendered
    generate_history(weeks=3)
    latest = Release.objects.get(period_date="2010-03-03")
    earlier = Release.objects.get(period_date="2010-02-24")
    for release in (earlier, latest):  # as the worker did at each one's second
        warm_public_cache(release)
    figure = Figure.objects.select_related("metric__programme").get(
        release=latest, metric__name="Bookings made"
    )
    was = f"{int(figure.value):,}"
    now = f"{int(figure.value) + 50_000:,}"
    measure = figure.metric.get_absolute_url()

    public = browser.new_context()
    reader = public.new_page()
    base = sign_in(people["publisher"]).base  # the publisher's tab comes later; the address now
    for path in (LATEST, measure):
        reader.goto(base + path)
        assert was in reader.locator("main").inner_text()
    reader.goto(base + EARLIER)
    earlier_page = reader.locator("main").inner_text()
    earlier_kept = kept(f"release:{earlier.pk}")
    latest_kept = kept(f"release:{latest.pk}")
    assert earlier_kept and latest_kept

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
    reader.goto(base + LATEST)
    assert (
        f"Bookings made: was {was}, now {now}." in reader.locator(".newsroom-corrections").first.inner_text()
    )
    assert now in reader.locator("main").inner_text()
    reader.goto(base + measure)
    assert now in reader.locator("main").inner_text()
    reader.goto(base + EARLIER)
    assert reader.locator("main").inner_text() == earlier_page
    assert kept(f"release:{latest.pk}") == latest_kept, "a reader keeps nothing"
    tasks.warm_release.call(latest.pk)  # what the worker does after a correction
    assert kept(f"release:{latest.pk}") != latest_kept, "the corrected release was kept again"
    assert kept(f"release:{earlier.pk}") == earlier_kept, "last week's page does not show it"
    reader.goto(base + LATEST)
    assert now in reader.locator("main").inner_text()
    public.close()
