import pytest
from django.contrib import admin
from django.urls import reverse

from stats.models import Figure, Metric, Release, Statement

from .forms import admin_change_data


def admin_models():
    return [model for model in admin.site._registry if model._meta.app_label in {"statistics", "contacts"}]


@pytest.mark.parametrize("model", admin_models(), ids=lambda m: m._meta.label)
def test_every_changelist_add_and_change_page_answers(admin_client, superuser, seed_release, model):
    info = model._meta.app_label, model._meta.model_name
    assert admin_client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200
    # Records written only by the workflow (corrections, date changes) have no add page.
    can_add = admin.site._registry[model].has_add_permission(type("R", (), {"user": superuser})())
    assert admin_client.get(reverse("admin:{}_{}_add".format(*info))).status_code == (200 if can_add else 403)
    obj = model.objects.first()
    if obj is not None:
        response = admin_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        assert response.status_code == 200
        history = admin_client.get(reverse("admin:{}_{}_history".format(*info), args=[obj.pk]))
        assert history.status_code == 200


def test_admin_is_titled_for_the_newsroom(admin_client):
    assert "Newsroom administration" in admin_client.get("/admin/").content.decode()


def test_the_admin_index_names_each_kind_of_record_in_plain_english(admin_client):
    """What the index lists for the newsroom's own apps, plurals written as people write them."""
    import re

    html = admin_client.get("/admin/").content.decode()
    names = [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for cell in re.findall(r'<th scope="row"[^>]*>(.*?)</th>', html, re.S)
    ]
    ours = {
        "Deliveries",
        "Subscribers",
        "Media contacts",
        "Corrections",
        "Figures",
        "Metrics",
        "Pre-release access breaches",
        "Pre-release access grants",
        "Pre-release access log",
        "Programmes",
        "Release date changes",
        "Releases",
        "Statements",
    }
    assert ours <= set(names), sorted(ours - set(names))
    assert "Pre-release access breachs" not in html


@pytest.fixture
def draft(seed_release, superuser):
    """Next week's draft, started from the published seed release (published ones are read-only)."""
    from stats.publishing.services import start_next_release

    return start_next_release(source=seed_release, by=superuser)


def release_url(release):
    return reverse("admin:statistics_release_change", args=[release.pk])


def test_resubmitting_the_release_unchanged_saves(admin_client, draft):
    response = admin_client.get(release_url(draft))
    data = admin_change_data(response)
    response = admin_client.post(release_url(draft), data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    draft.refresh_from_db()
    assert draft.version == 2


def statement_forms(data):
    prefix = next(k for k in data if k.endswith("-TOTAL_FORMS") and "statement" in k)
    return prefix.removesuffix("-TOTAL_FORMS")


def test_bad_placeholder_is_refused_against_the_statement(admin_client, draft):
    data = admin_change_data(admin_client.get(release_url(draft)))
    prefix = statement_forms(data)
    data[f"{prefix}-0-text"] = "{eps-mesages-total} messages"
    response = admin_client.post(release_url(draft), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "“{eps-mesages-total}” does not name a metric" in body
    assert Statement.objects.filter(text__contains="eps-mesages").count() == 0


def test_statement_may_use_a_figure_added_in_the_same_save(admin_client, draft):
    new = Metric.objects.create(programme=draft.statements.first().programme, slug="cab-new", name="New")
    data = admin_change_data(admin_client.get(release_url(draft)))
    figure_prefix = next(k for k in data if k.endswith("-TOTAL_FORMS") and "figure" in k).removesuffix(
        "-TOTAL_FORMS"
    )
    count = int(data[f"{figure_prefix}-TOTAL_FORMS"])
    data[f"{figure_prefix}-TOTAL_FORMS"] = str(count + 1)
    data[f"{figure_prefix}-{count}-metric"] = str(new.pk)
    data[f"{figure_prefix}-{count}-value"] = "4321"
    data[f"{figure_prefix}-{count}-qualifier"] = ""
    prefix = statement_forms(data)
    data[f"{prefix}-0-text"] = "{cab-new} new things."
    response = admin_client.post(release_url(draft), data)
    assert response.status_code == 302
    assert Figure.objects.get(release=draft, metric=new).value == 4321
    assert draft.statements.filter(text="{cab-new} new things.").exists()


def test_deleting_a_figure_a_statement_uses_is_refused(admin_client, draft):
    data = admin_change_data(admin_client.get(release_url(draft)))
    figure_prefix = next(k for k in data if k.endswith("-TOTAL_FORMS") and "figure" in k).removesuffix(
        "-TOTAL_FORMS"
    )
    index = next(
        i
        for i in range(int(data[f"{figure_prefix}-TOTAL_FORMS"]))
        if data[f"{figure_prefix}-{i}-metric"] == str(Metric.objects.get(slug="pacs-systems-live").pk)
    )
    data[f"{figure_prefix}-{index}-DELETE"] = "on"
    response = admin_client.post(release_url(draft), data)
    assert response.status_code == 200
    assert "“{pacs-systems-live}” has no figure in this release" in response.content.decode()
    assert Figure.objects.filter(release=draft, metric__slug="pacs-systems-live").exists()


def test_figure_over_100_percent_is_refused_with_its_message(admin_client, draft):
    data = admin_change_data(admin_client.get(release_url(draft)))
    figure_prefix = next(k for k in data if k.endswith("-TOTAL_FORMS") and "figure" in k).removesuffix(
        "-TOTAL_FORMS"
    )
    share = Metric.objects.get(slug="cab-referral-share")
    index = next(
        i
        for i in range(int(data[f"{figure_prefix}-TOTAL_FORMS"]))
        if data[f"{figure_prefix}-{i}-metric"] == str(share.pk)
    )
    data[f"{figure_prefix}-{index}-value"] = "158"
    response = admin_client.post(release_url(draft), data)
    assert response.status_code == 200
    assert "158 is not a percentage: use 0 to 100." in response.content.decode()
    assert Figure.objects.get(release=draft, metric=share).value == 58


def test_release_change_page_shows_previous_values(admin_client, seed_release):
    import datetime as dt

    later = Release.objects.create(period_date=dt.date(2010, 3, 10))
    metric = Metric.objects.get(slug="eps-messages-total")
    Figure.objects.create(release=later, metric=metric, value=310_000_000)
    body = admin_client.get(release_url(later)).content.decode()
    assert "306,774,292" in body
    assert "+3,225,708 (+1.1%)" in body


def test_a_published_release_shows_its_figures_as_the_public_reads_them(admin_client, seed_release):
    body = admin_client.get(release_url(seed_release)).content.decode()
    assert "306,774,292" in body
    assert "306774292.0000" not in body


def test_figure_too_large_to_store_is_refused_with_its_message(admin_client, draft):
    data = admin_change_data(admin_client.get(release_url(draft)))
    figure_prefix = next(k for k in data if k.endswith("-TOTAL_FORMS") and "figure" in k).removesuffix(
        "-TOTAL_FORMS"
    )
    total = Metric.objects.get(slug="eps-messages-total")
    index = next(
        i
        for i in range(int(data[f"{figure_prefix}-TOTAL_FORMS"]))
        if data[f"{figure_prefix}-{i}-metric"] == str(total.pk)
    )
    # 16 digits fit the field, but SQLite keeps 15: this one was saved and every page showing it was a 500.
    data[f"{figure_prefix}-{index}-value"] = "9999999999999999"
    response = admin_client.post(release_url(draft), data)
    assert response.status_code == 200
    assert (
        "9,999,999,999,999,999 is too large. A figure must be below 1,000,000,000,000,000."
        in response.content.decode()
    )
    assert Figure.objects.get(release=draft, metric=total).value == 306_774_292


def test_a_metric_with_figures_over_100_cannot_become_a_percentage(admin_client, seed_release):
    metric = Metric.objects.get(slug="eps-messages-total")
    url = reverse("admin:statistics_metric_change", args=[metric.pk])
    data = admin_change_data(admin_client.get(url))
    data["kind"] = "percent"
    response = admin_client.post(url, data)  # the database refused the figures' new kind: a 500
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["kind"] == [
        "1 figure of this metric is over 100 (e.g. 306,774,292 for w/c 3 March 2010), "
        "so it cannot be a percentage."
    ]
    metric.refresh_from_db()
    assert metric.kind == "total"


@pytest.mark.parametrize("object_id", ["abc", "1.5", "%00"])
def test_admin_addresses_with_an_id_that_cannot_exist_are_not_found(admin_client, seed_release, object_id):
    for model in ("statistics/release", "statistics/figure", "statistics/metric", "contacts/mediacontact"):
        assert admin_client.get(f"/admin/{model}/{object_id}/history/").status_code == 404, model
    release = f"/admin/statistics/release/{object_id}"
    assert admin_client.get(f"{release}/change/").status_code == 302  # Django's "doesn't exist" message
    assert admin_client.get(f"{release}/import-figures/").status_code == 404
    assert admin_client.get(f"{release}/supplier-template.xlsx").status_code == 404


def test_admin_list_filter_with_a_null_character_is_a_bad_request(admin_client, seed_release):
    # PostgreSQL cannot compare text holding NUL: this was a 500 there.
    for url in (
        "/admin/statistics/figure/?release__status=%00",
        "/admin/statistics/statement/?release__status=%00",
        "/admin/statistics/release/?status=%00",
    ):
        assert admin_client.get(url.replace("%00", "draft")).status_code == 200, url
        assert admin_client.get(url).status_code == 400, url


def test_admin_search_with_a_null_character_finds_nothing(admin_client, seed_release):
    # PostgreSQL cannot compare text holding NUL: the metric picker's search was a 500 there.
    url = "/admin/autocomplete/?app_label=statistics&model_name=figure&field_name=metric&term=eps%00"
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert admin_client.get(url.replace("%00", "")).json()["results"] != []


@pytest.mark.parametrize(
    "query",
    [
        "period_date__year=9999",
        "period_date__year=9999&period_date__month=12",
        "period_date__year=99999999999999999999",
    ],
)
def test_admin_date_drill_down_past_the_calendar_is_an_invalid_filter(admin_client, seed_release, query):
    # Django computes the end of the year or month first: past 31 December 9999 that was a 500.
    response = admin_client.get(f"/admin/statistics/release/?{query}")
    assert response.status_code == 302 and response["Location"] == "/admin/statistics/release/?e=1"
