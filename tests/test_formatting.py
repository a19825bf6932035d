import datetime as dt
from datetime import date
from decimal import Decimal

import pytest

from stats.wording import formatting
from stats.wording.formatting import FigureValue, render_statement


@pytest.mark.parametrize(
    ("value", "qualifier", "kind", "expected"),
    [
        # Every rounded phrase on the seed page, derived from a value.
        (306_774_292, "auto", "total", "over 300 million"),
        (22_725_621, "more_than", "total", "more than 22 million"),
        (20_000_000, "over", "total", "over 20 million"),
        (37_000, "over", "record", "over 37,000"),
        (500_000, "almost", "level", "almost 500,000"),
        (496_120, "almost", "level", "almost 500,000"),
        (11_000, "approximately", "level", "approximately 11,000"),
        (10_870, "approximately", "level", "approximately 11,000"),
        (47_000, "more_than", "level", "more than 47,000"),
        (1_700, "approximately", "period", "approximately 1,700"),
        (1_000_000, "over", "level", "over one million"),
        (58, "around", "percent", "around 58%"),
        (Decimal("57.6"), "around", "percent", "around 58%"),
        (90, "over", "percent", "over 90%"),
        (Decimal("90.4"), "over", "percent", "over 90%"),
        (900_000_000, "", "amount", "£900m"),
        # Auto says nothing when rounding dropped nothing.
        (22_000_000, "auto", "total", "22 million"),
        (1_200_000, "auto", "total", "1.2 million"),
        (1_250_000, "auto", "total", "over 1.2 million"),
        (2_400_000_000, "auto", "total", "2.4 billion"),
        (7_950, "", "level", "7,950"),
    ],
)
def test_rounded_wording(value, qualifier, kind, expected):
    assert formatting.rounded(value, qualifier, kind=kind) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (306_774_292, "306,774,292"),
        (22_725_621, "22,725,621"),
        (3_527_916, "3,527,916"),
        (1_022_140, "1,022,140"),
        (10_126, "10,126"),
        (127, "127"),
        (Decimal("12.50"), "12.5"),
        (Decimal("7094.0000"), "7,094"),
    ],
)
def test_grouped_exact_values(value, expected):
    assert formatting.grouped(value) == expected


def test_percentages_and_money():
    assert formatting.percent(Decimal("85.0000")) == "85%"
    assert formatting.percent(100) == "100%"
    assert formatting.money(900_000_000) == "£900m"
    assert formatting.money(1_500_000_000) == "£1.5bn"
    assert formatting.money(12_500) == "£12,500"


def test_as_of_uses_the_seed_style():
    assert formatting.as_of(date(2010, 2, 26)) == "26 Feb 2010"


def test_change_wording():
    assert formatting.change(110, 100) == "+10 (+10%)"
    assert formatting.change(90, 100) == "−10 (−10%)"
    assert formatting.change(100, 100) == "no change"
    assert formatting.change(87, 85, kind="percent") == "+2 percentage points"
    assert formatting.change(100, None) == ""


def test_statement_opening_with_a_placeholder_is_capitalised():
    figures = {"eps": FigureValue(Decimal(306_774_292))}
    text = "{eps|rounded} ({eps}) prescription messages have now been transmitted electronically."
    assert render_statement(text, figures) == (
        "Over 300 million (306,774,292) prescription messages have now been transmitted electronically."
    )


def test_placeholder_without_a_figure_never_breaks_the_page():
    assert render_statement("{missing} users", {}) == f"{formatting.MISSING} users"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope} users", "does not name a metric"),
        ("{known} users", "has no figure in this release"),
        ("{here|shouting} users", "unknown format “shouting”"),
        ("{here users", "curly bracket is not closed"),
        ("{dated|as_of}", "needs the figure to have an “as of” date"),
    ],
)
def test_problems_name_the_placeholder(text, message):
    figures = {"here": FigureValue(Decimal(1)), "dated": FigureValue(Decimal(1))}
    found = formatting.problems(text, figures, known_slugs={"known", "here", "dated"})
    assert len(found) == 1
    assert message in found[0]


def test_a_good_statement_has_no_problems():
    figures = {"here": FigureValue(Decimal(1), as_of=date(2010, 1, 1))}
    assert formatting.problems("{here} and {here|as_of}", figures, {"here"}) == []


def test_chart_svg_has_title_description_and_unique_ids():
    from stats.outputs.charts import Point, describe, to_svg, trend_chart

    points = [Point(date(2010, 1, 6), Decimal(100)), Point(date(2010, 1, 13), Decimal(150))]
    drawing = trend_chart(points, title="Bookings made", unit="bookings")
    text = describe(points, title="Bookings made")
    svg = to_svg(drawing, title="Bookings made", description=text, id_prefix="chart-1")
    assert svg.startswith("<svg") and "version=" not in svg.partition(">")[0]  # HTML's SVG has none
    assert '<title id="chart-1-title">Bookings made</title>' in svg
    assert "2 releases from 6 Jan 2010 to 13 Jan 2010: from 100 to 150" in svg
    assert 'id="clip"' not in svg and 'id="chart-1-clip"' in svg
    assert "Vera" not in svg


def test_chart_svg_is_styled_by_presentation_attributes_not_style_attributes():
    """A Content-Security-Policy without 'unsafe-inline' would drop style attributes: line, text, clip."""
    from stats.outputs.charts import Point, to_svg, trend_chart

    points = [Point(date(2010, 1, 6), Decimal(100)), Point(date(2010, 1, 13), Decimal(150))]
    drawing = trend_chart(points, title="Bookings made")
    svg = to_svg(drawing, title="Bookings made", description="", id_prefix="c")
    assert "style=" not in svg
    # The NHS blue line:
    assert 'stroke="rgb(0%,36%,72%)" stroke-linecap="round" stroke-width="2" fill="none"' in svg
    assert 'font-family="Arial, sans-serif" font-weight="bold" font-size="11px"' in svg  # the title
    assert 'clip-path="url(#c-clip)"' in svg


@pytest.mark.parametrize(
    ("day", "at", "message"),
    [
        (
            dt.date(2027, 3, 28),
            dt.time(1, 30),
            "01:30 on 28 March 2027 does not exist in UK time (clocks go forward): choose 02:30 or 00:30",
        ),
        (
            dt.date(2027, 10, 31),
            dt.time(1, 30),
            "01:30 on 31 October 2027 happens twice in UK time (clocks go back): choose a time before 01:00 "
            "or from 02:00",
        ),
        (dt.date(2027, 3, 28), dt.time(9, 30), ""),
        (dt.date(2027, 10, 31), dt.time(2, 0), ""),
    ],
)
def test_a_uk_time_the_clocks_skip_or_repeat_is_named_with_the_choices(day, at, message):
    from stats.wording.ukclock import wall_time_problem

    assert wall_time_problem(day, at) == message


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("22,810,000", "22810000"),
        ("22 810 000", "22810000"),
        ("85%", "85"),
        ("£900m", "900000000"),
        ("7.5", "7.5"),
    ],
)
def test_the_admin_reads_figures_as_people_type_them(typed, value):
    from decimal import Decimal

    from stats.admin.fields import FigureValueField, GroupedNumberInput

    field = FigureValueField(max_digits=20, decimal_places=4)
    assert field.clean(typed) == Decimal(value)
    assert GroupedNumberInput().format_value(Decimal("22725621.0000")) == "22,725,621"


def test_the_admin_says_what_is_wrong_with_a_typed_figure():
    from django.core.exceptions import ValidationError

    from stats.admin.fields import FigureValueField

    with pytest.raises(ValidationError, match="is ambiguous"):
        FigureValueField(max_digits=20, decimal_places=4).clean("22,81,000")
