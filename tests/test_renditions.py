"""A release page's body is rendered once for what it shows, kept, and rendered again only when
something it shows changes (stats/outputs/renditions.py).

Every page below is read with the page cache cleared first, so what a reader gets is the stored body
or a new rendering, never a cached page. Real commits: the versions move on when a change commits.
"""

import datetime as dt
import re
import time

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from common.keeping import keeping
from contacts.models import MediaContact
from stats.models import Figure, Metric, Release, Rendition
from stats.outputs import renditions
from stats.publishing import services
from tests.factories import make_groups


@pytest.fixture(autouse=True)
def public_caching_on(settings):
    settings.PUBLIC_CACHE_SECONDS = 300


@pytest.fixture
def history(transactional_db):
    from stats.demo.history import generate_history
    from stats.demo.seed import load_seed

    load_seed()
    generate_history(weeks=6)
    return list(Release.objects.public().order_by("period_date"))


def read(client, path) -> str:
    """A page as the worker's warming reads it, keeping what it renders (a reader's request keeps
    nothing: tests/test_reads_never_write.py), with no cached page: the stored body or a new one."""
    cache.clear()
    with keeping():
        response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def rendered(releases) -> dict:
    """Each release's stored body: when it was rendered."""
    kept = dict(Rendition.objects.values_list("key", "built_at"))
    return {release.period_date: kept.get(f"release:{release.pk}") for release in releases}


def read_all(client, releases) -> dict:
    for release in releases:
        read(client, release.get_absolute_url())
    return rendered(releases)


def person(django_user_model, name, group):
    make_groups()
    user = django_user_model.objects.create_user(name, f"{name}@example.org", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def correct(release, *, by, add: int, reason: str) -> Figure:
    """A publisher corrects the release's prescription messages figure, in the open; the figure as it was."""
    figure = Figure.objects.get(release=release, metric__slug="eps-messages-total")
    with transaction.atomic():
        services.correct_figure(figure=figure, by=by, value=figure.value + add, reason=reason)
    return figure


def test_a_correction_renders_again_only_the_bodies_that_show_it(client, history, django_user_model):
    before = read_all(client, history)
    assert all(before.values()), "every release page keeps its body"
    assert read_all(client, history) == before, "read again, nothing is rendered again"

    corrected, following = history[2], history[3]
    figure = correct(
        corrected,
        by=person(django_user_model, "sam", "Publishers"),
        add=7,
        reason="A late batch of messages.",
    )

    after = read_all(client, history)
    again = sorted(period for period in after if after[period] != before[period])
    assert again == [corrected.period_date, following.period_date]
    html = read(client, corrected.get_absolute_url())
    assert "A late batch of messages." in html
    assert f"{int(figure.value) + 7:,}" in html


def test_a_draft_s_edits_render_no_body_again(client, history, django_user_model):
    officer = person(django_user_model, "pat", "Press officers")
    draft = services.start_next_release(source=history[-1], by=officer)
    before = read_all(client, history)
    with transaction.atomic():
        draft.title = "A new title for this week"
        draft.save()
        Figure.objects.filter(release=draft, metric__slug="eps-messages-total").get().save()
        services.confirm_figures(release=draft, by=officer)
    assert read_all(client, history) == before


def test_a_contact_s_new_number_reaches_every_release_page(client, history):
    read_all(client, history)
    contact = MediaContact.objects.active().first()
    with transaction.atomic():
        contact.name = "Alex Renamed-Officer"
        contact.save()
    for release in history:
        assert "Alex Renamed-Officer" in read(client, release.get_absolute_url())


def test_a_body_stored_by_other_code_is_never_served(client, history):
    release = history[0]
    read(client, release.get_absolute_url())
    kept = Rendition.objects.get(key=f"release:{release.pk}")
    current = kept.built_from
    assert current.startswith(renditions.code_digest() + ":")
    # What is stored is what readers get while it stands for what the release shows ...
    Rendition.objects.filter(pk=kept.pk).update(body=kept.body.replace("Media contacts", "MARKED"))
    assert "MARKED" in read(client, release.get_absolute_url())
    # ... and one stored by another deployment's code or templates is rendered again.
    Rendition.objects.filter(pk=kept.pk).update(built_from="0123456789abcdef" + current[16:])
    html = read(client, release.get_absolute_url())
    assert "MARKED" not in html and "Media contacts" in html
    assert Rendition.objects.get(pk=kept.pk).built_from == current


def test_with_public_caching_off_every_body_is_rendered_for_its_request(client, history, settings):
    settings.PUBLIC_CACHE_SECONDS = 0
    read(client, history[0].get_absolute_url())
    assert not Rendition.objects.exists()


def test_the_next_release_link_appears_at_its_second_without_rendering_again(client, history):
    latest = history[-1]
    metric = Metric.objects.get(slug="eps-messages-total")
    publish_at = timezone.now() + dt.timedelta(seconds=2)
    coming = Release.objects.create(
        period_date=latest.period_date + dt.timedelta(days=7),
        status=Release.Status.SCHEDULED,
        publish_at=publish_at,
    )
    Figure.objects.create(release=coming, metric=metric, value=999_000_000)
    before = read(client, latest.get_absolute_url())
    assert coming.get_absolute_url() not in before
    assert f"w/c {coming.period_label} are due to be published" in before  # announced, not out
    kept = rendered([latest])
    time.sleep(max(0, (publish_at - timezone.now()).total_seconds()) + 0.05)
    html = read(client, latest.get_absolute_url())
    assert "Next release" in html and coming.get_absolute_url() in html
    assert f"w/c {coming.period_label} are due" not in html  # out now: no longer the next announced
    assert rendered([latest]) == kept, "the link is put in per request, the body is not rendered again"


def test_the_latest_page_and_its_dated_page_share_one_body_and_differ_by_the_caption(client, history):
    latest = history[-1]
    dated = read(client, latest.get_absolute_url())
    newest = read(client, "/statistics/")
    assert Rendition.objects.filter(key__startswith="release:").count() == 1
    caption = "Latest deployment statistics and information"
    assert caption in newest and caption not in dated
    assert "<!--newsroom:" not in newest + dated


def test_previews_and_pre_release_copies_store_nothing(client, history, django_user_model):
    officer = person(django_user_model, "pat", "Press officers")
    draft = services.start_next_release(source=history[-1], by=officer)
    client.force_login(officer)
    html = client.get(f"/statistics/preview/{draft.pk}/").content.decode()
    assert 'id="preview-banner"' in html and "<!--newsroom:" not in html
    assert not Rendition.objects.exists()


def test_a_metric_s_series_and_the_archive_are_kept_until_a_figure_or_the_releases_out_change(
    client, history, django_user_model
):
    metric_page, archive = "/statistics/metrics/eps-messages-total/", "/statistics/archive/"

    def kept() -> dict:
        return dict(
            Rendition.objects.filter(key__in=["metric:eps-messages-total", "archive:2010"]).values_list(
                "key", "built_at"
            )
        )

    read(client, metric_page), read(client, archive)
    before = kept()
    assert len(before) == 2
    read(client, metric_page), read(client, archive)
    assert kept() == before, "read again, nothing is rendered again"
    sorted_page = read(client, metric_page + "?sort=value")
    assert kept() == before and "Every figure" in sorted_page  # a sorted table is rendered as asked

    # A correction to any release's figure: the series shows it.
    corrected = history[1]
    figure = correct(corrected, by=person(django_user_model, "sam", "Publishers"), add=5, reason="Late.")
    assert f"{int(figure.value) + 5:,}" in read(client, metric_page)
    after = kept()
    assert after["metric:eps-messages-total"] != before["metric:eps-messages-total"]

    # A release coming out at its second, with no save at that moment: both show it.
    metric = Metric.objects.get(slug="eps-messages-total")
    publish_at = timezone.now() + dt.timedelta(seconds=2)
    coming = Release.objects.create(
        period_date=history[-1].period_date + dt.timedelta(days=7),
        status=Release.Status.SCHEDULED,
        publish_at=publish_at,
    )
    Figure.objects.create(release=coming, metric=metric, value=987_654_321)
    assert "987,654,321" not in read(client, metric_page)
    assert "10 March 2010" not in read(client, archive)
    time.sleep(max(0, (publish_at - timezone.now()).total_seconds()) + 0.05)
    assert "987,654,321" in read(client, metric_page)
    assert "10 March 2010" in read(client, archive)


def test_the_home_page_is_kept_until_the_next_release_comes_out_or_its_date_moves(client, history):
    html = read(client, "/")
    assert "No release date has been announced yet." in html
    kept = dict(Rendition.objects.filter(key="home").values_list("key", "built_at"))
    assert (
        read(client, "/") == html
        and dict(Rendition.objects.filter(key="home").values_list("key", "built_at")) == kept
    )

    publish_at = timezone.now() + dt.timedelta(seconds=3)
    with transaction.atomic():
        coming = Release.objects.create(
            period_date=history[-1].period_date + dt.timedelta(days=7),
            status=Release.Status.SCHEDULED,
            publish_at=publish_at,
        )
        Figure.objects.create(
            release=coming, metric=Metric.objects.get(slug="eps-messages-total"), value=987_654_321
        )
    html = read(client, "/")
    assert "The statistics for w/c 10 March 2010 are due to be published on" in html
    assert "987,654,321" not in html
    time.sleep(max(0, (publish_at - timezone.now()).total_seconds()) + 0.05)
    html = read(client, "/")
    assert "Latest figures: w/c 10 March 2010" in html and "987,654,321" in html


def test_a_deleted_release_s_body_goes_with_it(client, history):
    release, other = history[0], history[1]
    read(client, release.get_absolute_url()), read(client, other.get_absolute_url())
    key = f"release:{release.pk}"
    assert Rendition.objects.filter(key=key).exists()
    release.delete()
    assert not Rendition.objects.filter(key=key).exists()
    assert Rendition.objects.filter(key=f"release:{other.pk}").exists(), "the others stay"


def test_a_file_s_size_reaches_the_kept_page_once_the_file_is_built(client, history):
    from stats.models import ReleaseFile

    release = history[-1]
    path = f"/statistics/{release.period_date:%Y-%m-%d}.csv"

    def csv_link(html: str) -> str:
        return re.search(rf'<a href="{path}">.*?</a>', html, re.S).group(0)

    ReleaseFile.objects.filter(release=release).delete()  # as just after a correction, before the build
    assert "(CSV)" in csv_link(read(client, release.get_absolute_url()))
    with keeping():  # built by the worker, its size recorded (a reader's download records nothing)
        csv = client.get(path)
    assert csv.status_code == 200
    size = ReleaseFile.objects.get(release=release, format="csv").size
    assert re.search(r"\(CSV, [\d.]+ (KB|bytes)\)", csv_link(read(client, release.get_absolute_url()))), size


def test_a_release_compares_with_an_earlier_period_that_comes_out_late_at_its_second(client, history):
    latest, late = history[-1], history[-2]
    late_period = late.period_date
    late.delete()  # w/c 24 February is not out yet: it comes out after the next week
    html = read(client, latest.get_absolute_url())
    assert "change since w/c 17 February 2010" in html
    publish_at = timezone.now() + dt.timedelta(seconds=2)
    coming = Release.objects.create(
        period_date=late_period, status=Release.Status.SCHEDULED, publish_at=publish_at
    )
    Figure.objects.create(
        release=coming, metric=Metric.objects.get(slug="eps-messages-total"), value=300_000_000
    )
    assert "change since w/c 17 February 2010" in read(client, latest.get_absolute_url())
    time.sleep(max(0, (publish_at - timezone.now()).total_seconds()) + 0.05)
    html = read(client, latest.get_absolute_url())  # no save at the second
    assert "change since w/c 24 February 2010" in html


def test_a_task_queue_that_refuses_work_neither_fails_a_new_date_nor_leaves_the_home_page_behind(
    client, history, settings, django_user_model
):
    """The release's moment cannot be queued (Redis refuses): the new date still stands and the home
    page says it at once (the periodic catch-up publishes the release at its time)."""
    from stats.wording import ukclock

    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "DEFAULT_TIMEOUT": 5}}
    first, then = (timezone.now() + dt.timedelta(days=days) for days in (2, 3))
    coming = Release.objects.create(
        period_date=history[-1].period_date + dt.timedelta(days=7),
        status=Release.Status.SCHEDULED,
        publish_at=first,
    )
    before = read(client, "/")
    assert ukclock.uk_label(first, weekday=True) in before
    services.change_release_date(
        release=coming,
        by=person(django_user_model, "sam", "Publishers"),
        publish_at=then,
        reason="The supplier's file is late.",
    )
    coming.refresh_from_db()
    assert coming.publish_at == then
    after = read(client, "/")
    assert ukclock.uk_label(then, weekday=True) in after
