import datetime as dt
import re

from .test_seed import SEED_BULLETS


def bullets(html: str) -> list[str]:
    article = html[html.index("<article") : html.index("</article>")]
    section = article[: article.find('id="about-heading"')]
    return re.findall(r"<li>(.*?)</li>", section, re.S)


def test_latest_release_shows_all_27_seed_bullets(client, seed_release):
    response = client.get("/statistics/")
    assert response.status_code == 200
    html = response.content.decode()
    expected = [b.replace("&", "&amp;") for group in SEED_BULLETS.values() for b in group]
    assert bullets(html) == expected
    assert '<html lang="en-GB">' in html
    assert "NHS Connecting for Health deployment statistics (for w/c 3 March 2010)" in html
    for heading in SEED_BULLETS:
        assert f">{heading}</h2>" in html


def test_release_by_period_date(client, seed_release):
    response = client.get("/statistics/2010-03-03/")
    assert response.status_code == 200
    assert len(bullets(response.content.decode())) == 27


def test_breadcrumbs_and_media_contacts(client, seed_release):
    html = client.get("/statistics/2010-03-03/").content.decode()
    crumbs = re.findall(r"<li[^>]*><a [^>]*>([^<]+)</a></li>", html[html.index('aria-label="Breadcrumb"') :])
    # The release's parents, each address once (the seed's "Newsroom" was the home page again).
    assert crumbs[:3] == ["Home", "Statistics", "All releases"]
    assert "NHS CFH press office" in html
    assert 'href="tel:+44-20-7004-1555"' in html
    assert "020 7004 1555" in html
    assert "Department of Health press office" in html


def test_unknown_dates_are_404(client, seed_release):
    assert client.get("/statistics/2010-03-04/").status_code == 404
    assert client.get("/statistics/2010-02-31/").status_code == 404


def test_no_release_yet_is_404_not_500(client, db):
    assert client.get("/statistics/").status_code == 404


def test_drafts_and_embargoed_releases_stay_hidden(client, hidden_releases):
    assert client.get("/statistics/2010-03-10/").status_code == 404
    assert client.get("/statistics/2010-03-17/").status_code == 404
    latest = client.get("/statistics/").content.decode()
    assert "3 March 2010" in latest
    assert "311,111,111" not in latest and "322,222,222" not in latest


def test_release_page_runs_a_fixed_number_of_queries(client, seed_release, django_assert_max_num_queries):
    # The page itself, plus (once per release version) the PDF whose size the download list shows;
    # one of them the programmes of the media contacts, for each programme's own contacts.
    with django_assert_max_num_queries(12):  # and the next release announced
        client.get("/statistics/2010-03-03/")


def test_series_for_reads_public_releases_oldest_first(db, django_assert_num_queries):
    from stats.selectors import series_for

    from . import factories

    metric = factories.metric()
    for week, value in enumerate([10, 20, 30]):
        day = dt.date(2010, 1, 6) + dt.timedelta(weeks=week)
        factories.figure(factories.release(day, public=True), metric, value)
    factories.figure(factories.release(dt.date(2010, 2, 3)), metric, 99)  # draft: never shown
    with django_assert_num_queries(1):
        series = series_for([metric])
    assert [p.value for p in series[metric.pk]] == [10, 20, 30]
    assert [p.value for p in series_for([metric], last=2)[metric.pk]] == [20, 30]
