"""Every admin page a person saves, in Chromium: no lost update, every form saves back unchanged,
each role can do its week's work, and the pages fit a 1,280 px window."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from .conftest import PASSWORD, said, screenshot, sideways_scroll

pytestmark = pytest.mark.browser


@pytest.fixture
def draft(newsroom, people):
    """This week's draft, started from the seed release by the superuser."""
    from stats.models import Release
    from stats.publishing import services

    return services.start_next_release(source=Release.objects.get(), by=people["superuser"])


def change_page(page, obj) -> None:
    opts = obj._meta
    page.goto(page.base + reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))


# --- two people, one release ----------------------------------------------------------------------


def test_two_editors_of_one_release_the_second_is_refused_and_loses_nothing(sign_in, people, draft):
    from stats.models import Figure

    pat, kim = sign_in(people["press officer"]), sign_in(people["second press officer"])
    change_page(pat, draft)
    change_page(kim, draft)

    pat.get_by_label("Title").fill("Deployment statistics: spring update")
    pat.get_by_role("button", name="Save and continue editing").click()
    said(pat, "was changed successfully")

    box = kim.locator("#figures-group tr.form-row", has_text="Prescription messages transmitted:").locator(
        "td.field-value input"
    )
    box.fill("311,000,000")
    kim.get_by_role("button", name="Save and continue editing").click()
    said(kim, "Someone else saved")
    said(kim, "Nothing was saved: reload the page to see their changes")
    assert box.input_value() == "311,000,000"  # what kim typed is still there to copy
    screenshot(kim, "admin-release-stale-save")

    draft.refresh_from_db()
    assert draft.title == "Deployment statistics: spring update"  # pat's save stands
    assert Figure.objects.get(release=draft, metric__slug="eps-messages-total").value == 306_774_292

    # Reloading shows pat's title; kim's change then saves.
    change_page(kim, draft)
    assert kim.get_by_label("Title").input_value() == "Deployment statistics: spring update"
    box.fill("311,000,000")
    kim.get_by_role("button", name="Save and continue editing").click()
    said(kim, "was changed successfully")
    assert Figure.objects.get(release=draft, metric__slug="eps-messages-total").value == 311_000_000


def test_a_figure_page_opened_before_another_save_is_refused(sign_in, people, draft):
    from stats.models import Figure

    figure = Figure.objects.get(release=draft, metric__slug="cab-bookings-total")
    pat, kim = sign_in(people["press officer"]), sign_in(people["second press officer"])

    # Two people on the same figure's page: the first save wins, the second is told.
    change_page(pat, figure)
    change_page(kim, figure)
    assert pat.get_by_label("Value").input_value() == "22,725,621"
    pat.get_by_label("Value").fill("22,800,000")
    pat.get_by_role("button", name="Save", exact=True).click()
    said(pat, "was changed successfully")
    kim.get_by_label("Value").fill("22,900,000")
    kim.get_by_role("button", name="Save", exact=True).click()
    said(kim, "Someone else saved")
    figure.refresh_from_db()
    assert figure.value == 22_800_000

    # A figure page opened before a save on the release page is refused too.
    change_page(kim, figure)
    change_page(pat, draft)
    pat.locator("#id_summary").fill("Figures for the week beginning 10 March 2010.")
    pat.get_by_role("button", name="Save and continue editing").click()
    said(pat, "was changed successfully")
    kim.get_by_label("Value").fill("23,000,000")
    kim.get_by_role("button", name="Save", exact=True).click()
    said(kim, "Someone else saved")
    figure.refresh_from_db()
    assert figure.value == 22_800_000


def test_an_import_moves_the_version_on_so_an_older_page_cannot_save_over_it(
    sign_in, people, draft, tmp_path
):
    """A release-text import is an edit: the release page opened before it is refused."""
    publisher, officer = sign_in(people["publisher"]), sign_in(people["press officer"])
    change_page(officer, draft)

    csv = tmp_path / "releases.csv"
    csv.write_text(
        f"period,title,summary\n{draft.period_date.isoformat()},Imported title,Imported summary.\n"
    )
    publisher.goto(publisher.base + reverse("admin:statistics_release_import"))
    publisher.get_by_label("File to import").set_input_files(csv)
    publisher.get_by_label("Format").select_option(label="csv")
    publisher.get_by_role("button", name="Submit").click()
    publisher.get_by_role("button", name="Confirm import").click()
    said(publisher, "Import finished")
    draft.refresh_from_db()
    assert draft.title == "Imported title" and draft.last_edited_by == people["publisher"]

    officer.get_by_label("Title").fill("My title")
    officer.get_by_role("button", name="Save and continue editing").click()
    said(officer, "Someone else saved")
    draft.refresh_from_db()
    assert draft.title == "Imported title"


# --- every change form saves back unchanged -----------------------------------------------------------


def instances(draft, people):
    """One saved object for every model the admin registers."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.auth.models import Group

    from alerts.models import Delivery, Subscriber
    from contacts.models import MediaContact
    from stats.models import Correction, Explanation, Metric, Programme, Release, ReleaseDateChange
    from stats.publishing import services

    seed = Release.objects.get(period_date="2010-03-03")
    services.correct_figure(
        figure=seed.figures.get(metric__slug="pacs-systems-live"),
        by=people["superuser"],
        value=128,
        reason="One more system went live.",
    )
    services.explain_figure(
        release=draft, by=people["superuser"], metric_slug="pacs-systems-live", reason="New systems."
    )
    services.change_release_date(
        release=draft,
        by=people["superuser"],
        publish_at=timezone.now() + dt.timedelta(days=30),
        reason="Moved for a test.",
    )
    reader = Subscriber.objects.create(
        email="reader@example.org", every_release=True, confirmed_at=timezone.now()
    )
    reader.programmes.set(Programme.objects.filter(slug="eps"))
    delivery = Delivery.objects.create(
        subscriber=reader, event=f"release:{seed.pk}", status=Delivery.Status.SENT, attempts=1
    )
    from django_tasks_db.models import DBTaskResult

    from stats.publishing.tasks import catch_up

    catch_up.enqueue()  # a task waiting for the worker: the task log has a row to open
    from stats.models import PreReleaseAccess, PreReleaseBreach, PreReleaseGrant

    # The seed's pre-release ledger, as it stands once a release is out: shown, not editable.
    grant = PreReleaseGrant.objects.create(
        release=seed, name="Ann Lee", job_title="Private secretary", organisation="DH", email="a@example.org"
    )
    access = PreReleaseAccess.objects.create(grant=grant, release=seed, viewed="page", outcome="opened")
    breach = PreReleaseBreach.objects.create(release=seed, explanation="Quoted early.")
    return {
        PreReleaseGrant: grant,
        PreReleaseAccess: access,
        PreReleaseBreach: breach,
        DBTaskResult: DBTaskResult.objects.first(),
        Subscriber: reader,
        Delivery: delivery,
        Group: Group.objects.get(name="Press officers"),
        people["superuser"].__class__: people["press officer"],
        AccessAttempt: AccessAttempt.objects.first(),
        AccessLog: AccessLog.objects.first(),
        AccessFailureLog: AccessFailureLog.objects.first(),
        Programme: Programme.objects.get(slug="eps"),
        Metric: Metric.objects.get(slug="eps-messages-total"),
        Release: draft,
        draft.figures.model: draft.figures.first(),
        draft.statements.model: draft.statements.first(),
        Correction: Correction.objects.first(),
        Explanation: Explanation.objects.first(),
        ReleaseDateChange: ReleaseDateChange.objects.first(),
        MediaContact: MediaContact.objects.first(),
    }


def test_every_change_form_in_the_admin_saves_back_unchanged(browser, sign_in, people, draft):
    root = sign_in(people["superuser"])
    # One failed sign-in, so the sign-in records have rows to open.
    wrong = browser.new_context().new_page()
    wrong.goto(root.base + "/admin/login/")
    wrong.get_by_label("Username").fill("pat")
    wrong.get_by_label("Password").fill("not-" + PASSWORD)
    wrong.get_by_role("button", name="Log in").click()
    wrong.context.close()

    objects = instances(draft, people)
    registered = set(admin.site._registry)
    assert registered == set(objects), "a model the admin registers has no case here"
    for model, obj in objects.items():
        label = model._meta.label
        if obj is None:  # a log nothing has written to yet: its list answers
            opts = model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            assert root.goto(root.base + url).status == 200, label
            continue
        change_page(root, obj)
        root.locator("#content").wait_for()
        assert sideways_scroll(root) == 0, f"{label}: the page is wider than 1,280 px"
        save = root.locator("input[name=_save]")
        if save.count() == 0:  # a record nobody edits (corrections, sign-in logs): shown, not editable
            assert root.locator("h1").inner_text().startswith("View"), label
            continue
        before = snapshot(obj)
        save.click()
        said(root, "was changed successfully")
        assert snapshot(obj) == before, f"{label}: saving the form unchanged changed the record"


def snapshot(obj) -> dict:
    """The record's stored values; times to the second, as the admin's date-and-time boxes show them."""
    fresh = type(obj)._default_manager.get(pk=obj.pk)
    skip = {"version", "updated_at", "last_edited_by", "last_login", "password"}
    values = {f.attname: getattr(fresh, f.attname) for f in fresh._meta.concrete_fields}
    return {
        name: value.replace(microsecond=0) if isinstance(value, dt.datetime) else value
        for name, value in values.items()
        if name not in skip
    }


# --- each role does its week's work -----------------------------------------------------------------


def test_a_press_officer_keeps_the_media_contacts_up_to_date(sign_in, people, newsroom):
    from contacts.models import MediaContact

    officer = sign_in(people["press officer"])
    officer.goto(officer.base + reverse("admin:contacts_mediacontact_changelist"))
    contact = MediaContact.objects.first()
    officer.locator("#result_list tr", has_text=contact.name).locator("input.action-select").check()
    officer.locator("select[name=action]").select_option(label="Mark selected contacts as verified today")
    officer.get_by_role("button", name="Go").click()
    said(officer, "1 contact marked as verified")
    contact.refresh_from_db()
    assert contact.last_verified is not None

    officer.get_by_role("link", name=contact.name).click()
    officer.get_by_label("Remit").fill("Systems, services and statistics")
    officer.get_by_role("button", name="Save", exact=True).click()
    said(officer, "was changed successfully")
    contact.refresh_from_db()
    assert contact.remit == "Systems, services and statistics"

    # Programmes and metrics are the publishers' to keep.
    officer.goto(officer.base + reverse("admin:statistics_programme_changelist"))
    officer.get_by_role("link", name="Electronic Prescription Service (EPS)").click()
    assert officer.locator("input[name=_save]").count() == 0


def test_a_publisher_keeps_the_programmes_and_metrics(sign_in, people, newsroom):
    from stats.models import Metric, Programme

    publisher = sign_in(people["publisher"])
    publisher.goto(publisher.base + reverse("admin:statistics_programme_changelist"))
    publisher.get_by_role("link", name="Electronic Prescription Service (EPS)").click()
    publisher.get_by_label("Description").fill("Sends prescriptions from GP practices to pharmacies.")
    publisher.get_by_role("button", name="Save", exact=True).click()
    said(publisher, "was changed successfully")
    assert Programme.objects.get(slug="eps").description.startswith("Sends prescriptions")

    publisher.goto(publisher.base + reverse("admin:statistics_metric_changelist"))
    publisher.get_by_role("link", name="Prescription messages transmitted").click()
    publisher.get_by_label("Definition").fill("Messages sent through the Spine, cumulative.")
    publisher.get_by_role("button", name="Save", exact=True).click()
    said(publisher, "was changed successfully")
    assert Metric.objects.get(slug="eps-messages-total").definition.startswith("Messages sent")


def test_the_release_list_shows_one_line_per_release(sign_in, people, draft):
    publisher = sign_in(people["publisher"])
    publisher.goto(publisher.base + reverse("admin:statistics_release_changelist"))
    rows = publisher.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert rows.first.inner_text().split("\t")[1:3] == ["w/c 10 March 2010", "Draft"]
    assert rows.nth(1).inner_text().split("\t")[1:3] == ["w/c 3 March 2010", "Published"]
    heights = [rows.nth(i).bounding_box()["height"] for i in range(2)]
    assert max(heights) < 50, heights  # one line each, not a title wrapped over five
    assert sideways_scroll(publisher) == 0


def test_history_reads_as_people_write(sign_in, people, draft):
    officer = sign_in(people["press officer"])
    change_page(officer, draft)
    box = officer.locator("#figures-group tr.form-row", has_text="Bookings made:").locator(
        "td.field-value input"
    )
    box.fill("22,810,000")
    officer.get_by_role("button", name="Save and continue editing").click()
    said(officer, "was changed successfully")
    officer.get_by_role("link", name="Full history").click()
    history = officer.locator("#content-main").inner_text()
    assert "Value: 22,725,621 → 22,810,000" in history
    assert "Confirmed: No → Yes" in history
    assert "22725621.0000" not in history and "is_confirmed" not in history


def test_the_history_names_the_release_clock_for_what_the_worker_did(sign_in, people, newsroom):
    """A release the worker marked published at its second: its history pages say the release clock did it."""
    from stats.models import Release
    from stats.publishing import services

    coming = Release.objects.create(
        period_date=dt.date(2010, 3, 10),
        status=Release.Status.SCHEDULED,
        publish_at=timezone.now() - dt.timedelta(seconds=5),
    )
    services.publish_due_releases()

    publisher = sign_in(people["publisher"])
    change_page(publisher, coming)
    publisher.get_by_role("link", name="History", exact=True).click()
    row = publisher.locator("#change-history tbody tr", has_text="Published at its time")
    cells = [text.strip() for text in row.locator("td").all_inner_texts()]
    assert "the release clock" in cells and "None" not in cells, cells
    screenshot(publisher, "admin-release-history-release-clock")

    change_page(publisher, coming)
    publisher.get_by_role("link", name="Full history").click()
    row = publisher.locator("#full-history tbody tr", has_text="Published at its time")
    who = row.locator("td").nth(1).inner_text().strip()
    assert who == "the release clock"


def test_the_seed_release_reads_as_published_at_its_time(sign_in, people, newsroom):
    """Loaded by `load_seed`, public since 2010: its page says when it was marked published, and never
    asks whether the task worker is running."""
    from stats.models import Release

    publisher = sign_in(people["publisher"])
    change_page(publisher, Release.objects.get())
    panel = publisher.locator("#workflow-panel")
    assert "Marked published at Wednesday 3 March 2010" in panel.inner_text()
    assert "Not yet marked published" not in panel.inner_text()


def test_the_next_release_is_started_only_from_an_approved_one(sign_in, people, draft):
    """A draft offers no "Start the next release"; the published release does, and it works."""
    from stats.models import Release

    officer = sign_in(people["press officer"])
    change_page(officer, draft)
    assert officer.get_by_role("link", name="Submit for review").count() == 1  # the draft's own buttons
    assert officer.get_by_role("link", name="Start the next release").count() == 0

    # Its address typed in anyway: refused, saying why.
    officer.goto(officer.base + reverse("admin:statistics_release_start_next", args=[draft.pk]))
    said(officer, "“Start the next release” does not apply to a draft release")

    seed = Release.objects.get(period_date=dt.date(2010, 3, 3))
    change_page(officer, seed)
    officer.get_by_role("link", name="Start the next release").click()
    officer.get_by_label("Period of the new release").fill("2010-03-17")
    officer.get_by_role("button", name="Start the next release").click()
    said(officer, "Started")
    assert Release.objects.get(period_date=dt.date(2010, 3, 17)).status == Release.Status.DRAFT


def test_the_last_editor_is_told_at_once_that_someone_else_must_approve(sign_in, people, draft):
    """The publisher who confirmed the figures opens "Approve and schedule": told why before filling
    anything in, with no date to fill nor button to press; another publisher gets the form."""
    from stats.publishing import services

    publisher = people["publisher"]
    slugs = list(draft.figures.values_list("metric__slug", flat=True))
    services.confirm_figures(release=draft, by=publisher, slugs=slugs)
    services.submit_release(release=draft, by=publisher, acknowledge_warnings=True)

    sam = sign_in(publisher)
    change_page(sam, draft)
    sam.get_by_role("link", name="Approve and schedule").click()
    said(sam, "You were the last to edit")
    said(sam, "so someone else must approve it (two pairs of eyes). Ask another publisher to approve it.")
    assert sam.get_by_role("button", name="Approve and schedule").count() == 0
    assert sam.locator("input[name=publish_at_0]").count() == 0  # no date to fill in for nothing
    screenshot(sam, "admin-approve-last-editor")

    root = sign_in(people["superuser"])
    change_page(root, draft)
    root.get_by_role("link", name="Approve and schedule").click()
    assert root.get_by_role("button", name="Approve and schedule").is_enabled()
    assert root.locator("input[name=publish_at_0]").count() == 1
    assert root.locator(".errornote").filter(has_text="last to edit").count() == 0


def test_the_preview_banner_reads_as_a_sentence(sign_in, people, draft):
    officer = sign_in(people["press officer"])
    change_page(officer, draft)
    officer.get_by_role("link", name="Preview as the public will see it").click()
    banner = officer.locator("#preview-banner").inner_text()
    assert "This is a preview of a draft release, exactly as the public will see it" in banner, banner
    assert "It is not public: do not share this address." in banner


def test_the_admin_index_spells_its_plurals_right(sign_in, people):
    publisher = sign_in(people["publisher"])
    publisher.goto(publisher.base + reverse("admin:index"))
    assert publisher.get_by_role("link", name="Pre-release access breaches", exact=True).count() == 1
    assert "breachs" not in publisher.locator("#content-main").inner_text()


# --- metric names are read whole ---------------------------------------------------------------------

LONG_METRICS = ("cab-practices-used-week", "cab-referral-share", "eps-r1-practices-percent")


def chosen_metric(cell) -> dict:
    """The metric a figure's autocomplete shows: its text, and whether any of it is cut off."""
    shown = cell.locator(".select2-selection__rendered")
    return shown.evaluate(
        "el => ({text: el.textContent.replace('×', '').trim(), cut: el.scrollWidth > el.clientWidth + 1"
        " || el.scrollHeight > el.clientHeight + 1, height: el.getBoundingClientRect().height})"
    )


def test_metric_names_are_shown_whole_at_1280_px(sign_in, people, draft):
    """Each figure's metric on the release page and on the figure's own page reads in full, in a
    1,280 px window, and the page still fits it."""
    from stats.models import Figure

    officer = sign_in(people["press officer"])
    change_page(officer, draft)
    rows = officer.locator("#figures-group tr.form-row.has_original")
    rows.first.wait_for()
    for slug in LONG_METRICS:
        figure = Figure.objects.select_related("metric").get(release=draft, metric__slug=slug)
        row = rows.filter(
            has=officer.locator(f"select[name$='-metric'] option[value='{figure.metric_id}'][selected]")
        )
        shown = chosen_metric(row.locator("td.field-metric"))
        assert shown["text"] == figure.metric.name and not shown["cut"], shown
    assert sideways_scroll(officer) == 0
    screenshot(officer, "admin-release-metric-names")

    # Choosing another: the list offers whole names too.
    rows.first.locator("td.field-metric .select2-selection").click()
    officer.locator(".select2-search__field").fill("GP practices using")
    option = officer.locator(".select2-results__option", has_text="GP practices using")
    option.first.wait_for()
    assert option.first.evaluate(
        "el => el.textContent.trim() === 'GP practices using Choose and Book in the last week'"
        " && el.scrollWidth <= el.clientWidth + 1"
    )
    officer.keyboard.press("Escape")

    figure = Figure.objects.select_related("metric").get(release=draft, metric__slug=LONG_METRICS[0])
    change_page(officer, figure)
    shown = chosen_metric(officer.locator(".field-metric"))
    assert shown["text"] == figure.metric.name and not shown["cut"], shown
    assert sideways_scroll(officer) == 0
    screenshot(officer, "admin-figure-metric-name")
