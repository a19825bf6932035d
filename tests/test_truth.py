"""The truth checker: thirteen weeks of the newsroom, and after every step every public output read
and compared.

The people work through the services and admin pages they use (tests/truth/newsroom.py); after
each step every output — release page, PDF, CSV, XLSX, JSON, API and its `?as_of=` vintages, Atom
feed, calendar page and .ics, home, archive, metric pages, zips, CSVW, JSON-LD, alert emails — is
read as a reader reads it (tests/truth/parsers.py) and the facts they state are compared with each
other and with what the people did (tests/truth/record.py). Every disagreement of the whole run is
reported, each naming the fact, the outputs and what each said.

    .venv/bin/pytest tests/test_truth.py          # about a minute on SQLite; add DATABASE_URL for PostgreSQL

It prints the facts compared in each simulated week; a failure lists each distinct disagreement once
(with the step it first appeared at), the first failing step in full, and writes every step's
disagreements to test-artifacts/truth-report.txt.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from freezegun import freeze_time

from stats.demo.seed import load_seed
from stats.models import Metric
from stats.publishing import warming

from .truth import parsers
from .truth.facts import STEPS, Comparison, Fact, Mismatch, compare
from .truth.newsroom import Newsroom, uk
from .truth.reader import Checker, Reader
from .truth.record import Record

SEED = dt.date(2010, 3, 3)
WEEK = dt.timedelta(weeks=1)
DAY = dt.timedelta(days=1)
REPORT = Path(__file__).resolve().parent.parent / "test-artifacts" / "truth-report.txt"
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def period(week: int) -> dt.date:
    return SEED + week * WEEK


# --- what the supplier sends and the press office types ------------------------------------------


def supplier_rows(newsroom: Newsroom, week: int, *, leave=()) -> dict[str, Decimal]:
    """This week's changed rows; every other row of the template is re-sent unchanged."""
    last = newsroom.record[period(week)].figures
    rows = {
        "eps-messages-total": last["eps-messages-total"].value + 3_500_000 + 1_000 * week,
        "eps-messages-week": Decimal(3_500_000 + 12_345 * week),
        "cab-bookings-total": last["cab-bookings-total"].value + 95_000,
        "gp2gp-transfers-total": last["gp2gp-transfers-total"].value + 10_000 + week,
        # The weekly count lags: the supplier dates it, as the seed's "correct as of 26 Feb 2010".
        "gp2gp-transfers-week": (Decimal(10_000 + 37 * week), period(week) - 5 * DAY),
        "nhsmail-registered-users": Decimal(515_000)
        if week == 1
        else last["nhsmail-registered-users"].value + 3_000,
    }
    return {slug: value for slug, value in rows.items() if slug not in leave}


def typed(newsroom: Newsroom, week: int, *, leave=()) -> dict[str, Decimal]:
    last = newsroom.record[period(week)].figures
    rows = {
        "crs-summary-care-records": last["crs-summary-care-records"].value + 25_000,
        "eps-r1-practices": last["eps-r1-practices"].value + 10,
    }
    if week % 3 == 0:
        rows["pacs-systems-live"] = last["pacs-systems-live"].value + 1
    return {slug: value for slug, value in rows.items() if slug not in leave}


def prepare(
    newsroom: Newsroom, week: int, *, source: int | None = None, monday: dt.date | None = None, **special
):
    """Monday: start from last week's release, import, type, explain; what differs is in `special`."""
    this = period(week)
    monday = monday or this - 2 * DAY
    newsroom.week = week
    if not special.get("started"):  # else started last week, before that week's release came out
        newsroom.at(uk(monday, 10))
        newsroom.start_next(
            period(week - 1 if source is None else source), this if source is not None else None
        )
    if special.get("confirm_date"):
        newsroom.at(uk(monday, 10, 30))
        newsroom.confirm_date(this)
    newsroom.at(uk(monday, 11))
    rows = supplier_rows(newsroom, week, leave=special.get("leave", ()))
    rows |= special.get("supplier", {})
    newsroom.import_supplier(this, rows, explain=special.get("explain_import", ()))
    newsroom.at(uk(monday, 14))
    newsroom.edit_by_hand(this, typed(newsroom, week, leave=rows) | special.get("typed", {}))
    for slug, reason in special.get("explain", {}).items():
        newsroom.at(uk(monday, 15))
        newsroom.explain(this, slug, reason)


def ordinary_week(newsroom: Newsroom, week: int, **special):
    """Monday to Friday of an ordinary week: out on Wednesday at its announced time (09:30, or the
    time of day last week's came out), corrected on Thursday, every release read again on Friday."""
    this = period(week)
    prepare(newsroom, week, **special)
    tuesday = this - DAY
    newsroom.at(uk(tuesday, 10))
    newsroom.confirm_and_submit(this)
    newsroom.at(uk(tuesday, 14))
    newsroom.approve(this, newsroom.record[this].publish_at)  # at the time announced
    for number, (job, organisation) in enumerate(special.get("grants", ())):
        newsroom.at(uk(tuesday, 15, number))
        newsroom.grant(
            this,
            name=f"Holder {number}",
            job_title=job,
            organisation=organisation,
            email=f"holder{week}-{number}@example.org",
        )
    if special.get("opens") is not None:
        newsroom.at(uk(tuesday, 16))
        newsroom.open_link(this, f"holder{week}-{special['opens']}@example.org")
    if special.get("revokes") is not None:
        newsroom.at(uk(tuesday, 16, 30))
        newsroom.revoke(this, f"holder{week}-{special['revokes']}@example.org")
    if special.get("start_next_early"):  # next week's draft, its date provisional, before this one is out
        newsroom.at(uk(tuesday, 17))
        newsroom.start_next(this)
    newsroom.release_moment(this)
    for number, correct in enumerate(special.get("corrections", ())):
        newsroom.at(uk(this + DAY, 11, number))
        correct()
    newsroom.at(uk(this + 2 * DAY, 12))
    newsroom.read_everything()  # Friday: every release read again, not only this week's


def thirteen_weeks(newsroom: Newsroom) -> None:
    n = newsroom
    ordinary_week(n, 1, confirm_date=True)
    ordinary_week(
        n,
        2,
        supplier={"gp2gp-transfers-week": (Decimal(10_074), period(2) - 5 * DAY)},  # the supplier dates it
        grants=[("Private secretary", "Department of Health"), ("Special adviser", "Cabinet Office")],
        opens=0,
        corrections=[
            lambda: n.correct(
                period(2),
                "eps-messages-total",
                n.record[period(2)].figures["eps-messages-total"].value + 1_234,
                "A supplier’s batch of messages arrived late.",
            )
        ],
    )
    ordinary_week(
        n,
        3,
        supplier={
            "crs-summary-care-records": n.record[period(2)].figures["crs-summary-care-records"].value - 40_000
        },
        explain_import=("crs-summary-care-records", "Week 3: the supplier removed 40,000 duplicate records."),
    )
    ordinary_week(
        n,
        4,
        confirm_date=True,
        corrections=[
            lambda: n.correct_by_import(
                period(3),
                {
                    "cab-bookings-total": n.record[period(3)].figures["cab-bookings-total"].value + 500,
                    "gp2gp-transfers-total": n.record[period(3)].figures["gp2gp-transfers-total"].value + 500,
                },
                "The supplier resent two totals for w/c 24 March.",
            )
        ],
    )
    ordinary_week(
        n,
        5,
        leave=("cab-bookings-total",),
        typed={"cab-bookings-total": n.record[period(4)].figures["cab-bookings-total"].value - 20_000},
        explain={"cab-bookings-total": "Week 5: bookings a trust cancelled were taken out."},
    )

    # Week 6 is approved, then moved six days later; week 7 comes out the morning after it.
    six, seven = period(6), period(7)
    prepare(n, 6)
    n.at(uk(six - DAY, 10))
    n.confirm_and_submit(six)
    n.at(uk(six - DAY, 14))
    n.approve(six, uk(six, 9, 30))
    n.at(uk(six - DAY, 17))
    n.move_date(six, uk(six + 6 * DAY, 9, 30), "The supplier’s data for this week arrived late.")
    prepare(n, 7, monday=seven - 2 * DAY)
    n.at(uk(seven - 2 * DAY, 16))
    n.confirm_and_submit(seven)
    n.at(uk(seven - DAY, 8))
    n.approve(seven, uk(seven, 9), "Back on the weekly timetable.")
    n.at(uk(seven - DAY, 8, 30))
    n.grant(
        seven,
        name="Ann",
        job_title="Press secretary",
        organisation="Department of Health",
        email="holder7-0@example.org",
    )
    n.week = 6
    n.release_moment(six)
    n.week = 7
    n.at(uk(seven - DAY, 10))
    n.open_link(seven, "holder7-0@example.org")
    n.release_moment(seven)
    n.at(uk(seven + 2 * DAY, 12))
    n.read_everything()

    ordinary_week(
        n,
        8,
        confirm_date=True,
        leave=("gp2gp-transfers-week",),
        typed={"gp2gp-transfers-week": (Decimal(10_480), period(8) - 4 * DAY)},  # typed, with its day
        corrections=[
            lambda: n.correct(
                period(8),
                "nhsmail-registered-users",
                n.record[period(8)].figures["nhsmail-registered-users"].value,
                "The count of registered users is exact, not an estimate.",
                qualifier="",
            )
        ],
    )
    ordinary_week(
        n,
        9,
        supplier={
            "gp2gp-transfers-total": n.record[period(8)].figures["gp2gp-transfers-total"].value - 3_000
        },
        explain_import=("gp2gp-transfers-total", "Week 9: transfers counted twice were removed."),
        start_next_early=True,
    )

    # Week 10, started before week 9 came out, is cancelled; week 11 follows week 9.
    ten = period(10)
    prepare(n, 10, started=True)
    n.at(uk(ten - DAY, 10))
    n.cancel(ten, "The supplier’s systems were down all week.")
    n.at(uk(ten + 2 * DAY, 12))
    n.read_everything()
    ordinary_week(
        n,
        11,
        source=9,
        typed={"eps-messages-week": Decimal(5_200_000)},
        leave=("eps-messages-week",),
        explain={"eps-messages-week": "Week 11: a backlog of two weeks’ messages was sent."},
    )
    ordinary_week(
        n,
        12,
        corrections=[
            lambda: n.correct(
                period(2),
                "crs-summary-care-records",
                n.record[period(2)].figures["crs-summary-care-records"].value + 777,
                "The supplier revised an old count of records.",
            ),
            lambda: n.correct(
                period(12),
                "eps-messages-total",
                n.record[period(12)].figures["eps-messages-total"].value + 4_321,
                "A late batch of messages for w/c 26 May.",
            ),
        ],
    )
    ordinary_week(
        n,
        13,
        grants=[("Private secretary", "Department of Health"), ("Analyst", "HM Treasury")],
        revokes=1,
    )


# --- the run --------------------------------------------------------------------------------------


def output_kind(name: str) -> str:
    """An output's name without whom an email went to or which day a vintage is of."""
    return re.sub(
        r" to \S+@\S+$| ?\?as_of=\S+$| on \d{4}-\d{2}-\d{2}$",
        lambda m: " ?as_of=" if "as_of" in m.group(0) else "",
        name,
    )


def shape(mismatch: Mismatch) -> tuple:
    """A mismatch without its period, values and output: the same problem seen in other weeks."""
    kind, *rest = mismatch.key
    if kind == "figure":
        rest = [rest[1], rest[2]]
    elif kind == "release":
        rest = rest[1:]
    elif kind == "correction":
        rest = []
    return (kind, *rest, output_kind(mismatch.reference))


def summary(checker: Checker) -> str:
    """Each distinct disagreement once: the fact, the outputs on each side, how often, an example."""
    groups: dict[tuple, dict] = {}
    for checked in checker.checked:
        for mismatch in checked.comparison.mismatches:
            group = groups.setdefault(
                shape(mismatch), {"outputs": {}, "steps": set(), "first": (checked.step, mismatch)}
            )
            group["outputs"][output_kind(mismatch.output)] = True
            group["steps"].add(checked.step.number)
    lines = []
    for (kind, *what, reference), group in groups.items():
        step, example = group["first"]
        outputs = ", ".join(group["outputs"])
        lines.append(
            f"- {kind} {' '.join(what)}: {reference} vs {outputs} — in {len(group['steps'])} step(s) from "
            f"step {step.number} ({step.description}); e.g. {example}"
        )
    return "\n".join(lines)


def test_thirteen_weeks_every_output_states_the_same_facts(
    db, press_officer, publisher, settings, django_capture_on_commit_callbacks, capsys, monkeypatch
):
    settings.TASKS = IMMEDIATE
    settings.NEWSROOM_ALERTS_PER_SECOND = 0  # the pacer sleeps by a clock that is frozen here
    # The release moment warms the page cache by requesting every page; tests keep no pages cached
    # (PUBLIC_CACHE_SECONDS=0), and the checker reads every page itself straight after.
    monkeypatch.setattr(warming, "warm_public_cache", lambda release: [])
    with freeze_time(uk(SEED + 2 * DAY, 10)) as clock:
        seed = load_seed()
        record = Record()
        checker = Checker(record, Reader(Client()))
        newsroom = Newsroom(
            seed=seed,
            press_officer=press_officer,
            publisher=publisher,
            clock=clock,
            committing=lambda: django_capture_on_commit_callbacks(execute=True),
            record=record,
        )
        newsroom.after = checker.after
        reader = Client()
        newsroom.subscribe(reader, "every@example.org", every_release=True, corrections=True)
        newsroom.subscribe(reader, "corrections@example.org", corrections=True)
        newsroom.subscribe(reader, "eps@example.org", programmes=("eps", "nhsmail"))
        thirteen_weeks(newsroom)
        newsroom.read_everything(metrics=Metric.objects.values_list("slug", flat=True))

    weeks: dict[int, list] = defaultdict(list)
    for checked in checker.checked:
        weeks[checked.step.week].append(checked)
    lines = []
    for week, done in sorted(weeks.items()):
        compared = sum(c.comparison.compared for c in done)
        wrong = sum(len(c.comparison.mismatches) for c in done)
        seconds = sum(c.seconds for c in done)
        lines.append(
            f"week {week:2d}: {len(done):2d} steps, {compared:6,d} facts compared, {wrong:4d} disagreements, "
            f"{seconds:5.1f} s reading"
        )
    outputs: Counter = Counter()
    for checked in checker.checked:
        for name, count in checked.comparison.by_output.items():
            outputs[output_kind(name)] += count
    lines.append(
        "facts compared, by output: "
        + ", ".join(f"{name} {count:,d}" for name, count in outputs.most_common())
    )
    with capsys.disabled():
        print("\nTruth checker:", *lines, sep="\n")
    REPORT.parent.mkdir(exist_ok=True)
    steps = [c for c in checker.checked if c.comparison.mismatches]
    REPORT.write_text(
        f"Distinct disagreements:\n{summary(checker)}\n\nEvery step's disagreements:\n\n"
        + "\n\n".join(
            f"step {c.step.number} (week {c.step.week}): {c.step.description}\n{c.report}" for c in steps
        )
        + "\n"
    )
    assert len(weeks) >= 12 and min(sum(c.comparison.compared for c in done) for done in weeks.values()) > 0
    assert not steps, (
        f"{len(steps)} of {len(checker.checked)} steps found outputs that disagree "
        f"(every step's disagreements: {REPORT}).\n\nDistinct disagreements:\n{summary(checker)}"
        f"\n\nThe first such step in full — step {steps[0].step.number}: {steps[0].step.description}\n"
        f"{steps[0].report}"
    )


# --- the checker can fail -------------------------------------------------------------------------


def test_the_comparison_names_the_fact_both_outputs_and_what_each_said():
    outputs = {
        "page": {("figure", "2010-03-10", "eps-messages-total", "value"): Fact("306774292", "306,774,292")},
        "PDF": {
            ("figure", "2010-03-10", "eps-messages-total", "value"): Fact("300000000", "over 300 million")
        },
        "CSV": {("figure", "2010-03-10", "eps-messages-total", "value"): Fact("306774292", "306774292")},
        "calendar page": {("site", "next release"): Fact("none")},
    }
    comparison = compare(outputs)
    assert comparison.compared == 2  # the PDF and the CSV checked against the page; the calendar alone
    [mismatch] = comparison.mismatches
    assert str(mismatch) == (
        "figure eps-messages-total value (w/c 2010-03-10): "
        'page says "306,774,292", PDF says "over 300 million"'
    )


def test_every_disagreement_of_a_step_is_listed_not_only_the_first():
    key = ("release", "2010-03-10", "version")
    outputs = {
        STEPS: {key: Fact("1")},
        "page": {key: Fact("2")},
        "API": {key: Fact("3")},
        "zip": {key: Fact("1")},
    }
    comparison = compare(outputs)
    assert [(m.output, m.said) for m in comparison.mismatches] == [("page", "2"), ("API", "3")]
    assert comparison.report == (
        'release w/c 2010-03-10 version: the steps taken says "1", zip says "1"; '
        'but page says "2", API says "3"'
    )


@pytest.fixture
def seed_week(db, press_officer, publisher, settings, django_capture_on_commit_callbacks):
    """The seed release, its newsroom and a checker, on the simulation's clock."""
    settings.TASKS = IMMEDIATE
    settings.NEWSROOM_ALERTS_PER_SECOND = 0
    with freeze_time(uk(SEED + 2 * DAY, 10)) as clock:
        record = Record()
        newsroom = Newsroom(
            seed=load_seed(),
            press_officer=press_officer,
            publisher=publisher,
            clock=clock,
            committing=lambda: django_capture_on_commit_callbacks(execute=True),
            record=record,
        )
        yield newsroom, Checker(record, Reader(Client()))


def misprint_eps(monkeypatch, checker: Checker, change) -> None:
    """Pass the PDF's table rows through `change` before the parser reads them (the bytes stay as
    they are: the facts are read from them afresh)."""
    real = parsers.pdf_tables

    def misprinted(fragments, names):
        return [
            change(row) if row[0] == "Prescription messages transmitted" else row
            for row in real(fragments, names)
        ]

    monkeypatch.setattr(parsers, "pdf_tables", misprinted)
    checker.reader.parsed.clear()


def test_a_corrupted_pdf_is_caught_by_the_checker(seed_week, monkeypatch):
    """A real release read whole; then the PDF's wording of one figure is corrupted on its way to the
    parser, and the checker names the fact, the PDF and the page, and what each said."""
    newsroom, checker = seed_week
    step = newsroom.step("a reader reads the seed release", SEED)
    honest = checker.after(step)
    assert not [m for m in honest.comparison.mismatches if m.output == "PDF"]
    misprint_eps(monkeypatch, checker, lambda row: [row[0], "over 300 million", *row[2:]])
    corrupted = checker.after(step)
    lines = [str(m) for m in corrupted.comparison.mismatches if m.output == "PDF"]
    fact = "figure eps-messages-total {} (w/c 2010-03-03): "
    assert fact.format("value") + 'the steps taken says "306774292", PDF says "over 300 million"' in lines
    assert fact.format("wording") + 'page says "306,774,292", PDF says "over 300 million"' in lines
    assert fact.format("wording") + 'page says "306,774,292", ' in corrupted.report


def test_a_fact_an_output_stops_stating_is_a_failure(seed_week, monkeypatch):
    """A figure missing from the PDF's table is not a comparison quietly skipped."""
    newsroom, checker = seed_week
    step = newsroom.step("a reader reads the seed release", SEED)
    misprint_eps(monkeypatch, checker, lambda row: ["Something else entirely", *row[1:]])
    checked = checker.after(step)
    lines = [str(m) for m in checked.comparison.mismatches if m.output == "PDF"]
    assert (
        "figure eps-messages-total value (w/c 2010-03-03): "
        'the steps taken says "306774292", PDF says "(not stated)"'
    ) in lines


def test_a_wrong_next_release_on_the_home_page_is_named(db, settings, monkeypatch):
    """A home page naming another next release than the calendar: both outputs and both dates named."""
    calendar = parsers.calendar_page(
        '<h2 id="upcoming-heading">Coming releases</h2><table><tbody><tr>'
        "<td>Deployment statistics for w/c 17 March 2010</td>"
        '<td><time datetime="2010-03-17T09:30:00+00:00">Wednesday 17 March 2010, 09:30 GMT</time></td>'
        "<td>Confirmed</td></tr></tbody></table>"
    )
    home = parsers.home(
        '<section><h2 id="next-heading">Next release</h2>'
        "<p>No release date has been announced yet.</p></section>"
    )
    comparison: Comparison = compare(
        {"calendar page": calendar, "home page": home}, prefer=("calendar page",)
    )
    [mismatch] = [m for m in comparison.mismatches if m.key == ("site", "next release")]
    assert str(mismatch) == (
        'site next release: calendar page says "2010-03-17: Wednesday 17 March 2010, 09:30 GMT", '
        'home page says "No release date has been announced yet."'
    )
