import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from stats.models import Figure, Metric, Programme, Release, Statement


@pytest.fixture
def programme(db):
    return Programme.objects.create(name="EPS", slug="eps")


@pytest.fixture
def release(db):
    return Release.objects.create(period_date=dt.date(2010, 3, 10))


def metric(programme, slug, kind=Metric.Kind.TOTAL):
    return Metric.objects.create(programme=programme, slug=slug, name=slug, kind=kind)


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_one_figure_per_release_and_metric(release, programme):
    m = metric(programme, "eps-total")
    Figure.objects.create(release=release, metric=m, value=1)
    refused(lambda: Figure.objects.create(release=release, metric=m, value=2))


def test_one_release_per_period(release):
    refused(lambda: Release.objects.create(period_date=release.period_date))


def test_database_refuses_negative_figures(release, programme):
    refused(lambda: Figure.objects.create(release=release, metric=metric(programme, "x"), value=-1))


def test_database_refuses_percent_over_100(release, programme):
    m = metric(programme, "share", Metric.Kind.PERCENT)
    refused(lambda: Figure.objects.create(release=release, metric=m, value=Decimal("100.5")))
    Figure.objects.create(release=release, metric=m, value=100)


def test_changing_a_metric_to_percent_is_held_by_the_database(release, programme):
    m = metric(programme, "count")
    Figure.objects.create(release=release, metric=m, value=500)
    m.kind = Metric.Kind.PERCENT
    with pytest.raises(IntegrityError), transaction.atomic():
        m.save()


def test_scheduled_release_needs_a_publish_time(db):
    refused(lambda: Release.objects.create(period_date=dt.date(2010, 4, 1), status=Release.Status.SCHEDULED))


def test_figure_clean_explains_itself(release, programme):
    share = metric(programme, "share", Metric.Kind.PERCENT)
    figure = Figure(release=release, metric=share, value=120, as_of=dt.date(2010, 3, 20))
    with pytest.raises(ValidationError) as error:
        figure.full_clean()
    messages = error.value.message_dict
    assert messages["value"] == ["120 is not a percentage: use 0 to 100."]
    assert "after the release period (10 Mar 2010)" in messages["as_of"][0]


def test_statement_with_a_bad_placeholder_is_refused(release, programme):
    statement = Statement(release=release, programme=programme, text="{eps-total} messages")
    with pytest.raises(ValidationError) as error:
        statement.full_clean()
    assert "“{eps-total}” does not name a metric" in error.value.message_dict["text"][0]
    metric(programme, "eps-total")
    with pytest.raises(ValidationError) as error:
        statement.full_clean()
    assert "has no figure in this release" in error.value.message_dict["text"][0]


def test_public_means_approved_and_past_its_time(db):
    now = dt.datetime.now(dt.UTC)
    past = now - dt.timedelta(minutes=1)
    future = now + dt.timedelta(minutes=1)
    visible = Release.objects.create(period_date=dt.date(2010, 1, 1), status="published", publish_at=past)
    Release.objects.create(period_date=dt.date(2010, 1, 8), status="scheduled", publish_at=future)
    scheduled_past = Release.objects.create(
        period_date=dt.date(2010, 1, 15), status="scheduled", publish_at=past
    )
    Release.objects.create(period_date=dt.date(2010, 1, 22), status="draft", publish_at=past)
    Release.objects.create(period_date=dt.date(2010, 1, 29), status="withdrawn", publish_at=past)
    assert set(Release.objects.public()) == {visible, scheduled_past}


def test_text_typed_in_a_browser_keeps_its_paragraphs(db):
    """Browsers send line breaks as \\r\\n; the release stores \\n and splits its notes into paragraphs."""
    from stats.models import Release

    release = Release(period_date=dt.date(2010, 3, 10), notes="First paragraph.\r\n\r\nSecond.\r\nSame one.")
    release.clean()
    assert release.notes == "First paragraph.\n\nSecond.\nSame one."
    assert release.paragraphs() == ["First paragraph.", "Second.\nSame one."]
