import datetime as dt
from decimal import Decimal

from django.core.management import call_command

from stats.models import Figure, Release
from stats.publishing.checks import ERROR, WARNING, ProposedFigure, check_figures, check_release

from . import factories

PERIOD = dt.date(2010, 3, 10)


def one(kind, value, previous, **extra):
    figure = ProposedFigure(slug="m", name="Bookings", kind=kind, value=Decimal(value), **extra)
    return check_figures(
        [figure],
        {"m": Decimal(previous)} if previous is not None else {},
        period_date=PERIOD,
        threshold=Decimal("0.25"),
    )


def test_a_total_that_falls_is_an_error_unless_explained():
    [finding] = one("total", 900, 1000)
    assert finding.level == ERROR
    assert "900 is lower than last release’s 1,000" in finding.message
    assert one("total", 900, 1000, explained=True) == []
    assert one("level", 900, 1000) == []


def test_a_record_that_falls_is_an_error():
    [finding] = one("record", 36_000, 37_000)
    assert finding.level == ERROR and "best-ever record cannot fall" in finding.message


def test_a_jump_beyond_the_threshold_is_a_warning():
    [finding] = one("level", 1300, 1000)
    assert finding.level == WARNING
    assert "+300 (+30%)" in finding.message and "more than 25%" in finding.message
    assert one("level", 1200, 1000) == []


def test_percent_range_and_as_of_date():
    assert one("percent", 101, None)[0].message == "Bookings: 101% is not a percentage (0 to 100)."
    [finding] = one("level", 5, None, as_of=dt.date(2010, 3, 11))
    assert "11 Mar 2010" in finding.message and "after the release period" in finding.message


def test_check_release_finds_statement_problems(db):
    metric = factories.metric(slug="eps-total", name="Messages")
    earlier = factories.release(dt.date(2010, 3, 3), public=True)
    factories.figure(earlier, metric, 1000)
    release = factories.release(PERIOD)
    factories.figure(release, metric, 999)
    factories.statement(release, metric.programme, "{eps-total} and {eps-week}")
    messages = [f.message for f in check_release(release)]
    assert any("999 is lower than last release’s 1,000" in m for m in messages)
    assert any("“{eps-week}” does not name a metric" in m for m in messages)
    assert not any("lower" in f.message for f in check_release(release, explained={"eps-total"}))


def test_generate_history_adds_labelled_releases_where_totals_never_fall(seed_release):
    with open("/dev/null", "w") as devnull:
        call_command("generate_history", weeks=30, stdout=devnull)
    assert Release.objects.filter(is_synthetic=True).count() == 30
    assert Release.objects.public().count() == 31
    values = list(
        Figure.objects.filter(metric__slug="eps-messages-total")
        .order_by("release__period_date")
        .values_list("value", flat=True)
    )
    assert len(values) == 31
    assert values == sorted(values)
    assert values[-1] == 306_774_292
    synthetic = Release.objects.filter(is_synthetic=True).first()
    assert synthetic.statements.count() == 27
