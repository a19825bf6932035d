"""Synthetic weekly history before the earliest release, for demos, tests and benchmarks."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction

from stats.models import Figure, Release, Statement
from stats.publishing import public
from stats.wording import formatting

UK = ZoneInfo("Europe/London")


def _step_back(value: Decimal, kind: str, rng: random.Random) -> Decimal:
    """The value one week earlier, plausible for its kind."""
    if kind in (formatting.TOTAL, formatting.RECORD):
        # Cumulative: earlier is lower (never higher), by up to ~1.5% a week.
        drop = value * Decimal(rng.uniform(0.002, 0.015))
        if kind == formatting.RECORD and rng.random() < 0.7:
            drop = Decimal(0)  # records stand for weeks at a time
        return max(Decimal(0), (value - drop).quantize(Decimal(1)))
    if kind == formatting.PERCENT:
        return min(
            Decimal(100), max(Decimal(0), (value - Decimal(rng.uniform(-0.3, 0.8))).quantize(Decimal(1)))
        )
    if kind == formatting.AMOUNT:
        return value
    # Period counts and levels wander around their current size.
    factor = Decimal(rng.uniform(0.96, 1.02))
    return max(Decimal(0), (value * factor).quantize(Decimal(1)))


@transaction.atomic
def generate_history(*, weeks: int, seed: int = 2010) -> list[Release]:
    """Add `weeks` published, synthetic weekly releases before the earliest release, each marked
    published at its publish time.

    Figures walk back from the earliest release's own (totals never fall going
    forward), statements are copied, and every release is marked synthetic.
    """
    rng = random.Random(seed)
    base = Release.objects.order_by("period_date").first()
    if base is None:
        raise ValueError("There is no release to build history from: run load_seed first.")
    figures = list(base.figures.select_related("metric"))
    statements = list(base.statements.all())
    values = {f.metric_id: f.value for f in figures}
    kinds = {f.metric_id: f.metric.kind for f in figures}
    releases = []
    new_figures = []
    new_statements = []
    for week in range(1, weeks + 1):
        period = base.period_date - dt.timedelta(weeks=week)
        publish_at = dt.datetime.combine(period, dt.time(9, 30), tzinfo=UK)
        release = Release(
            period_date=period,
            title=base.title,
            summary=f"Synthetic demonstration data for w/c {period.day} {period:%B %Y}.",
            status=Release.Status.PUBLISHED,
            publish_at=publish_at,
            published_at=publish_at,  # out, and marked so, at its time
            went_out_at=publish_at,  # and followed up then
            is_synthetic=True,
            lead_contact_id=base.lead_contact_id,
            statistician_name=base.statistician_name,
            statistician_email=base.statistician_email,
            statistician_phone=base.statistician_phone,
            designation=base.designation,
        )
        releases.append(release)
    Release.objects.bulk_create(releases, batch_size=500)
    # bulk_create sets primary keys on PostgreSQL and SQLite.
    for release in releases:
        for figure in figures:
            values[figure.metric_id] = _step_back(values[figure.metric_id], kinds[figure.metric_id], rng)
            new_figures.append(
                Figure(
                    release=release,
                    metric_id=figure.metric_id,
                    kind=kinds[figure.metric_id],
                    value=values[figure.metric_id],
                    qualifier=figure.qualifier,
                    as_of=release.period_date - (base.period_date - figure.as_of) if figure.as_of else None,
                )
            )
        new_statements.extend(
            Statement(release=release, programme_id=s.programme_id, order=s.order, text=s.text)
            for s in statements
        )
    Figure.objects.bulk_create(new_figures, batch_size=2000)
    Statement.objects.bulk_create(new_statements, batch_size=2000)
    public.release_listed()  # every public page may list or compare with these
    return releases
