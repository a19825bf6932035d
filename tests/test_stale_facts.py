"""Facts carried into a new week that no longer hold: an "as of" date from an earlier week, a
qualifier whose words no longer fit the figure. Refused or flagged at import and at submit; and a
supplier's file may leave out the figures it does not update."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
import tablib
from django.core.exceptions import ValidationError

from stats.models import Figure
from stats.publishing import services
from stats.spreadsheets.figure_import import import_figures
from stats.spreadsheets.template import TEMPLATE_COLUMNS, supplier_template


@pytest.fixture
def copied(seed_release, press_officer):
    """Next week's draft as the press office starts it: last week's figures, not yet updated."""
    return services.start_next_release(source=seed_release, by=press_officer)


def figure(release, slug) -> Figure:
    return Figure.objects.get(release=release, metric__slug=slug)


def submit(release, by):
    services.confirm_figures(release=release, by=by)
    return services.submit_release(release=release, by=by, acknowledge_warnings=True)


def refusal(release, by) -> str:
    with pytest.raises(ValidationError) as refused:
        submit(release, by)
    return " ".join(refused.value.messages)


def dataset(rows, headers=("metric_slug", "value")):
    return tablib.Dataset(*rows, headers=list(headers))


# --- "as of" dates carried from an earlier week ------------------------------------------------


def test_a_changed_figure_still_as_of_an_earlier_week_is_refused_at_submit(copied, press_officer):
    weekly = figure(copied, "gp2gp-transfers-week")
    assert str(weekly.as_of) == "2010-02-26"  # copied from w/c 3 March 2010, as the seed says
    Figure.objects.filter(pk=weekly.pk).update(value=10_500)
    text = refusal(copied, press_officer)
    assert "Transfers in the week: the figure changed, but it still says “as of 26 Feb 2010”" in text
    assert "before the previous release’s period (3 Mar 2010)" in text
    Figure.objects.filter(pk=weekly.pk).update(as_of="2010-03-05")  # the day the new figure is for
    submit(copied, press_officer)


def test_an_unchanged_figure_may_still_stand_at_its_day(copied, press_officer):
    findings = submit(copied, press_officer)  # the weekly transfers, unchanged, still as of 26 Feb
    assert not any(f.check == "as_of" for f in findings)


def test_a_supplier_row_with_an_empty_as_of_cell_clears_the_date(copied, press_officer):
    rows = [("gp2gp-transfers-total", "1,030,000", ""), ("gp2gp-transfers-week", "10,500", "2010-03-05")]
    Figure.objects.filter(release=copied, metric__slug="gp2gp-transfers-total").update(as_of="2010-02-26")
    plan = import_figures(
        dataset(rows, ("metric_slug", "value", "as_of")), release=copied, user=press_officer, dry_run=False
    )
    assert plan.ok, plan.problems
    assert figure(copied, "gp2gp-transfers-total").as_of is None
    assert str(figure(copied, "gp2gp-transfers-week").as_of) == "2010-03-05"


def test_a_supplier_file_without_as_of_that_changes_a_dated_figure_is_refused_with_its_row(
    copied, press_officer
):
    plan = import_figures(dataset([("gp2gp-transfers-week", "10,500")]), release=copied, user=press_officer)
    assert not plan.ok
    (problem,) = plan.problems
    assert problem.startswith("Row 2: Transfers in the week: the figure changed")
    assert "“as of 26 Feb 2010”" in problem


def test_the_supplier_template_leaves_as_of_empty(copied):
    sheet = openpyxl.load_workbook(io.BytesIO(supplier_template(copied))).active
    rows = list(sheet.iter_rows(values_only=True))
    column = TEMPLATE_COLUMNS.index("as_of")
    assert rows[0][column] == "as_of"
    assert all(row[column] in (None, "") for row in rows[1:])


# --- qualifiers whose words no longer fit -------------------------------------------------------


def test_almost_carried_to_a_figure_it_no_longer_fits_is_refused_at_submit(copied, press_officer):
    users = figure(copied, "nhsmail-registered-users")
    assert (users.qualifier, users.value) == ("almost", Decimal(500_000))  # "almost 500,000"
    Figure.objects.filter(pk=users.pk).update(value=515_000)
    text = refusal(copied, press_officer)
    assert "“almost 520,000” does not fit 515,000" in text and "“over 510,000”" in text
    Figure.objects.filter(pk=users.pk).update(value=519_600)  # "almost 520,000" fits it
    submit(copied, press_officer)


def test_a_supplier_row_that_keeps_a_qualifier_which_no_longer_fits_is_refused(copied, press_officer):
    plan = import_figures(
        dataset([("nhsmail-registered-users", "515,000")]), release=copied, user=press_officer
    )
    assert plan.problems == [
        "Row 2: Registered users: “almost 520,000” does not fit 515,000: “almost” is for a figure just "
        "below a round number. Choose another qualifier (Automatic words it “over 510,000”)."
    ]
    given = import_figures(
        dataset([("nhsmail-registered-users", "515,000", "auto")], ("metric_slug", "value", "qualifier")),
        release=copied,
        user=press_officer,
    )
    assert given.ok, given.problems


# --- a supplier sends only what changed ------------------------------------------------------------


def test_rows_left_without_a_value_keep_their_figures(copied, press_officer):
    before = figure(copied, "pacs-systems-live")
    plan = import_figures(
        dataset([("eps-messages-total", "310,000,000"), ("pacs-systems-live", ""), ("n3-connections", None)]),
        release=copied,
        user=press_officer,
        dry_run=False,
    )
    assert plan.ok, plan.problems
    assert plan.summary.endswith("; 2 rows without a value, kept as they are")
    assert figure(copied, "eps-messages-total").value == 310_000_000
    after = figure(copied, "pacs-systems-live")
    assert (after.value, after.is_confirmed) == (before.value, False)  # still to update or confirm


def test_a_row_with_a_note_but_no_value_is_refused_naming_row_and_column(copied, press_officer):
    plan = import_figures(
        dataset([("pacs-systems-live", "", "Two more sites")], ("metric_slug", "value", "note")),
        release=copied,
        user=press_officer,
    )
    assert plan.problems == [
        "Row 2, column “value”: empty, but “note” is given. Give the value too, or leave the row’s "
        "value, as_of, qualifier and note all empty to keep the figure as it is."
    ]


def test_each_imported_figure_is_recorded_with_its_own_change(copied, press_officer):
    """One explanation of one fall is not the reason for every figure the file changed."""
    rows = [
        ("gp2gp-transfers-total", "1,020,000"),
        ("eps-messages-total", "310,000,000"),
        ("pacs-systems-live", "127"),
    ]
    plan = import_figures(
        dataset(rows), release=copied, user=press_officer, reason="Two practices merged.", dry_run=False
    )
    assert plan.ok, plan.problems
    reasons = {
        slug: figure(copied, slug).history.first().history_change_reason
        for slug in ("gp2gp-transfers-total", "eps-messages-total", "pacs-systems-live")
    }
    assert reasons == {
        "gp2gp-transfers-total": "Imported: 1,022,140 → 1,020,000; fall explained: Two practices merged.",
        "eps-messages-total": "Imported: 306,774,292 → 310,000,000",
        "pacs-systems-live": "Imported: confirmed unchanged",
    }
