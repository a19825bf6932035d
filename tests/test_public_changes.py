"""Every write the public can see says so by name, and cached pages show it at once.

A reader's pages are cached (public caching on, as deployed); an editor then changes what they show
through the admin's real pages (forms, an action, a delete) or an import; the reader's next request
is built again and shows the change. No model save is listened to: a write that did not say so
would leave the cached page in place.
"""

from __future__ import annotations

import datetime as dt

import pytest
import tablib
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import MediaContact
from stats.models import Metric, Programme, Release
from tests.forms import admin_change_data

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seeded(settings):
    from django.contrib.contenttypes.models import ContentType

    from stats.demo.seed import load_seed

    settings.PUBLIC_CACHE_SECONDS = 300
    ContentType.objects.clear_cache()  # the tables were emptied and filled again since it was read
    return load_seed()


@pytest.fixture
def editor(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def cached(reader: Client, path: str) -> str:
    """The page, read twice so it is stored: its text as the cache keeps it."""
    reader.get(path)
    response = reader.get(path)
    assert response["X-Cache"] == "hit", path
    return response.content.decode()


def rebuilt(reader: Client, path: str) -> str:
    response = reader.get(path)
    assert response["X-Cache"] == "miss", f"{path} was served as cached after a public change"
    return response.content.decode()


def resubmit(editor: Client, url: str, **changes) -> None:
    data = admin_change_data(editor.get(url))
    data.update(changes)
    response = editor.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_contact_s_new_number_reaches_the_cached_release_page(client, seeded, editor):
    press = MediaContact.objects.get(slug="nhs-cfh-press-office")
    assert "020 7004 1555" in cached(client, "/statistics/")
    resubmit(editor, reverse("admin:contacts_mediacontact_change", args=[press.pk]), phone="020 7004 1999")
    assert "020 7004 1999" in rebuilt(client, "/statistics/")


def test_contacts_marked_verified_in_bulk_reach_the_cached_contacts_page(client, seeded, editor):
    today = timezone.localdate()
    MediaContact.objects.update(last_verified=today - dt.timedelta(days=300))
    checked = f'Details checked on <time datetime="{today:%Y-%m-%d}">{today:%-d %B %Y}</time>'
    assert checked not in cached(client, "/contacts/")
    pks = list(MediaContact.objects.values_list("pk", flat=True))
    editor.post(
        reverse("admin:contacts_mediacontact_changelist"),
        {"action": "mark_verified", "_selected_action": pks},
    )
    assert checked in rebuilt(client, "/contacts/")


def test_a_programme_renamed_in_the_admin_reaches_the_cached_release_page(client, seeded, editor):
    programme = Programme.objects.get(slug="choose-and-book")
    assert programme.name in cached(client, "/statistics/")
    url = reverse("admin:statistics_programme_change", args=[programme.pk])
    resubmit(editor, url, name="Choose and Book (e-Referral)")
    assert "Choose and Book (e-Referral)" in rebuilt(client, "/statistics/")


def test_a_measure_renamed_in_the_admin_reaches_its_cached_page(client, seeded, editor):
    metric = Metric.objects.get(slug="eps-messages-total")
    path = metric.get_absolute_url()
    assert metric.name in cached(client, path)
    resubmit(editor, reverse("admin:statistics_metric_change", args=[metric.pk]), name="Messages sent")
    assert "Messages sent" in rebuilt(client, path)


def test_a_programme_import_reaches_the_cached_release_page(client, seeded):
    from stats.spreadsheets.resources import ProgrammeResource

    assert "Electronic Prescriptions" not in cached(client, "/statistics/")
    programme = Programme.objects.get(slug="choose-and-book")
    rows = tablib.Dataset(headers=["slug", "name"])
    rows.append([programme.slug, "Electronic Prescriptions"])
    result = ProgrammeResource().import_data(rows, dry_run=False)
    assert not result.has_errors()
    assert "Electronic Prescriptions" in rebuilt(client, "/statistics/")


def test_a_draft_given_a_date_in_the_admin_and_then_deleted_comes_and_goes_on_the_cached_calendar(
    client, seeded, editor
):
    calendar = "/statistics/calendar/"
    assert "w/c 10 March 2010" not in cached(client, calendar)
    day = (timezone.now() + dt.timedelta(days=7)).date().isoformat()
    response = editor.post(
        reverse("admin:statistics_release_add"),
        {
            **admin_change_data(editor.get(reverse("admin:statistics_release_add"))),
            "period_date": "2010-03-10",
            "publish_at_0": day,
            "publish_at_1": "09:30",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert "10 March 2010" in rebuilt(client, calendar)
    cached(client, calendar)
    draft = Release.objects.get(period_date="2010-03-10")
    delete = reverse("admin:statistics_release_delete", args=[draft.pk])
    assert editor.post(delete, {"post": "yes"}).status_code == 302
    assert "10 March 2010" not in rebuilt(client, calendar)


def test_no_save_of_a_public_model_is_listened_to_by_the_project():
    """The page cache is told by the code that writes, not by a model's save or delete."""
    from django.apps import apps

    ours = ("common", "newsroom", "stats", "contacts", "alerts")
    for model in [
        *apps.get_app_config("statistics").get_models(),
        *apps.get_app_config("contacts").get_models(),
    ]:
        for signal in (post_save, post_delete):
            listeners = [receiver.__module__ for receiver in signal._live_receivers(model)[0]]
            assert not [name for name in listeners if name.split(".")[0] in ours], (model, signal, listeners)
    for through in (MediaContact.programmes.through,):
        listeners = [receiver.__module__ for receiver in m2m_changed._live_receivers(through)[0]]
        assert not [name for name in listeners if name.split(".")[0] in ours], listeners
