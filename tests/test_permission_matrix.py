"""One permission matrix (role × action × release state), tried over every write path.

The expected table is written out here, from the README's roles, not read from the code: each
person tries each action on a release in each state through every way of doing it (the release
form and its inlines, a figure's or bullet's own page, each import, the workflow buttons, the
admin's list actions and the `release` command), and the release changes exactly when the table
says it may.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from stats.models import Correction, Figure, Release, Statement
from stats.publishing import services

from .forms import admin_change_data, page_form_data

Status = Release.Status
User = get_user_model()
ROLES = ("press officer", "publisher", "superuser")
STATES = ("draft", "in review", "coming", "public", "withdrawn")
THIS_WEEK = dt.date(2010, 3, 10)

# What each role may do to a release in each state (README, "Publishing workflow").
EVERYONE = set(ROLES)
PUBLISHERS = {"publisher", "superuser"}
MAY = {
    # a release's figures, bullets and text: only while it is a draft, by its editors
    "edit": {"draft": EVERYONE},
    # a public release's figures and bullets, in the open
    "correct": {"public": PUBLISHERS},
    "submit": {"draft": EVERYONE},
    "approve": {"in review": PUBLISHERS},
    "publish-now": {"in review": PUBLISHERS, "coming": PUBLISHERS},
    "return-to-draft": {"in review": EVERYONE, "coming": PUBLISHERS},
    "cancel": {"draft": PUBLISHERS, "in review": PUBLISHERS, "coming": PUBLISHERS},
    "withdraw": {"public": PUBLISHERS},
    # Next week's release is started from one a publisher has approved (coming or public): its figures
    # and bullets are what was signed off. Not from a draft or one in review (still changing: the copy
    # would carry figures nobody has checked), nor a withdrawn one (its figures were wrong).
    "start-next": {"coming": EVERYONE, "public": EVERYONE},
}


def may(action: str, role: str, state: str) -> bool:
    return role in MAY[action].get(state, set())


@pytest.fixture
def people(press_officer, publisher, superuser):
    return {"press officer": press_officer, "publisher": publisher, "superuser": superuser}


def release_in(state: str, seed_release, editor) -> Release:
    """This week's release, copied from the seed, in `state` (last edited by someone else)."""
    release = services.start_next_release(source=seed_release, by=editor)
    release.figures.update(is_confirmed=True)
    now = timezone.now()
    status, publish_at = {
        "draft": (Status.DRAFT, now + dt.timedelta(days=2)),
        "in review": (Status.IN_REVIEW, now + dt.timedelta(days=2)),
        "coming": (Status.SCHEDULED, now + dt.timedelta(days=2)),
        "public": (Status.PUBLISHED, now - dt.timedelta(hours=1)),
        "withdrawn": (Status.WITHDRAWN, now - dt.timedelta(hours=1)),
    }[state]
    Release.objects.filter(pk=release.pk).update(status=status, publish_at=publish_at, last_edited_by=editor)
    release.refresh_from_db()
    return release


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def figure_of(release, slug="cab-bookings-total") -> Figure:
    return Figure.objects.get(release=release, metric__slug=slug)


def written(release, before) -> bool:
    """Whether the attempt changed the release, its figures, bullets or corrections."""
    return snapshot(release) != before


def snapshot(release):
    fresh = Release.objects.get(pk=release.pk)
    return (
        fresh.title,
        fresh.status,
        fresh.version,
        sorted(Figure.objects.filter(release=release).values_list("metric__slug", "value", "is_confirmed")),
        sorted(Statement.objects.filter(release=release).values_list("pk", "text")),
        Correction.objects.filter(release=release).count(),
    )


# --- the ways of changing figures, bullets and text -------------------------------------------------


def release_form(client, release, reason):
    """The release page: change the title and a figure, as a browser would submit it."""
    url = reverse("admin:statistics_release_change", args=[release.pk])
    page = client.get(url)
    if page.status_code == 200 and 'name="figures-0-value"' in page.content.decode():
        data = admin_change_data(page)
        data["title"] = "Changed by the release form"
        data["figures-0-value"] = "1,234,567"
    else:  # not offered: try anyway, as a forged post
        data = {"title": "Changed by the release form", "expected_version": release.version}
    client.post(url, data)


def figure_page(client, release, reason):
    figure = figure_of(release)
    url = reverse("admin:statistics_figure_change", args=[figure.pk])
    page = client.get(url)
    if page.status_code == 200 and 'name="value"' in page.content.decode():
        data = admin_change_data(page)
    else:
        data = {
            "release": release.pk,
            "metric": figure.metric_id,
            "qualifier": figure.qualifier,
            "is_confirmed": "on",
            "expected_version": release.version,
        }
    data["value"] = "23,000,000"
    client.post(url, data)


def statement_page(client, release, reason):
    statement = release.statements.first()
    url = reverse("admin:statistics_statement_change", args=[statement.pk])
    page = client.get(url)
    if page.status_code == 200 and 'name="text"' in page.content.decode():
        data = admin_change_data(page)
    else:
        data = {
            "release": release.pk,
            "programme": statement.programme_id,
            "order": statement.order,
            "expected_version": release.version,
        }
    data["text"] = "A bullet changed on its own page."
    client.post(url, data)


def figure_csv(release, value="23,000,000"):
    text = f'period,metric_slug,value\n{release.period_date.isoformat()},cab-bookings-total,"{value}"\n'
    return SimpleUploadedFile("figures.csv", text.encode(), content_type="text/csv")


def _figure_import(client, url, release, reason):
    preview = client.post(url, {"import_file": figure_csv(release), "reason": reason})
    if preview.status_code != 200 or not preview.context.get("confirm_form"):
        return
    data = page_form_data(preview.content.decode(), containing="token")
    data["_confirm"] = "Confirm"
    client.post(url, data)


def release_import(client, release, reason):
    _figure_import(
        client, reverse("admin:statistics_release_import_figures", args=[release.pk]), release, reason
    )


def figure_list_import(client, release, reason):
    _figure_import(client, reverse("admin:statistics_figure_import"), release, reason)


def _library_import(client, model, text):
    url = reverse(f"admin:statistics_{model}_import")
    upload = SimpleUploadedFile(f"{model}.csv", text.encode(), content_type="text/csv")
    preview = client.post(url, {"format": "0", "resource": "0", "import_file": upload})
    if preview.status_code != 200 or 'name="import_file_name"' not in preview.content.decode():
        return
    data = page_form_data(preview.content.decode(), containing="import_file_name")
    client.post(reverse(f"admin:statistics_{model}_process_import"), data)


def release_text_import(client, release, reason):
    _library_import(client, "release", f"period,title\n{release.period_date.isoformat()},Imported title\n")


def statement_import(client, release, reason):
    statement = release.statements.select_related("programme").first()
    _library_import(
        client,
        "statement",
        f"period,programme,order,text\n{release.period_date.isoformat()},{statement.programme.slug},"
        f"{statement.order},An imported bullet.\n",
    )


def workflow(slug, data):
    def attempt(client, release, reason):
        url = reverse(f"admin:statistics_release_{slug.replace('-', '_')}", args=[release.pk])
        client.post(url, {"version": release.version, **data(release, reason)})

    attempt.__name__ = f"button_{slug.replace('-', '_')}"
    return attempt


confirm_button = workflow(
    "confirm-figures", lambda release, reason: {"_confirm_all": "Confirm all figures not yet updated"}
)
explain_button = workflow(
    "explain", lambda release, reason: {"figure": figure_of(release).pk, "reason": "Duplicates removed."}
)
correct_figure_button = workflow(
    "correct-figure",
    lambda release, reason: {"figure": figure_of(release).pk, "value": "23,100,000", "reason": reason},
)
correct_statement_button = workflow(
    "correct-statement",
    lambda release, reason: {
        "statement": release.statements.first().pk,
        "text": "A corrected bullet.",
        "reason": reason,
    },
)


def unconfirm(release):
    """Confirming needs a figure not yet updated."""
    Figure.objects.filter(pk=figure_of(release).pk).update(is_confirmed=False)


EDIT_PATHS = [
    release_form,
    figure_page,
    statement_page,
    release_import,
    figure_list_import,
    release_text_import,
    statement_import,
    confirm_button,
    explain_button,
]
CORRECT_PATHS = [correct_figure_button, correct_statement_button, release_import, figure_list_import]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", EDIT_PATHS, ids=lambda p: p.__name__)
def test_editing_a_release_follows_the_matrix(seed_release, people, editor_user, role, state, path):
    release = release_in(state, seed_release, editor_user)
    if path is confirm_button:
        unconfirm(release)
    before = snapshot(release)
    path(as_user(people[role]), release, reason="")
    allowed = may("edit", role, state)
    if path in (release_text_import, statement_import):
        allowed = allowed and role in PUBLISHERS  # importing release text is a publisher's permission
    assert written(release, before) == allowed, (role, state, path.__name__)
    if allowed:
        release.refresh_from_db()
        assert release.last_edited_by == people[role]  # so they cannot also approve it
        assert release.version > before[2]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", CORRECT_PATHS, ids=lambda p: p.__name__)
def test_correcting_a_release_follows_the_matrix(seed_release, people, editor_user, role, state, path):
    release = release_in(state, seed_release, editor_user)
    before = snapshot(release)
    path(as_user(people[role]), release, reason="The supplier sent a late batch.")
    allowed = may("correct", role, state) or (
        may("edit", role, state) and path in (release_import, figure_list_import)  # a draft's import
    )
    assert written(release, before) == allowed, (role, state, path.__name__)
    if allowed and state == "public":
        assert Correction.objects.filter(release=release, created_by=people[role]).exists()


@pytest.fixture
def editor_user(django_user_model):
    """Whoever last edited the releases under test: never the one approving them."""
    return django_user_model.objects.create_user("ed", "ed@example.org", is_staff=True, is_superuser=True)


# --- the workflow's steps: buttons, list actions and the command -------------------------------------

STEPS = {
    "submit": lambda release, reason: {"acknowledge": "on"},
    "approve": lambda release, reason: {
        "publish_at_0": (timezone.now() + dt.timedelta(days=3)).astimezone(_uk()).date().isoformat(),
        "publish_at_1": "09:30",
        "acknowledge": "on",
        "date_change_reason": "Moved for the test.",
    },
    "publish-now": lambda release, reason: {"acknowledge": "on", "reason": "Agreed."},
    "return-to-draft": lambda release, reason: {"reason": "One more look."},
    "cancel": lambda release, reason: {"reason": "No figures this week."},
    "withdraw": lambda release, reason: {"reason": "Supplier data were wrong."},
}


def _uk():
    from stats.wording.ukclock import UK

    return UK


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("step", STEPS)
def test_each_workflow_button_follows_the_matrix(seed_release, people, editor_user, role, state, step):
    release = release_in(state, seed_release, editor_user)
    before = snapshot(release)
    workflow(step, STEPS[step])(as_user(people[role]), release, reason="")
    assert written(release, before) == may(step, role, state), (role, state, step)


NEXT_WEEK = dt.date(2010, 3, 17)


def start_next_button(client, release):
    client.post(
        reverse("admin:statistics_release_start_next", args=[release.pk]), {"version": release.version}
    )


def start_next_list_action(client, release):
    client.post(
        reverse("admin:statistics_release_changelist"),
        {"action": "start_next_action", "_selected_action": [release.pk], "index": "0"},
    )


def start_next_command(client, release):
    user = User.objects.get(pk=client.session["_auth_user_id"])
    with contextlib.suppress(CommandError):
        call_command("release", "start-next", THIS_WEEK.isoformat(), "--as", user.username, stdout=StringIO())


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "path", [start_next_button, start_next_list_action, start_next_command], ids=lambda p: p.__name__
)
def test_starting_the_next_release_follows_the_matrix(seed_release, people, editor_user, role, state, path):
    release = release_in(state, seed_release, editor_user)
    client = as_user(people[role])
    offered = (
        'data-action="start-next"'
        in client.get(reverse("admin:statistics_release_change", args=[release.pk])).content.decode()
    )
    assert offered == may("start-next", role, state), (role, state)
    path(client, release)
    started = Release.objects.filter(period_date=NEXT_WEEK).exists()
    assert started == may("start-next", role, state), (role, state, path.__name__)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_the_submit_list_action_follows_the_matrix(seed_release, people, editor_user, role, state):
    release = release_in(state, seed_release, editor_user)
    before = snapshot(release)
    as_user(people[role]).post(
        reverse("admin:statistics_release_changelist"),
        {"action": "submit_action", "_selected_action": [release.pk], "index": "0"},
    )
    assert written(release, before) == may("submit", role, state), (role, state)


COMMAND_STEPS = {
    "submit": ["submit", "--acknowledge-warnings"],
    "approve": ["approve", "--at", "2099-03-10 09:30", "--reason", "Moved.", "--acknowledge-warnings"],
    "withdraw": ["withdraw", "--reason", "Supplier data were wrong."],
    "cancel": ["cancel", "--reason", "No figures this week."],
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("step", COMMAND_STEPS)
def test_the_release_command_follows_the_matrix(seed_release, people, editor_user, role, state, step):
    release = release_in(state, seed_release, editor_user)
    before = snapshot(release)
    args = COMMAND_STEPS[step]
    with contextlib.suppress(CommandError):
        call_command(
            "release",
            args[0],
            THIS_WEEK.isoformat(),
            "--as",
            people[role].username,
            *args[1:],
            stdout=StringIO(),
        )
    assert written(release, before) == may(step, role, state), (role, state, step)


def test_the_figure_value_in_the_matrix_is_a_real_change(seed_release, people, editor_user):
    """The matrix tests see a write: a press officer's figure-list import into a draft changes the figure."""
    release = release_in("draft", seed_release, editor_user)
    figure_list_import(as_user(people["press officer"]), release, reason="")
    assert figure_of(release).value == Decimal(23_000_000)


# --- one confirmation, applied once -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_four_confirmations_of_one_import_at_once_apply_it_once(seed_release, publisher, django_user_model):
    """Four presses of Confirm (or four windows) at the same moment: one correction, three told so."""
    import threading

    from django.db import connection

    release = Release.objects.get(period_date=seed_release.period_date)
    url = reverse("admin:statistics_release_import_figures", args=[release.pk])
    boss = as_user(publisher)
    preview = boss.post(url, {"import_file": figure_csv(release), "reason": "A late batch of bookings."})
    data = page_form_data(preview.content.decode(), containing="token")
    data["_confirm"] = "Confirm"

    barrier, pages = threading.Barrier(4, timeout=10), []
    windows = [as_user(publisher) for _ in range(4)]  # four signed-in windows, ready to press Confirm

    def confirm(client):
        barrier.wait()
        pages.append(client.post(url, data, follow=True).content.decode())
        connection.close()

    threads = [threading.Thread(target=confirm, args=(window,), daemon=True) for window in windows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a confirmation never finished"

    assert Correction.objects.filter(release=release).count() == 1
    assert figure_of(release).value == 23_000_000
    told = ("confirmed already", "no longer held (it was imported already")
    assert sum("Imported figures.csv" in page for page in pages) == 1, pages
    told_so = sum(any(words in page for words in told) for page in pages)
    if connection.vendor == "sqlite":
        # SQLite's test database locks whole tables: a window that cannot even read while the
        # winner writes is told to try again (503), never shown an error, never applied twice.
        busy = sum("try again" in page.lower() for page in pages)
        assert told_so + busy == 3, pages
    else:
        assert told_so == 3, pages


def test_a_held_upload_is_claimed_by_its_first_confirmation_only():
    from common.import_admin import claim_confirmation, give_back

    first = claim_confirmation("token-1")
    assert first and claim_confirmation("token-1") is None  # the second press is told
    give_back(first)  # the first applied nothing (its file failed the checks): it may be tried again
    assert claim_confirmation("token-1")


# --- pre-release access: granting, revoking and recording a breach ----------------------------------

PRE_RELEASE_MAY = {
    # Access is granted only between approval and the publish time, by publishers; it may be revoked
    # by them until the release is out (even sent back to draft).
    "grant": {"coming": PUBLISHERS},
    "revoke": {"draft": PUBLISHERS, "in review": PUBLISHERS, "coming": PUBLISHERS},
    # A breach may come to light after publication, or after a withdrawal.
    "record-breach": {"coming": PUBLISHERS, "public": PUBLISHERS, "withdrawn": PUBLISHERS},
}
PERSON = {
    "name": "Ann Lee",
    "job_title": "Private secretary",
    "organisation": "Department of Health",
    "email": "ann@example.org",
    "reason": "Briefing the minister.",
}


def ledger(release):
    from stats.models import PreReleaseBreach, PreReleaseGrant

    return (
        sorted(PreReleaseGrant.objects.filter(release=release).values_list("name", "revoked_at")),
        PreReleaseBreach.objects.filter(release=release).count(),
    )


def grant_in_admin(client, release, user):
    page = client.get(reverse("admin:statistics_prereleasegrant_add"))
    if page.status_code != 200:
        return
    data = admin_change_data(page) | {"release": str(release.pk), **PERSON}
    client.post(reverse("admin:statistics_prereleasegrant_add"), data)


def grant_by_command(client, release, user):
    with contextlib.suppress(CommandError):
        call_command(
            "grant_pre_release",
            release.period_date.isoformat(),
            *(f"--{key}={value}" for key, value in PERSON.items() if key not in ("job_title", "name")),
            f"--name={PERSON['name']}",
            f"--role={PERSON['job_title']}",
            f"--as={user.username}",
            stdout=StringIO(),
        )


def existing_grant(release):
    """A grant made when the release was coming, as the ledger would hold it."""
    from stats.models import PreReleaseGrant

    return PreReleaseGrant.objects.create(release=release, **PERSON)


def revoke_in_admin(client, release, user):
    grant = existing_grant(release)
    url = reverse("admin:statistics_prereleasegrant_change", args=[grant.pk])
    page = client.get(url)
    if page.status_code == 200 and 'name="revoke_because"' in page.content.decode():
        data = admin_change_data(page) | {"revoke_because": "Left the department."}
        client.post(url, data)
    else:
        client.post(url, {"revoke_because": "Left the department."})  # a hand-made post, refused


def breach_in_admin(client, release, user):
    page = client.get(reverse("admin:statistics_prereleasebreach_add"))
    data = {"release": str(release.pk), "explanation": "Quoted on the radio before 09:30."}
    if page.status_code == 200:
        data = admin_change_data(page) | data
    client.post(reverse("admin:statistics_prereleasebreach_add"), data)


PRE_RELEASE_PATHS = {
    "grant": [grant_in_admin, grant_by_command],
    "revoke": [revoke_in_admin],
    "record-breach": [breach_in_admin],
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("action", "path"),
    [(action, path) for action, paths in PRE_RELEASE_PATHS.items() for path in paths],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_pre_release_access_follows_the_matrix(seed_release, people, editor_user, role, state, action, path):
    release = release_in(state, seed_release, editor_user)
    before = (ledger(release), snapshot(release))
    if action == "revoke":
        path(as_user(people[role]), release, people[role])
        grant_revoked = ledger(release)[0][0][1] is not None
        assert grant_revoked == (role in PRE_RELEASE_MAY[action].get(state, set())), (role, state, action)
        return
    path(as_user(people[role]), release, people[role])
    after = (ledger(release), snapshot(release))
    assert (after != before) == (role in PRE_RELEASE_MAY[action].get(state, set())), (role, state, action)
    assert after[1] == before[1]  # the release itself never changes
