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


def make_groups() -> None:
    """The groups and their permissions, as the data migrations make them.

    Tests served by a live server commit, and the database is emptied after each: the migrations'
    own functions make the groups again (they are safe to run twice).
    """
    import importlib

    from django.apps import apps

    steps = {
        "stats.migrations.0002_release_workflow": ("create_groups",),
        "stats.migrations.0003_import_export_permissions": ("add_permissions", "grant_to_groups"),
        "stats.migrations.0005_weekly_roles": ("grant",),
        "alerts.migrations.0002_staff_view_permissions": ("grant",),
        "stats.migrations.0008_pre_release_access": ("grant_roles",),
    }
    for module, functions in steps.items():
        migration = importlib.import_module(module)
        for function in functions:
            getattr(migration, function)(apps, None)
