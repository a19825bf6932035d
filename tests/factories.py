"""Small builders for test data; each returns a saved object."""

import datetime as dt
from decimal import Decimal
from itertools import count

from django.utils import timezone

from stats.models import Figure, Metric, Programme, Release, Statement

_numbers = count(1)


def programme(**fields) -> Programme:
    n = next(_numbers)
    fields.setdefault("name", f"Programme {n}")
    fields.setdefault("slug", f"programme-{n}")
    return Programme.objects.create(**fields)


def metric(programme_obj=None, **fields) -> Metric:
    n = next(_numbers)
    fields.setdefault("name", f"Metric {n}")
    fields.setdefault("slug", f"metric-{n}")
    return Metric.objects.create(programme=programme_obj or programme(), **fields)


def release(period_date=None, *, public=False, **fields) -> Release:
    """A draft release, or a published one already past its time with public=True."""
    if public:
        fields.setdefault("status", Release.Status.PUBLISHED)
        fields.setdefault("publish_at", timezone.now() - dt.timedelta(days=1))
    period_date = period_date or dt.date(2010, 3, 10)
    fields.setdefault("summary", f"Deployment figures for w/c {period_date:%d %B %Y}.")
    return Release.objects.create(period_date=period_date, **fields)


def figure(release_obj, metric_obj, value, **fields) -> Figure:
    return Figure.objects.create(release=release_obj, metric=metric_obj, value=Decimal(value), **fields)


def statement(release_obj, programme_obj, text, order=10) -> Statement:
    return Statement.objects.create(release=release_obj, programme=programme_obj, text=text, order=order)
