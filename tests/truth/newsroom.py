"""The people of the newsroom at work, through the services and pages the admin uses.

A press officer starts each week's release from last week's, imports the supplier's spreadsheet
(the supplier template, filled in), edits figures by hand on the release's admin page, explains
falls, confirms and submits; a publisher confirms dates, approves for a publish second, moves or
cancels dates, grants pre-release access and corrects published figures; the worker runs the
release moment at its second; holders open their links; readers subscribe to alerts on the public
pages. Every step is also written into the `Record`, the newsroom's own account of what it did.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import tablib
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks.signals import task_finished
from openpyxl import load_workbook

from alerts.models import Subscriber
from common.spreadsheets import read_upload
from stats.models import Figure, Metric, Programme, Release
from stats.publishing import prerelease, services, tasks
from stats.spreadsheets.figure_import import apply_figures, plan_figures
from stats.spreadsheets.template import supplier_template
from tests.forms import admin_change_data

from .record import CANCELLED, IN_REVIEW, PUBLISHED, SCHEDULED, Correction, Entry, Grant, Planned, Record
from .wording import UK

LINK = re.compile(r"https?://[^\s\"'<>]+")


def uk(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UK)


@dataclass
class Step:
    """One thing someone did, and what it touched: the releases and measures the checker reads closely."""

    number: int
    week: int
    description: str
    releases: set[dt.date] = field(default_factory=set)
    metrics: set[str] = field(default_factory=set)
    everything: bool = False  # read every public release whole, not only those in play


class Newsroom:
    """The press office, the publisher, the worker and the readers, on a clock the test moves."""

    def __init__(
        self, *, seed: Release, press_officer, publisher, clock, committing: Callable, record: Record
    ):
        self.officer, self.publisher = press_officer, publisher
        self.clock = clock
        self.committing = committing  # runs what waits for a commit, as a real commit would
        self.record = record
        self.week = 0
        self.steps: list[Step] = []
        self.after: Callable[[Step], object] | None = None  # the checker, after every step
        self.failed: list[str] = []  # tasks that failed (the immediate backend keeps the error)
        # Measures a draft changed: their public pages change when it comes out.
        self.pending: dict[dt.date, set[str]] = {}
        task_finished.connect(self._task_finished)
        self.officer_client = Client()
        entry = Entry(
            period=seed.period_date,
            figures={
                f.metric.slug: Planned(f.value, f.as_of, f.qualifier)
                for f in Figure.objects.filter(release=seed).select_related("metric")
            },
            state=PUBLISHED,
            publish_at=seed.publish_at,
            confirmed=True,
            designation=seed.statistics_status.label,
        )
        record.add(entry)

    # --- bookkeeping ---------------------------------------------------------------------------

    def at(self, moment: dt.datetime) -> None:
        assert moment >= timezone.now(), f"The clock cannot go back to {moment}"
        self.clock.move_to(moment)

    def _task_finished(self, sender, task_result, **kwargs):
        if task_result.status == TaskResultStatus.FAILED:
            self.failed.append(f"{task_result.task.name}: {task_result.errors[-1].traceback}")

    def step(self, description: str, *periods: dt.date, metrics=(), everything: bool = False) -> Step:
        assert not self.failed, "A background task failed:\n" + "\n".join(self.failed)
        step = Step(len(self.steps) + 1, self.week, description, set(periods), set(metrics), everything)
        self.steps.append(step)
        if self.after is not None:
            self.after(step)
        return step

    @staticmethod
    def release(period: dt.date) -> Release:
        return Release.objects.get(period_date=period)

    # --- the press office ----------------------------------------------------------------------

    def start_next(self, source: dt.date, period: dt.date | None = None) -> Step:
        with self.committing():
            draft = services.start_next_release(
                source=self.release(source), by=self.officer, period_date=period
            )
        copied = self.record[source]
        self.record.add(
            Entry(
                period=draft.period_date,
                figures={slug: Planned(p.value, p.as_of, p.qualifier) for slug, p in copied.figures.items()},
                publish_at=draft.publish_at,  # the provisional date the admin shows the press office
                designation=copied.designation,
            )
        )
        return self.step(f"press officer starts w/c {draft.period_date} from w/c {source}", draft.period_date)

    def import_supplier(
        self,
        period: dt.date,
        values: dict[str, Decimal | tuple[Decimal, dt.date]],
        *,
        explain: tuple[str, str] = (),
    ) -> Step:
        """The supplier fills in the template's value column (re-sending last release's value for
        what did not change, giving an as-of date only where they mean one); the press officer
        imports it, with the explanation box filled in when a total falls."""
        release = self.release(period)
        book = load_workbook(io.BytesIO(supplier_template(release)))
        sheet = book.worksheets[0]
        headers = [cell.value for cell in sheet[1]]
        names = ("metric_slug", "previous_value", "value", "as_of", "qualifier")
        column = {name: headers.index(name) for name in names}
        for row in sheet.iter_rows(min_row=2):
            slug = row[column["metric_slug"]].value
            given = values.get(slug)
            if given is None:
                row[column["value"]].value = row[column["previous_value"]].value
                continue
            value, as_of = given if isinstance(given, tuple) else (given, None)
            row[column["value"]].value = int(value) if value == int(value) else float(value)
            if as_of is not None:
                row[column["as_of"]].value = as_of
        reason = explain[1] if explain else ""
        plan = self._plan(book, release, reason, period)
        requalified = self._requalify(plan, sheet, column)
        if requalified:  # a qualifier carried from last week no longer fits: the import says so
            plan = self._plan(book, release, reason, period)
        assert plan.ok, plan.problems
        with self.committing():
            apply_figures(plan, reason=reason, user=self.officer)
        entry = self.record[period]
        self.pending.setdefault(period, set()).update(values)
        for slug, given in values.items():
            value, as_of = given if isinstance(given, tuple) else (given, None)
            qualifier = requalified.get(slug, entry.figures[slug].qualifier)
            entry.figures[slug] = Planned(Decimal(value), as_of, qualifier)
        if explain:
            entry.explanations.append(explain[1])
        return self.step(
            f"press officer imports the supplier's figures for w/c {period} ({len(values)} changed"
            + (", a fall explained" if explain else "")
            + ")",
            period,
        )

    def _plan(self, book, release, reason: str, period: dt.date):
        upload = io.BytesIO()
        book.save(upload)
        read = read_upload(upload.getvalue(), f"supplier-{period}.xlsx")
        return plan_figures(read.dataset, release=release, reason=reason, user=self.officer)

    @staticmethod
    def _requalify(plan, sheet, column) -> dict[str, str]:
        """The press officer reads the refusal of a qualifier that no longer fits and, as it offers,
        words those rows automatically; the other problems stay problems."""
        requalified = {}
        for problem in plan.problems:
            found = re.match(r"Row (\d+): .*” does not fit ", problem)
            if found:
                row = sheet[int(found.group(1))]
                row[column["qualifier"]].value = "auto"
                requalified[row[column["metric_slug"]].value] = "auto"
        return requalified

    def edit_by_hand(self, period: dt.date, values: dict[str, Decimal | tuple[Decimal, dt.date]]) -> Step:
        """Type new values (and the day a figure stands at, where it is not the period) on the
        release's admin page and save it."""
        release = self.release(period)
        url = reverse("admin:statistics_release_change", args=[release.pk])
        self.officer_client.force_login(self.officer)  # signed in today (a session lasts two weeks)
        data = admin_change_data(self.officer_client.get(url))
        prefix = next(k for k in data if k.endswith("-TOTAL_FORMS") and "figure" in k).removesuffix(
            "-TOTAL_FORMS"
        )
        ids = {str(m.pk): m.slug for m in Metric.objects.filter(slug__in=values)}
        for index in range(int(data[f"{prefix}-TOTAL_FORMS"])):
            slug = ids.get(data.get(f"{prefix}-{index}-metric"))
            if slug in values:
                value, as_of = values[slug] if isinstance(values[slug], tuple) else (values[slug], None)
                data[f"{prefix}-{index}-value"] = str(value)
                data[f"{prefix}-{index}-as_of"] = as_of.isoformat() if as_of else ""
        with self.committing():
            response = self.officer_client.post(url, data)
        if response.status_code != 302:
            Path("/tmp/truth-edit.html").write_text(response.content.decode())
        assert response.status_code == 302, "the release form refused the typed figures"
        entry = self.record[period]
        self.pending.setdefault(period, set()).update(values)
        for slug, given in values.items():
            value, as_of = given if isinstance(given, tuple) else (given, None)
            entry.figures[slug] = Planned(Decimal(value), as_of, entry.figures[slug].qualifier)
        return self.step(f"press officer types {len(values)} new figures for w/c {period}", period)

    def explain(self, period: dt.date, slug: str, reason: str) -> Step:
        with self.committing():
            services.explain_figure(
                release=self.release(period), by=self.officer, metric_slug=slug, reason=reason
            )
        self.record[period].explanations.append(reason)
        return self.step(f"press officer explains {slug} in w/c {period}", period)

    def confirm_and_submit(self, period: dt.date) -> Step:
        with self.committing():
            services.confirm_figures(release=self.release(period), by=self.officer)
            services.submit_release(release=self.release(period), by=self.officer, acknowledge_warnings=True)
        self.record[period].state = IN_REVIEW
        return self.step(f"press officer confirms the rest and submits w/c {period}", period)

    # --- the publisher -------------------------------------------------------------------------

    def confirm_date(self, period: dt.date) -> Step:
        release = self.release(period)
        with self.committing():
            services.change_release_date(
                release=release, by=self.publisher, publish_at=release.publish_at, confirm=True
            )
        self.record[period].confirmed = True
        return self.step(f"publisher confirms the date of w/c {period}", period)

    def approve(self, period: dt.date, publish_at: dt.datetime, reason: str = "") -> Step:
        with self.committing():
            services.approve_release(
                release=self.release(period),
                by=self.publisher,
                publish_at=publish_at,
                date_change_reason=reason,
                acknowledge_warnings=True,
            )
        entry = self.record[period]
        entry.moved(publish_at)
        entry.state, entry.confirmed = SCHEDULED, True
        return self.step(
            f"publisher approves w/c {period} for {publish_at.astimezone(UK):%a %d %b %H:%M}", period
        )

    def move_date(self, period: dt.date, publish_at: dt.datetime, reason: str) -> Step:
        with self.committing():
            services.change_release_date(
                release=self.release(period), by=self.publisher, publish_at=publish_at, reason=reason
            )
        self.record[period].moved(publish_at)
        return self.step(
            f"publisher moves w/c {period} to {publish_at.astimezone(UK):%a %d %b %H:%M}", period
        )

    def cancel(self, period: dt.date, reason: str) -> Step:
        with self.committing():
            services.cancel_release(release=self.release(period), by=self.publisher, reason=reason)
        entry = self.record[period]
        entry.state = CANCELLED
        entry.date_changes += 1 if entry.publish_at else 0
        return self.step(f"publisher cancels w/c {period}", period)

    def grant(self, period: dt.date, *, name: str, job_title: str, organisation: str, email: str) -> Step:
        with self.committing():
            prerelease.grant_access(
                release=self.release(period),
                by=self.publisher,
                name=name,
                job_title=job_title,
                organisation=organisation,
                email=email,
                reason="Briefing before publication.",
            )
        self.record[period].grants.append(Grant(job_title, organisation, email))
        return self.step(f"publisher grants pre-release access to w/c {period} ({job_title})", period)

    def revoke(self, period: dt.date, email: str) -> Step:
        grant = self.release(period).pre_release_grants.get(email=email)
        with self.committing():
            prerelease.revoke_access(grant=grant, by=self.publisher, reason="No longer needed.")
        next(g for g in self.record[period].grants if g.email == email).revoked = True
        return self.step(f"publisher revokes {email}'s pre-release access to w/c {period}", period)

    def correct(
        self, period: dt.date, slug: str, value: Decimal, reason: str, *, qualifier: str | None = None
    ) -> Step:
        figure = Figure.objects.get(release=self.release(period), metric__slug=slug)
        with self.committing():
            services.correct_figure(
                figure=figure, by=self.publisher, value=Decimal(value), reason=reason, qualifier=qualifier
            )
        entry = self.record[period]
        old = entry.figures[slug]
        entry.figures[slug] = Planned(
            Decimal(value), old.as_of, old.qualifier if qualifier is None else qualifier
        )
        entry.corrections.append(Correction(slug, reason, timezone.now()))
        return self.step(f"publisher corrects {slug} in w/c {period}", period, metrics=[slug])

    def correct_by_import(self, period: dt.date, values: dict[str, Decimal], reason: str) -> Step:
        """A file of corrected figures for a published release, with the correction reason."""
        dataset = tablib.Dataset(headers=["period", "metric_slug", "value"])
        for slug, value in values.items():
            dataset.append([period.isoformat(), slug, str(value)])
        read = read_upload(dataset.export("csv").encode(), f"corrections-{period}.csv")
        plan = plan_figures(read.dataset, release=self.release(period), reason=reason, user=self.publisher)
        assert plan.ok, plan.problems
        with self.committing():
            apply_figures(plan, reason=reason, user=self.publisher)
        entry = self.record[period]
        for slug, value in values.items():
            old = entry.figures[slug]
            entry.figures[slug] = Planned(Decimal(value), old.as_of, old.qualifier)
            entry.corrections.append(Correction(slug, reason, timezone.now()))
        return self.step(
            f"publisher corrects {len(values)} figures of w/c {period} by import", period, metrics=values
        )

    # --- the worker ----------------------------------------------------------------------------

    def release_moment(self, period: dt.date) -> Step:
        """On the publish second, the worker runs the task approval scheduled for it."""
        release = self.release(period)
        self.at(release.publish_at)
        with self.committing():
            result = tasks.release_moment.enqueue(release.pk)
        assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
        assert result.return_value.startswith("Published"), result.return_value
        self.record[period].state = PUBLISHED
        changed = self.pending.pop(period, set())
        return self.step(f"the worker publishes w/c {period} at its second", period, metrics=changed)

    # --- readers and holders -------------------------------------------------------------------

    def read_everything(self, *, metrics=()) -> Step:
        """Nobody changes anything: a reader goes through every public release (and `metrics`)."""
        return self.step("a reader reads every public release", metrics=metrics, everything=True)

    def subscribe(
        self, client: Client, email: str, *, every_release=False, corrections=False, programmes=()
    ) -> None:
        """Subscribe on the public page and open the link in the confirmation email."""
        data = {"email": email}
        if every_release:
            data["every_release"] = "on"
        if corrections:
            data["corrections"] = "on"
        if programmes:
            data["programmes"] = [str(p.pk) for p in Programme.objects.filter(slug__in=programmes)]
        with self.committing():
            response = client.post(reverse("alerts:subscribe"), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        message = next(m for m in reversed(mail.outbox) if email in m.to)
        confirm = next(link for link in LINK.findall(message.body) if "/subscribe/confirm/" in link)
        path = confirm.removeprefix("http://testserver")
        assert client.get(path).status_code == 200  # a page with a button: opening it confirms nothing
        with self.committing():
            assert client.post(path).status_code in (302, 303)  # the button
        assert Subscriber.objects.get(email=email).is_active

    def open_link(self, period: dt.date, email: str) -> Step:
        """The holder follows the link in their email and presses "Open the release"."""
        message = next(
            m for m in reversed(mail.outbox) if email in m.to and m.subject.startswith("Pre-release")
        )
        path = next(link for link in LINK.findall(message.body) if "/pre-release/" in link)
        path = path.removeprefix("http://testserver").rstrip(".,")
        holder = Client()
        pressed = holder.post(path)
        assert pressed.status_code == 303, pressed.status_code
        copy = holder.get(path)
        assert copy.status_code == 200 and "Pre-release access for" in copy.content.decode()
        next(g for g in self.record[period].grants if g.email == email).opened = True
        return self.step(f"{email} opens their pre-release copy of w/c {period}", period)
