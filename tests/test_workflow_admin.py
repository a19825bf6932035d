"""The workflow as press officers and publishers use it: the admin, the preview and the calendar."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stats.admin.workflow import ACTIONS
from stats.models import Correction, Figure, Metric, Release
from stats.publishing import services

from .forms import admin_change_data

UK = ZoneInfo("Europe/London")
Status = Release.Status


def change_url(release):
    return reverse("admin:statistics_release_change", args=[release.pk])


def action_url(release, slug):
    return reverse(f"admin:statistics_release_{slug.replace('-', '_')}", args=[release.pk])


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def figure_forms(data):
    prefix = next(k for k in data if k.endswith("-TOTAL_FORMS") and "figure" in k).removesuffix(
        "-TOTAL_FORMS"
    )
    return prefix, int(data[f"{prefix}-TOTAL_FORMS"])


def set_figure(data, slug, value):
    prefix, count = figure_forms(data)
    pk = str(Metric.objects.get(slug=slug).pk)
    index = next(i for i in range(count) if data[f"{prefix}-{i}-metric"] == pk)
    data[f"{prefix}-{index}-value"] = str(value)


def errors(response) -> str:
    return " ".join(re.findall(r'class="errornote">(.*?)</div>', response.content.decode(), re.S)) or str(
        response.status_code
    )


def test_a_press_officer_takes_last_weeks_release_to_this_weeks_scheduled_release(
    client, seed_release, press_officer, publisher
):
    officer, boss = as_user(press_officer), as_user(publisher)

    # Last week's release is published: read-only, with a button to start the next one.
    page = officer.get(change_url(seed_release)).content.decode()
    assert "Start the next release" in page and 'name="title"' not in page
    response = officer.post(action_url(seed_release, "start-next"), {"period_date": ""})
    draft = Release.objects.get(period_date=dt.date(2010, 3, 10))
    assert response.status_code == 302 and response["Location"] == change_url(draft)

    # Every figure is copied, marked not yet updated; submit is refused until each is dealt with.
    page = officer.get(change_url(draft)).content.decode()
    count = draft.figures.count()
    assert f"To do:</strong> {count} figures copied from the previous release are waiting" in page
    assert "Error:" not in page  # a new draft's normal state is work to do, not an error found
    response = officer.post(action_url(draft, "submit"), {"version": draft.version})
    assert "not yet updated" in response.content.decode()

    # Update two figures by hand, confirm the rest unchanged, in one save of the change page.
    data = admin_change_data(officer.get(change_url(draft)))
    set_figure(data, "eps-messages-total", 310_000_000)
    set_figure(data, "cab-bookings-total", 23_000_000)
    prefix, forms = figure_forms(data)
    for i in range(forms):
        if data[f"{prefix}-{i}-value"] not in ("310000000", "23000000"):
            data[f"{prefix}-{i}-is_confirmed"] = "on"
    response = officer.post(change_url(draft), data)
    assert response.status_code == 302, errors(response)
    assert not draft.figures.filter(is_confirmed=False).exists()  # editing a value confirms it

    # The press officer previews it exactly as the public will see it.
    preview = officer.get(reverse("statistics:release-preview", args=[draft.pk]))
    assert "310 million (310,000,000) prescription messages" in preview.content.decode()

    # Submit; a press officer cannot approve.
    draft.refresh_from_db()
    response = officer.post(action_url(draft, "submit"), {"version": draft.version})
    assert response.status_code == 302, errors(response)
    draft.refresh_from_db()
    assert draft.status == Status.IN_REVIEW
    assert "Approve and schedule" not in officer.get(change_url(draft)).content.decode()
    assert officer.get(action_url(draft, "approve")).status_code == 403

    # The publisher reviews what changed, then schedules it for 09:30 UK time tomorrow.
    changes = boss.get(reverse("admin:statistics_release_changes", args=[draft.pk])).content.decode()
    assert "306,774,292" in changes and "310,000,000" in changes and "+3,225,708 (+1.1%)" in changes
    tomorrow = (timezone.now().astimezone(UK) + dt.timedelta(days=1)).date()
    response = boss.post(
        action_url(draft, "approve"),
        {
            "version": draft.version,
            "publish_at_0": tomorrow.isoformat(),
            "publish_at_1": "09:30:00",
            "acknowledge": "on",  # a 2010 period published now: the timing warning, checked
        },
    )
    assert response.status_code == 302, errors(response)
    draft.refresh_from_db()
    assert draft.status == Status.SCHEDULED and draft.approved_by == publisher
    assert draft.publish_at == dt.datetime.combine(tomorrow, dt.time(9, 30), tzinfo=UK)
    page = boss.get(change_url(draft)).content.decode()
    label = "BST" if draft.publish_at.astimezone(UK).dst() else "GMT"
    assert f"09:30 {label}" in page

    # Not a moment before its time; exactly at it.
    Release.objects.filter(pk=draft.pk).update(publish_at=timezone.now() + dt.timedelta(seconds=30))
    assert client.get("/statistics/2010-03-10/").status_code == 404
    assert "310,000,000" not in client.get("/statistics/").content.decode()
    Release.objects.filter(pk=draft.pk).update(publish_at=timezone.now())
    assert "310,000,000" in client.get("/statistics/2010-03-10/").content.decode()
    assert "310,000,000" in client.get("/statistics/").content.decode()


def test_every_workflow_page_answers_for_a_superuser(admin_client, seed_release, superuser, publisher):
    draft = services.start_next_release(source=seed_release, by=publisher)
    for slug, action in ACTIONS.items():
        release = seed_release if action.rule in ("correct", "withdraw") else draft
        response = admin_client.get(action_url(release, slug))
        if action.applies(release):
            assert response.status_code == 200 and action.label in response.content.decode()
        else:
            assert response.status_code == 302  # back to the release, with a message


def test_the_second_of_two_editors_is_told_to_reload_and_nothing_is_overwritten(
    seed_release, press_officer, superuser
):
    draft = services.start_next_release(source=seed_release, by=superuser)
    first, second = as_user(press_officer), as_user(superuser)
    first_data = admin_change_data(first.get(change_url(draft)))
    second_data = admin_change_data(second.get(change_url(draft)))
    first_data["title"] = "Edited by the first"
    assert first.post(change_url(draft), first_data).status_code == 302
    second_data["title"] = "Edited by the second"
    response = second.post(change_url(draft), second_data)
    assert response.status_code == 200
    assert (
        "Someone else saved" in response.content.decode() and "reload the page" in response.content.decode()
    )
    draft.refresh_from_db()
    assert draft.title == "Edited by the first" and draft.version == 2


def test_published_figures_and_statements_change_only_through_a_correction(client, seed_release, publisher):
    boss = as_user(publisher)
    page = boss.get(change_url(seed_release)).content.decode()
    assert 'name="figures-0-value"' not in page and "Correct a figure" in page
    response = boss.post(change_url(seed_release), {"title": "Sneaky"}, follow=True)
    assert "can no longer be edited here. Nothing was saved" in response.content.decode()
    seed_release.refresh_from_db()
    assert seed_release.title != "Sneaky"
    figure = Figure.objects.get(release=seed_release, metric__slug="eps-messages-total")
    figure_page = boss.get(reverse("admin:statistics_figure_change", args=[figure.pk])).content.decode()
    assert 'name="value"' not in figure_page
    # The correction form needs a reason and records a public notice.
    url = action_url(seed_release, "correct-figure")
    response = boss.post(url, {"figure": figure.pk, "value": "306774300", "reason": ""})
    assert response.status_code == 200 and not Correction.objects.exists()
    response = boss.post(url, {"figure": figure.pk, "value": "306774300", "reason": "Late supplier batch."})
    assert response.status_code == 302
    assert "Late supplier batch." in client.get("/statistics/2010-03-03/").content.decode()


def test_full_history_shows_field_level_old_and_new(seed_release, superuser, press_officer):
    draft = services.start_next_release(source=seed_release, by=superuser)
    officer = as_user(press_officer)
    data = admin_change_data(officer.get(change_url(draft)))
    set_figure(data, "eps-messages-total", 310_000_000)
    assert officer.post(change_url(draft), data).status_code == 302
    page = officer.get(reverse("admin:statistics_release_full_history", args=[draft.pk])).content.decode()
    assert "Figure: Prescription messages transmitted" in page
    # Fields by their labels, numbers as people write them: never 306774292.0000 or is_confirmed.
    assert "<strong>Value</strong>: 306,774,292 → 310,000,000" in page
    assert "<strong>Confirmed</strong>: No → Yes" in page
    assert "Started from w/c 3 March 2010" in page
    assert "306774292.0000" not in page and "is_confirmed" not in page
    figure = draft.figures.get(metric__slug="eps-messages-total")
    own = officer.get(reverse("admin:statistics_figure_history", args=[figure.pk])).content.decode()
    assert "<strong>Value:</strong>\n                    306,774,292" in own and "310,000,000" in own
    assert "306774292.0000" not in own and "310000000.0000" not in own


def test_what_the_worker_did_on_its_own_is_shown_as_done_by_the_release_clock(seed_release, publisher):
    """Marked published at its second by the worker (or its catch-up): the history names the release
    clock, never None or a dash; what a person did still names them."""
    coming = Release.objects.create(
        period_date=dt.date(2010, 3, 10),
        status=Status.SCHEDULED,
        publish_at=timezone.now() - dt.timedelta(seconds=5),
        last_edited_by=publisher,
    )
    (marked,) = services.publish_due_releases()
    assert marked.pk == coming.pk
    boss = as_user(publisher)

    history = boss.get(reverse("admin:statistics_release_history", args=[coming.pk])).content.decode()
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", history, re.S) if "Published at its time" in r)
    cells = [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    assert "the release clock" in cells and "None" not in cells

    full = boss.get(reverse("admin:statistics_release_full_history", args=[coming.pk])).content.decode()
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", full, re.S) if "Published at its time" in r)
    assert "<td>the release clock</td>" in row and "<td>—</td>" not in row

    # A person's own step still names them.
    draft = services.start_next_release(source=marked, by=publisher)
    full = boss.get(reverse("admin:statistics_release_full_history", args=[draft.pk])).content.decode()
    assert "<td>sam</td>" in full and "the release clock" not in full


def test_the_last_editor_is_told_on_opening_the_approve_page_and_offered_no_button(
    seed_release, publisher, django_user_model, settings
):
    from django.contrib.auth.models import Group

    draft = services.start_next_release(source=seed_release, by=publisher)
    draft.figures.update(is_confirmed=True)
    services.submit_release(release=draft, by=publisher, acknowledge_warnings=True)
    boss = as_user(publisher)
    for slug, verb in (("approve", "approve"), ("publish-now", "publish")):
        page = boss.get(action_url(draft, slug)).content.decode()  # opened, nothing filled in
        assert f"You were the last to edit “{draft}”, so someone else must {verb} it" in page, slug
        assert "Ask another publisher" in page
        assert 'name="_confirm"' not in page and 'name="publish_at_0"' not in page, slug

    # Another publisher is offered the form and its button.
    other = django_user_model.objects.create_user("alex", "alex@example.org", is_staff=True)
    other.groups.add(Group.objects.get(name="Publishers"))
    page = as_user(other).get(action_url(draft, "approve")).content.decode()
    assert 'name="_confirm"' in page and 'name="publish_at_0"' in page
    assert "You were the last to edit" not in page

    # With the rule switched off, the last editor may approve.
    settings.NEWSROOM_TWO_PAIRS_OF_EYES = False
    assert 'name="_confirm"' in boss.get(action_url(draft, "approve")).content.decode()


def test_publish_times_show_uk_time_with_utc_and_warn_near_a_clock_change(admin_client, db):
    winter = Release.objects.create(
        period_date=dt.date(2030, 1, 9), publish_at=dt.datetime(2030, 1, 9, 9, 30, tzinfo=UK)
    )
    summer = Release.objects.create(
        period_date=dt.date(2030, 6, 5), publish_at=dt.datetime(2030, 6, 5, 9, 30, tzinfo=UK)
    )
    clocks = Release.objects.create(
        period_date=dt.date(2030, 3, 31), publish_at=dt.datetime(2030, 3, 31, 2, 30, tzinfo=UK)
    )
    assert (
        "Wednesday 9 January 2030, 09:30 GMT (09:30 UTC)"
        in admin_client.get(change_url(winter)).content.decode()
    )
    page = admin_client.get(change_url(summer)).content.decode()
    assert "Wednesday 5 June 2030, 09:30 BST (08:30 UTC)" in page and "clocks go" not in page
    page = admin_client.get(change_url(clocks)).content.decode()
    assert "The UK clocks go forward (GMT to BST) within two hours of this publish time" in page


def test_preview_is_for_staff_only_marked_and_never_cached(
    client, django_user_model, seed_release, press_officer
):
    draft = services.start_next_release(source=seed_release, by=press_officer)
    Figure.objects.filter(release=draft, metric__slug="eps-messages-total").update(value=311_111_111)
    url = reverse("statistics:release-preview", args=[draft.pk])
    response = as_user(press_officer).get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert 'id="preview-banner"' in html and "Preview" in html and "311,111,111" in html
    assert client.get(url).status_code == 404
    member = django_user_model.objects.create_user("reader", "reader@example.org")
    assert as_user(member).get(url).status_code == 404
    assert client.get("/statistics/2010-03-10/").status_code == 404
    assert 'id="preview-banner"' not in client.get("/statistics/").content.decode()


@pytest.mark.parametrize(
    ("status", "hours", "says"),
    [
        (Status.DRAFT, 24, "This is a preview of a draft release, exactly as the public will see it from "),
        (
            Status.IN_REVIEW,
            24,
            "This is a preview of a release in review, exactly as the public will see it from ",
        ),
        (
            Status.SCHEDULED,
            24,
            "This is a preview of a scheduled release, exactly as the public will see it from ",
        ),
        (
            Status.SCHEDULED,
            -1,
            "This is a preview of a published release, as the public sees it. It is public",
        ),
        (
            Status.PUBLISHED,
            -1,
            "This is a preview of a published release, as the public sees it. It is public",
        ),
        (Status.WITHDRAWN, -1, "This is a preview of a withdrawn release, as the public would have seen it."),
        (Status.CANCELLED, 24, "This is a preview of a cancelled release, as the public would have seen it."),
    ],
)
def test_the_preview_banner_names_the_release_s_state_in_plain_english(
    seed_release, press_officer, status, hours, says
):
    release = services.start_next_release(source=seed_release, by=press_officer)
    Release.objects.filter(pk=release.pk).update(
        status=status, publish_at=timezone.now() + dt.timedelta(hours=hours)
    )
    html = (
        as_user(press_officer).get(reverse("statistics:release-preview", args=[release.pk])).content.decode()
    )
    banner = re.search(r'id="preview-banner">(.*?)</div>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", " ", banner).split())
    assert says in text, text
    assert "preview of draft release" not in text and "preview of in review" not in text
    if hours > 0 or status == Status.WITHDRAWN:
        assert "It is not public: do not share this address." in text


def test_calendar_lists_coming_dates_changes_and_cancellations_never_figures(
    client, seed_release, press_officer, publisher, django_assert_max_num_queries
):
    soon = timezone.now() + dt.timedelta(days=7)
    provisional = services.start_next_release(source=seed_release, by=press_officer)
    Figure.objects.filter(release=provisional).exclude(kind="percent").update(value=424_242_424)
    services.change_release_date(
        release=provisional, by=press_officer, publish_at=dt.datetime(2099, 3, 11, 9, 30, tzinfo=UK)
    )
    services.change_release_date(
        release=provisional,
        by=press_officer,
        publish_at=dt.datetime(2099, 3, 12, 9, 30, tzinfo=UK),
        reason="Supplier data arrive a day late.",
    )
    # The weeks after, started from the approved seed (a draft is not started from).
    confirmed = services.start_next_release(
        source=seed_release, by=press_officer, period_date=dt.date(2010, 3, 17)
    )
    services.change_release_date(
        release=confirmed, by=publisher, publish_at=dt.datetime(2099, 7, 15, 9, 30, tzinfo=UK), confirm=True
    )
    cancelled = services.start_next_release(
        source=seed_release, by=press_officer, period_date=dt.date(2010, 3, 24)
    )
    services.change_release_date(release=cancelled, by=press_officer, publish_at=soon)
    services.cancel_release(release=cancelled, by=publisher, reason="No new figures over the holiday.")
    with django_assert_max_num_queries(4):
        html = client.get("/statistics/calendar/").content.decode()
    assert "Thursday 12 March 2099, 09:30 GMT" in html and "Provisional" in html
    assert "Wednesday 15 July 2099, 09:30 BST" in html and "(08:30 UTC)" in html and "Confirmed" in html
    assert "moved from Wednesday 11 March 2099, 09:30 GMT to Thursday 12 March 2099, 09:30 GMT" in html
    assert "Supplier data arrive a day late." in html
    assert "cancelled (was due" in html and "No new figures over the holiday." in html
    assert "424,242,424" not in html and "424242424" not in html and "306,774,292" not in html


def test_the_calendar_never_shows_a_coming_releases_own_title(client, seed_release, press_officer):
    """A draft's title is free text (it may name a figure); the calendar names the period only."""
    draft = services.start_next_release(source=seed_release, by=press_officer)
    Release.objects.filter(pk=draft.pk).update(title="Half a billion prescriptions: a record week")
    services.change_release_date(
        release=draft, by=press_officer, publish_at=dt.datetime(2099, 3, 11, 9, 30, tzinfo=UK)
    )
    services.change_release_date(
        release=draft, by=press_officer, publish_at=dt.datetime(2099, 3, 12, 9, 30, tzinfo=UK), reason="Late."
    )
    html = client.get("/statistics/calendar/").content.decode()
    assert "Deployment statistics for w/c 10 March 2010" in html
    assert "Half a billion" not in html


def test_press_officer_cannot_move_a_confirmed_date(seed_release, press_officer, publisher):
    release = services.start_next_release(source=seed_release, by=press_officer)
    services.change_release_date(
        release=release, by=publisher, publish_at=dt.datetime(2099, 3, 11, 9, 30, tzinfo=UK), confirm=True
    )
    with pytest.raises(Exception, match="permission to change or confirm an announced date"):
        services.change_release_date(
            release=release,
            by=press_officer,
            publish_at=dt.datetime(2099, 3, 12, 9, 30, tzinfo=UK),
            reason="x",
        )


def test_revisions_page_lists_corrections_and_withdrawals_in_few_queries(
    client, seed_release, publisher, django_assert_max_num_queries
):
    from decimal import Decimal

    for value in (306_774_300, 306_774_301, 306_774_302):
        figure = Figure.objects.get(release=seed_release, metric__slug="eps-messages-total")
        services.correct_figure(figure=figure, by=publisher, value=Decimal(value), reason=f"Batch {value}.")
    services.withdraw_release(release=seed_release, by=publisher, reason="The supplier's feed was broken.")
    with django_assert_max_num_queries(3):
        html = client.get("/statistics/revisions/").content.decode()
    # Corrections of a release no longer public are not listed; its withdrawal is, with the reason.
    assert "Batch 306774302." not in html
    assert "was withdrawn on" in html and "The supplier&#x27;s feed was broken." in html


def test_revisions_page_lists_a_withdrawal_once_under_a_plain_title(client, seed_release, publisher):
    services.withdraw_release(release=seed_release, by=publisher, reason="The supplier's feed was broken.")
    html = client.get("/statistics/revisions/").content.decode()
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert title.startswith("Revisions and corrections - ")
    assert html.count("was withdrawn on") == 1
    assert html.count('id="withdrawn-heading"') == 1


def test_revisions_page_query_count_does_not_grow_with_corrections(
    client, seed_release, publisher, django_assert_max_num_queries
):
    from decimal import Decimal

    for value in range(306_774_300, 306_774_310):
        figure = Figure.objects.get(release=seed_release, metric__slug="eps-messages-total")
        services.correct_figure(figure=figure, by=publisher, value=Decimal(value), reason=f"Batch {value}.")
    with django_assert_max_num_queries(3):
        html = client.get("/statistics/revisions/").content.decode()
    assert html.count("Batch 3067743") == 10


def test_preview_runs_a_fixed_number_of_queries(seed_release, press_officer, django_assert_max_num_queries):
    draft = services.start_next_release(source=seed_release, by=press_officer)
    officer = as_user(press_officer)
    officer.get("/admin/")  # session and user loaded once
    # Session, user, permissions, the page (one query of it for the media contacts' programmes),
    # its PDF size.
    with django_assert_max_num_queries(18):
        assert officer.get(reverse("statistics:release-preview", args=[draft.pk])).status_code == 200


def test_a_press_officer_is_not_offered_publisher_buttons(seed_release, press_officer, publisher):
    draft = services.start_next_release(source=seed_release, by=press_officer)
    services.change_release_date(
        release=draft, by=publisher, publish_at=timezone.now() + dt.timedelta(days=3), confirm=True
    )
    page = as_user(press_officer).get(change_url(draft)).content.decode()
    assert 'data-action="submit"' in page
    for slug in ("approve", "publish-now", "cancel", "change-date", "withdraw"):
        assert f'data-action="{slug}"' not in page
    assert as_user(press_officer).get(action_url(draft, "change-date")).status_code == 403


def test_the_save_itself_is_a_compare_and_swap_on_the_version(rf, seed_release, superuser):
    """Even if two saves pass validation together, only the first one's version swap succeeds."""
    from django.contrib import admin

    from stats.admin.workflow import StaleRelease

    draft = services.start_next_release(source=seed_release, by=superuser)
    model_admin = admin.site._registry[Release]
    request = rf.post("/")
    request.user = superuser
    form = type("Form", (), {"cleaned_data": {"expected_version": draft.version}})()
    Release.objects.filter(pk=draft.pk).update(version=draft.version + 1)  # someone else saved
    draft.title = "Mine"
    with pytest.raises(StaleRelease, match="reload the page"):
        model_admin.save_model(request, draft, form, change=True)
    draft.refresh_from_db()
    assert draft.title != "Mine"


def test_a_draft_submitted_while_someone_edits_it_refuses_their_save_with_a_message(
    seed_release, press_officer, superuser
):
    draft = services.start_next_release(source=seed_release, by=superuser)
    services.confirm_figures(release=draft, by=superuser)
    officer = as_user(press_officer)
    data = admin_change_data(officer.get(change_url(draft)))
    services.submit_release(release=draft, by=superuser, acknowledge_warnings=True)
    data["title"] = "Too late"
    response = officer.post(change_url(draft), data, follow=True)
    assert "is now in review, so it can no longer be edited here" in response.content.decode()
    draft.refresh_from_db()
    assert draft.title != "Too late"


def errornote(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", errors(response)).split())


def test_starting_the_release_after_the_last_possible_date_says_so(seed_release, publisher):
    last = Release.objects.create(
        period_date=dt.date(9999, 12, 31),
        title="Typo",
        status=Status.SCHEDULED,
        publish_at=timezone.now() + dt.timedelta(days=1),
    )
    response = as_user(publisher).post(action_url(last, "start-next"), {"period_date": ""})
    assert response.status_code == 200  # was a 500: the date after 31 December 9999 does not exist
    assert "w/c 31 December 9999 is the last period a date can name: give the new release’s period." in (
        response.content.decode().replace("&#x27;", "’")
    )
    assert Release.objects.count() == 2


def test_a_publish_time_at_the_end_of_the_calendar_is_saved_without_a_crash(seed_release, publisher):
    draft = services.start_next_release(source=seed_release, by=publisher)
    response = as_user(publisher).post(
        action_url(draft, "change-date"),
        {"version": draft.version, "publish_at_0": "9999-12-31", "publish_at_1": "23:30", "confirm": "on"},
    )
    # The clock-change warning looked two hours past it, beyond the last datetime: a 500.
    assert response.status_code == 302, errornote(response)
    draft.refresh_from_db()
    assert draft.publish_at == dt.datetime(9999, 12, 31, 23, 30, tzinfo=UK)


def test_a_correction_too_large_to_store_is_refused(seed_release, publisher):
    figure = seed_release.figures.get(metric__slug="eps-messages-total")
    response = as_user(publisher).post(
        action_url(seed_release, "correct-figure"),
        {"figure": figure.pk, "value": "9999999999999999", "reason": "Supplier resent the count."},
    )
    assert response.status_code == 200
    assert "9,999,999,999,999,999 is too large. A figure must be below 1,000,000,000,000,000." in (
        response.content.decode()
    )
    figure.refresh_from_db()
    assert figure.value == 306_774_292 and not Correction.objects.exists()
