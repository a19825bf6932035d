"""Every workflow transition, for every role, allowed and refused; the checks; clone; corrections."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from stats.models import Correction, Figure, Release, ReleaseDateChange
from stats.publishing import services

from . import factories

Status = Release.Status
LAST_WEEK = dt.date(2010, 3, 3)
THIS_WEEK = dt.date(2010, 3, 10)


@pytest.fixture
def editor(db, django_user_model):
    """Whoever last edited the release under test: never the one approving it."""
    return django_user_model.objects.create_user("ed", "ed@example.org")


@pytest.fixture
def people(press_officer, publisher, superuser):
    return {
        "anonymous": AnonymousUser(),
        "press officer": press_officer,
        "publisher": publisher,
        "superuser": superuser,
    }


@pytest.fixture
def metric(db):
    return factories.metric(slug="bookings-total", name="Bookings made", kind="total")


def make_release(status, metric, editor, *, publish_in=dt.timedelta(days=1), value=1100):
    """This week's release in `status`, after last week's published one (1,000 bookings)."""
    last_week = factories.release(LAST_WEEK, public=True)
    factories.figure(last_week, metric, 1000)
    factories.statement(last_week, metric.programme, "{bookings-total} bookings made.")
    release = factories.release(
        THIS_WEEK, status=status, publish_at=timezone.now() + publish_in, last_edited_by=editor
    )
    factories.figure(release, metric, value)
    factories.statement(release, metric.programme, "{bookings-total} bookings made.")
    return release


# role -> allowed?
ROLES = ["anonymous", "press officer", "publisher", "superuser"]
EVERYONE_SIGNED_IN = {"anonymous": False, "press officer": True, "publisher": True, "superuser": True}
PUBLISHERS_ONLY = {"anonymous": False, "press officer": False, "publisher": True, "superuser": True}


def start_next(release, user):
    return services.start_next_release(source=release, by=user)


def submit(release, user):
    return services.submit_release(release=release, by=user)


# The releases under test are for 2010 periods published today: a timing warning, acknowledged.
def approve(release, user):
    return services.approve_release(release=release, by=user, acknowledge_warnings=True)


def publish(release, user):
    return services.publish_now(
        release=release, by=user, reason="Agreed with the statistician.", acknowledge_warnings=True
    )


def send_back(release, user):
    return services.return_to_draft(release=release, by=user, reason="One more check.")


def withdraw(release, user):
    return services.withdraw_release(release=release, by=user, reason="Supplier data were wrong.")


def move_date(release, user):
    return services.change_release_date(
        release=release, by=user, publish_at=release.publish_at + dt.timedelta(days=1), reason="Bank holiday."
    )


def cancel(release, user):
    return services.cancel_release(release=release, by=user, reason="Figures not available this week.")


def correct_figure(release, user):
    return services.correct_figure(
        figure=release.figures.get(), by=user, value=Decimal(1050), reason="Recount."
    )


def correct_statement(release, user):
    return services.correct_statement(
        statement=release.statements.get(),
        by=user,
        text="{bookings-total} bookings to date.",
        reason="Wording.",
    )


# (transition, status it starts from, public?, who may, status it ends in)
TRANSITIONS = [
    (start_next, Status.PUBLISHED, True, EVERYONE_SIGNED_IN, None),
    (submit, Status.DRAFT, False, EVERYONE_SIGNED_IN, Status.IN_REVIEW),
    (approve, Status.IN_REVIEW, False, PUBLISHERS_ONLY, Status.SCHEDULED),
    (publish, Status.IN_REVIEW, False, PUBLISHERS_ONLY, Status.PUBLISHED),
    (publish, Status.SCHEDULED, False, PUBLISHERS_ONLY, Status.PUBLISHED),
    (send_back, Status.IN_REVIEW, False, EVERYONE_SIGNED_IN, Status.DRAFT),
    (send_back, Status.SCHEDULED, False, PUBLISHERS_ONLY, Status.DRAFT),
    (withdraw, Status.PUBLISHED, True, PUBLISHERS_ONLY, Status.WITHDRAWN),
    (move_date, Status.DRAFT, False, EVERYONE_SIGNED_IN, Status.DRAFT),
    (move_date, Status.SCHEDULED, False, PUBLISHERS_ONLY, Status.SCHEDULED),
    (cancel, Status.DRAFT, False, PUBLISHERS_ONLY, Status.CANCELLED),
    (correct_figure, Status.PUBLISHED, True, PUBLISHERS_ONLY, Status.PUBLISHED),
    (correct_statement, Status.PUBLISHED, True, PUBLISHERS_ONLY, Status.PUBLISHED),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("transition", "status", "public", "allowed", "ends"),
    TRANSITIONS,
    ids=[f"{t[0].__name__}-{t[1]}" for t in TRANSITIONS],
)
def test_every_transition_for_every_role(
    people, metric, editor, role, transition, status, public, allowed, ends
):
    release = make_release(
        status, metric, editor, publish_in=-dt.timedelta(hours=1) if public else dt.timedelta(days=1)
    )
    versions = release.version
    if allowed[role]:
        result = transition(release, people[role])
        release.refresh_from_db()
        if ends is None:  # start_next makes a new draft
            assert result.status == Status.DRAFT and result.period_date == dt.date(2010, 3, 17)
        else:
            assert release.status == ends
            assert release.version == versions + 1
            last = release.history.first()
            assert last.history_user == people[role]
    else:
        with pytest.raises(PermissionDenied) as refused:
            transition(release, people[role])
        release.refresh_from_db()
        assert release.status == status and release.version == versions
        assert "Sign in" in str(refused.value) if role == "anonymous" else "permission" in str(refused.value)


WRONG_STATE = [
    (submit, Status.IN_REVIEW, "Cannot submit"),
    (approve, Status.DRAFT, "Cannot approve"),
    (publish, Status.DRAFT, "Cannot publish"),
    (send_back, Status.DRAFT, "Cannot return to draft"),
    (withdraw, Status.DRAFT, "Only a public release can be withdrawn"),
    (cancel, Status.WITHDRAWN, "Cannot cancel"),
    (correct_figure, Status.DRAFT, "is not public"),
    (correct_statement, Status.SCHEDULED, "is not public"),
    (move_date, Status.PUBLISHED, "Cannot change the date"),
]


@pytest.mark.parametrize(
    ("transition", "status", "message"), WRONG_STATE, ids=[f"{t[0].__name__}-{t[1]}" for t in WRONG_STATE]
)
def test_transitions_from_the_wrong_state_are_refused_with_a_message(
    superuser, metric, editor, transition, status, message
):
    release = make_release(status, metric, editor)
    with pytest.raises(ValidationError) as refused:
        transition(release, superuser)
    assert message in " ".join(refused.value.messages)
    release.refresh_from_db()
    assert release.status == status


def test_scheduled_release_already_public_cannot_be_returned_or_published_again(superuser, metric, editor):
    release = make_release(Status.SCHEDULED, metric, editor, publish_in=-dt.timedelta(minutes=1))
    with pytest.raises(ValidationError, match="already public"):
        send_back(release, superuser)
    with pytest.raises(ValidationError, match="already public"):
        publish(release, superuser)
    with pytest.raises(ValidationError, match="already public"):
        cancel(release, superuser)


def test_two_pairs_of_eyes_refuses_the_last_editor_unless_switched_off(publisher, metric, settings):
    release = make_release(Status.IN_REVIEW, metric, publisher)
    with pytest.raises(PermissionDenied, match="someone else must approve"):
        approve(release, publisher)
    with pytest.raises(PermissionDenied, match="someone else must publish"):
        publish(release, publisher)
    settings.NEWSROOM_TWO_PAIRS_OF_EYES = False
    approve(release, publisher)
    release.refresh_from_db()
    assert release.status == Status.SCHEDULED and release.approved_by == publisher


def test_approve_needs_a_future_time_and_a_reason_to_move_an_announced_date(publisher, metric, editor):
    release = make_release(Status.IN_REVIEW, metric, editor)
    with pytest.raises(ValidationError, match="has already passed"):
        services.approve_release(
            release=release,
            by=publisher,
            publish_at=timezone.now() - dt.timedelta(hours=1),
            acknowledge_warnings=True,
        )
    later = release.publish_at + dt.timedelta(hours=2)
    with pytest.raises(ValidationError, match="Give a reason for moving the announced date"):
        services.approve_release(release=release, by=publisher, publish_at=later, acknowledge_warnings=True)
    services.approve_release(
        release=release,
        by=publisher,
        publish_at=later,
        date_change_reason="Clash with budget.",
        acknowledge_warnings=True,
    )
    release.refresh_from_db()
    assert release.publish_at == later and release.date_confirmed
    change = ReleaseDateChange.objects.get(release=release)
    assert change.reason == "Clash with budget." and change.new_publish_at == later


def test_publishing_early_needs_a_reason_and_is_logged(publisher, metric, editor):
    release = make_release(Status.SCHEDULED, metric, editor)
    with pytest.raises(ValidationError, match="publishing before the announced time"):
        services.publish_now(release=release, by=publisher, acknowledge_warnings=True)
    services.publish_now(
        release=release, by=publisher, reason="Data already released by supplier.", acknowledge_warnings=True
    )
    release.refresh_from_db()
    assert release.is_public and release.status == Status.PUBLISHED
    assert ReleaseDateChange.objects.get(release=release).reason == "Data already released by supplier."


def test_a_stale_version_is_refused(publisher, metric, editor):
    release = make_release(Status.IN_REVIEW, metric, editor)
    seen = release.version
    Release.objects.filter(pk=release.pk).update(version=seen + 1)
    with pytest.raises(ValidationError, match=r"changed by someone else.*Reload the page"):
        services.approve_release(release=release, by=publisher, expected_version=seen)


# --- checks on submit and approve ---------------------------------------------------------


def test_submit_refused_while_a_figure_is_not_yet_updated(press_officer, metric, editor):
    release = make_release(Status.DRAFT, metric, editor)
    release.figures.update(is_confirmed=False)
    with pytest.raises(ValidationError) as refused:
        submit(release, press_officer)
    text = " ".join(refused.value.messages)
    assert "not yet updated" in text and "(Bookings made)" in text
    services.confirm_figures(release=release, by=press_officer)
    submit(release, press_officer)


def test_a_falling_total_blocks_submit_until_an_explanation_explains_it(
    press_officer, publisher, metric, editor
):
    release = make_release(Status.DRAFT, metric, editor, value=900)
    with pytest.raises(ValidationError) as refused:
        submit(release, press_officer)
    assert any("900 is lower than last release’s 1,000" in m for m in refused.value.messages)
    note = services.explain_figure(
        release=release, by=press_officer, metric_slug="bookings-total", reason="Duplicate bookings removed."
    )
    assert (note.old_value, note.new_value) == ("1,000 (w/c 3 March 2010)", "900")
    submit(release, press_officer)
    release.refresh_from_db()
    approve(release, publisher)
    release.refresh_from_db()
    assert release.status == Status.SCHEDULED


def test_a_big_jump_is_a_warning_the_submitter_must_acknowledge(press_officer, metric, editor):
    release = make_release(Status.DRAFT, metric, editor, value=2000)
    with pytest.raises(ValidationError) as refused:
        submit(release, press_officer)
    assert "I have checked these changes" in refused.value.messages[0]
    assert any("+1,000 (+100%)" in m for m in refused.value.messages)
    findings = services.submit_release(release=release, by=press_officer, acknowledge_warnings=True)
    assert [f.level for f in findings] == ["warning"]
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    assert "warnings checked" in release.history.first().history_change_reason


def test_placeholder_without_a_figure_and_late_as_of_date_are_errors(press_officer, metric, editor):
    release = make_release(Status.DRAFT, metric, editor)
    factories.statement(release, metric.programme, "{bookings-week} this week.", order=20)
    release.figures.update(as_of=dt.date(2010, 3, 12))
    with pytest.raises(ValidationError) as refused:
        submit(release, press_officer)
    text = " ".join(refused.value.messages)
    assert "“{bookings-week}” does not name a metric" in text
    assert "the “as of” date 12 Mar 2010 is after the release period" in text


# --- start the next release --------------------------------------------------------------------


def test_start_next_release_copies_statements_and_figures_marked_not_yet_updated(seed_release, press_officer):
    new = services.start_next_release(source=seed_release, by=press_officer)
    assert new.period_date == dt.date(2010, 3, 10) and new.status == Status.DRAFT
    assert new.statements.count() == seed_release.statements.count() == 27
    assert new.figures.count() == seed_release.figures.count()
    assert not new.figures.filter(is_confirmed=True).exists()
    assert new.last_edited_by == press_officer
    # the publish time moves by the same week, at the same UK time
    assert new.publish_at is None  # 2010 is in the past: nothing to announce
    assert list(new.statements.values_list("text", flat=True)) == list(
        seed_release.statements.values_list("text", flat=True)
    )
    with pytest.raises(ValidationError, match="already a release for w/c 10 March 2010"):
        services.start_next_release(source=seed_release, by=press_officer)


def test_start_next_release_proposes_the_next_publish_time_in_uk_time(press_officer, metric):
    from stats.wording.ukclock import UK

    source = factories.release(
        dt.date(2031, 3, 26), status=Status.SCHEDULED, publish_at=dt.datetime(2031, 3, 26, 9, 30, tzinfo=UK)
    )
    new = services.start_next_release(source=source, by=press_officer)
    # Clocks go forward on 30 March 2031: still 09:30 UK time (BST), an hour earlier in UTC.
    assert new.publish_at.astimezone(UK).strftime("%Y-%m-%d %H:%M %Z") == "2031-04-02 09:30 BST"
    assert not new.date_confirmed


# --- corrections --------------------------------------------------------------------------------


def test_correcting_a_published_figure_records_a_public_correction(client, seed_release, publisher):
    figure = Figure.objects.get(release=seed_release, metric__slug="eps-messages-total")
    correction = services.correct_figure(
        figure=figure, by=publisher, value=Decimal(306_774_392), reason="A supplier sent a late batch."
    )
    assert (correction.old_value, correction.new_value) == ("306,774,292", "306,774,392")
    assert correction.created_by == publisher
    page = client.get("/statistics/2010-03-03/").content.decode()
    assert "Over 300 million (306,774,392) prescription messages" in page
    notice = page[page.index('id="corrections-heading"') :]
    assert "Prescription messages transmitted" in notice
    assert "306,774,292" in notice and "306,774,392" in notice and "A supplier sent a late batch." in notice
    revisions = client.get("/statistics/revisions/").content.decode()
    assert "A supplier sent a late batch." in revisions and "306,774,392" in revisions
    figure.refresh_from_db()
    assert figure.history.first().history_change_reason == "Corrected: A supplier sent a late batch."


def test_a_correction_needs_a_reason_and_a_real_change(seed_release, publisher):
    figure = Figure.objects.get(release=seed_release, metric__slug="eps-messages-total")
    with pytest.raises(ValidationError, match="Give a reason"):
        services.correct_figure(figure=figure, by=publisher, value=Decimal(1), reason="  ")
    with pytest.raises(ValidationError, match="nothing to correct"):
        services.correct_figure(figure=figure, by=publisher, value=figure.value, reason="Why not")
    share = Figure.objects.get(release=seed_release, metric__slug="cab-referral-share")
    with pytest.raises(ValidationError, match="158 is not a percentage"):
        services.correct_figure(figure=share, by=publisher, value=Decimal(158), reason="Typo")
    assert not Correction.objects.exists()


def test_correcting_a_statement_checks_placeholders(seed_release, publisher, client):
    statement = seed_release.statements.get(text__startswith="N3 is one of")
    with pytest.raises(ValidationError, match="does not name a metric"):
        services.correct_statement(statement=statement, by=publisher, text="{n3-nope} VPN", reason="Typo")
    services.correct_statement(
        statement=statement,
        by=publisher,
        text="N3 is one of the largest private networks in the world.",
        reason="“VPN” was unclear.",
    )
    page = client.get("/statistics/2010-03-03/").content.decode()
    assert "N3 is one of the largest private networks in the world." in page
    assert "“VPN” was unclear." in page


def test_revisions_page_lists_only_public_corrections(client, seed_release, publisher):
    draft = services.start_next_release(source=seed_release, by=publisher)
    Correction.objects.create(
        release=draft, subject="Secret", old_value="1", new_value="2", reason="Embargoed note"
    )
    assert "Embargoed note" not in client.get("/statistics/revisions/").content.decode()


# --- management command ---------------------------------------------------------------------------


def test_management_command_runs_the_same_transitions(seed_release, press_officer, publisher):
    out = []

    def run(*args):
        from io import StringIO

        buffer = StringIO()
        call_command("release", *args, stdout=buffer)
        out.append(buffer.getvalue())

    run("start-next", "2010-03-03", "--as", "pat")
    draft = Release.objects.get(period_date=dt.date(2010, 3, 10))
    services.confirm_figures(release=draft, by=press_officer)
    run("submit", "2010-03-10", "--as", "pat")
    with pytest.raises(CommandError, match="permission to approve"):
        run("approve", "2010-03-10", "--as", "pat", "--at", "2099-03-10 09:30")
    with pytest.raises(CommandError, match="89 years later"):  # a 2010 period out in 2099: a warning
        run("approve", "2010-03-10", "--as", "sam", "--at", "2099-03-10 09:30")
    run("approve", "2010-03-10", "--as", "sam", "--at", "2099-03-10 09:30", "--acknowledge-warnings")
    assert "Scheduled, Tuesday 10 March 2099, 09:30 GMT" in out[-1]
    with pytest.raises(CommandError, match="There is no release for 2010-03-11"):
        run("submit", "2010-03-11", "--as", "pat")
    with pytest.raises(CommandError, match="is not a time"):
        run("change-date", "2010-03-10", "--as", "sam", "--at", "next tuesday")


def test_a_release_needs_a_summary_and_the_next_one_starts_with_last_weeks(press_officer, metric, editor):
    release = make_release(Status.DRAFT, metric, editor)
    Release.objects.filter(pk=release.pk).update(summary="  ")
    release.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        submit(release, press_officer)
    assert any("The release has no summary" in m for m in refused.value.messages)

    last_week = Release.objects.get(period_date=LAST_WEEK)
    Release.objects.filter(pk=last_week.pk).update(summary="Bookings for w/c 3 March 2010, up again.")
    release.delete()
    last_week.refresh_from_db()
    following = services.start_next_release(source=last_week, by=press_officer)
    assert following.summary == "Bookings for w/c 10 March 2010, up again."


def test_an_explanation_states_the_figure_as_it_is_when_submitted(press_officer, metric, editor):
    release = make_release(Status.DRAFT, metric, editor, value=900)
    note = services.explain_figure(
        release=release, by=press_officer, metric_slug="bookings-total", reason="Duplicates removed."
    )
    assert note.new_value == "900"
    Figure.objects.filter(release=release).update(value=880)  # changed again afterwards
    submit(release, press_officer)
    note.refresh_from_db()
    assert (note.old_value, note.new_value) == ("1,000 (w/c 3 March 2010)", "880")


def test_a_release_reaching_its_time_becomes_published_once_and_records_when(
    publisher, metric, editor, django_capture_on_commit_callbacks
):
    release = make_release(Status.SCHEDULED, metric, editor, publish_in=dt.timedelta(hours=1))
    assert services.publish_due_releases() == []  # not yet its time
    Release.objects.filter(pk=release.pk).update(publish_at=timezone.now() - dt.timedelta(seconds=5))
    assert Release.objects.public().filter(pk=release.pk).exists()  # public by the clock already
    (_marked,) = services.publish_due_releases()
    release.refresh_from_db()
    assert release.status == Status.PUBLISHED and release.published_at >= release.publish_at
    assert release.history.first().history_change_reason.startswith("Published at its time, 5 s late: ")
    assert services.publish_due_releases() == []  # once


def test_publish_due_command_catches_up(publisher, metric, editor):
    from io import StringIO

    release = make_release(Status.SCHEDULED, metric, editor, publish_in=-dt.timedelta(minutes=5))
    out = StringIO()
    call_command("publish_due", stdout=out)
    assert "w/c 10 March 2010" in out.getvalue() and "published" in out.getvalue()
    release.refresh_from_db()
    assert release.status == Status.PUBLISHED
