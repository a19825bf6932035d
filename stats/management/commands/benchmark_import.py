"""Time a figure import through the admin's resource against a raw bulk_create of the same rows."""

import datetime as dt
import time
from decimal import Decimal

import tablib
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings

from stats.models import Figure, Metric, Programme, Release
from stats.spreadsheets.figure_import import BATCH, import_figures, plan_figures

METRICS = 100


class Rollback(Exception):
    """Raised to undo everything the benchmark wrote."""


class Command(BaseCommand):
    help = (
        "Import N figure rows through FigureResource (as the admin does) and, in the same run, insert the "
        "same rows with a raw bulk_create; print rows per second for both and the ratio. Nothing is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rows", type=int, default=50_000, help="Figure rows to import (default 50,000)."
        )
        parser.add_argument(
            "--preview", action="store_true", help="Also time the dry run the admin does for its preview."
        )

    def handle(self, *args, rows, preview, **options):
        if rows < METRICS:
            raise CommandError(f"Use at least {METRICS} rows.")
        try:
            # Query logging (on with DEBUG) would slow both sides; production runs without it.
            with override_settings(DEBUG=False), transaction.atomic():
                self.run(rows, preview)
                raise Rollback
        except Rollback:
            pass

    def run(self, rows, preview):
        programme = Programme.objects.create(name="Benchmark programme", slug="benchmark-programme")
        metrics = Metric.objects.bulk_create(
            Metric(programme=programme, slug=f"benchmark-{n:03d}", name=f"Benchmark metric {n}", kind="level")
            for n in range(METRICS)
        )
        weeks = -(-rows // METRICS)
        start = dt.date(2200, 1, 1)
        releases = Release.objects.bulk_create(
            Release(period_date=start + dt.timedelta(weeks=w), title="Benchmark release")
            for w in range(weeks)
        )
        dataset = tablib.Dataset(headers=["period", "metric_slug", "value", "note"])
        for n in range(rows):
            release, metric = releases[n // METRICS], metrics[n % METRICS]
            dataset.append([release.period_date.isoformat(), metric.slug, f"{1000 + n:,}", ""])
        self.stdout.write(
            f"{rows:,} rows ({len(releases)} releases × {METRICS} metrics) on {connection.vendor}"
        )

        # Baseline: the same rows straight into bulk_create.
        by_period = {r.period_date.isoformat(): r for r in releases}
        by_slug = {m.slug: m for m in metrics}
        started = time.perf_counter()
        Figure.objects.bulk_create(
            (
                Figure(
                    release=by_period[period],
                    metric=by_slug[slug],
                    kind=by_slug[slug].kind,
                    value=Decimal(value.replace(",", "")),
                    note=note,
                )
                for period, slug, value, note in dataset
            ),
            batch_size=BATCH,
        )
        raw = time.perf_counter() - started
        assert Figure.objects.filter(release__in=releases).count() == rows
        # The history rows that delete() would write one by one are not part of the benchmark.
        Figure.objects.filter(release__in=releases)._raw_delete(connection.alias)

        if preview:
            started = time.perf_counter()
            result = plan_figures(dataset)
            dry = time.perf_counter() - started
            if not result.ok:
                raise CommandError("The preview found problems: " + "; ".join(result.problems[:5]))
            self.stdout.write(f"resource, preview (dry run): {rows / dry:12,.0f} rows/s  ({dry:.2f} s)")

        started = time.perf_counter()
        result = import_figures(dataset, dry_run=False)
        imported = time.perf_counter() - started
        if not result.ok:
            raise CommandError("The import found problems: " + "; ".join(result.problems[:5]))
        assert Figure.objects.filter(release__in=releases).count() == rows

        ratio = raw / imported
        self.stdout.write(f"raw bulk_create:             {rows / raw:12,.0f} rows/s  ({raw:.2f} s)")
        self.stdout.write(f"resource (as the admin):     {rows / imported:12,.0f} rows/s  ({imported:.2f} s)")
        self.stdout.write(f"ratio: {ratio:.2f} of the raw baseline (target 0.25)")
