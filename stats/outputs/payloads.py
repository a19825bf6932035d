"""A release and a metric series as JSON data: the API and the JSON downloads read the same."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from common.cells import plain_number
from stats.models import Figure, Metric, Release
from stats.outputs import downloads, metadata

API_VERSION = 1


def release_summary(release: Release, *, request) -> dict:
    return {
        "period": release.period_date.isoformat(),
        "heading": release.heading,
        "summary": release.summary,
        "published": release.publish_at.isoformat() if release.publish_at else None,
        # When it was marked published: on the second by the worker, or at once (None until then).
        "published_at": release.published_at.isoformat() if release.published_at else None,
        "synthetic": release.is_synthetic,
        "url": request.build_absolute_uri(release.get_absolute_url()),
        "api_url": request.build_absolute_uri(reverse("api:release", args=[release.period_date])),
    }


def _revisions(row, *, notice: str) -> list[dict]:
    """A figure's corrections since publication (old → new, when, why, the notice), oldest first."""
    return [
        {
            "from": c.old_value,
            "to": c.new_value,
            "revised_at": c.created_at.isoformat(),
            "reason": c.reason,
            "text": metadata.revision_text(c),
            "url": notice,
        }
        for c in row.revisions
    ]


def _designation(status, *, request) -> dict:
    """The statistics' status: its code, its label and where the compliance page explains it."""
    return {
        "code": status.code,
        "label": status.label,
        "explanation_url": request.build_absolute_uri(status.explanation_path),
    }


def _lead_statistician(lead) -> dict | None:
    """The statistician responsible for the release, or None when the release names nobody."""
    if lead is None:
        return None
    return {"name": lead.name, "email": lead.email, "phone": lead.phone_international}


def release_payload(document, *, request, as_of=None) -> dict:
    """A release as JSON: its figures (with change since the previous release and any explanation of
    it), bullets and corrections.

    `as_of` (a `stats.vintages.Vintage`) when the document is the release as published on that day.
    """
    release = document.release
    notice = request.build_absolute_uri(release.get_absolute_url()) + "#corrections-heading"
    citation = metadata.release_citation(
        document,
        url=request.build_absolute_uri(release.get_absolute_url()),
        organisation=settings.NEWSROOM_ORGANISATION,
    )
    return {
        **release_summary(release, request=request),
        "as_published_on": as_of.day.isoformat() if as_of else None,
        "citation": citation.as_dict(),
        "designation": _designation(document.statistics_status, request=request),
        "lead_statistician": _lead_statistician(document.lead_statistician),
        "previous": document.previous.period_date.isoformat() if document.previous else None,
        "next": document.next.period_date.isoformat() if document.next else None,
        "programmes": [
            {
                "slug": section.programme_slug,
                "name": section.programme_name,
                "statements": section.bullets,
                "figures": [
                    {
                        "metric_slug": row.metric_slug,
                        "metric_name": row.metric_name,
                        "kind": row.kind,
                        "unit": row.unit,
                        "value": plain_number(row.value),
                        "display": row.display,
                        "previous_value": plain_number(row.previous) if row.previous is not None else None,
                        "change": row.change,
                        "as_of": row.as_of.isoformat() if row.as_of else None,
                        "qualifier": row.qualifier,
                        "note": row.note,
                        # Why it moved since the previous release, as published with it (not a correction).
                        "explanation": row.explanation or None,
                        "revisions": _revisions(row, notice=notice),
                    }
                    for row in section.figures
                ],
            }
            for section in document.sections
        ],
        "corrections": [
            {
                "subject": c.subject,
                "was": c.old_value,
                "now": c.new_value,
                "reason": c.reason,
                "corrected_at": c.created_at.isoformat(),
            }
            for c in document.corrections
        ],
        # Who had pre-release access (job titles and organisations only), once the release is out.
        "pre_release": document.pre_release.as_data(),
    }


def series_payload(metric: Metric, rows: list[downloads.Row], *, request, as_of=None) -> dict:
    """A metric and its public figures, oldest first (as published on `as_of`'s day, if given)."""
    return {
        "as_published_on": as_of.day.isoformat() if as_of else None,
        "slug": metric.slug,
        "name": metric.name,
        "programme": metric.programme.name,
        "kind": metric.kind,
        "unit": metric.unit,
        "definition": metric.definition,
        "url": request.build_absolute_uri(metric.get_absolute_url()),
        "figures": [
            {
                "period": row.period.isoformat(),
                "value": plain_number(row.value),
                "as_of": row.as_of.isoformat() if row.as_of else None,
                "qualifier": row.qualifier,
                "note": row.note,
                "release_url": row.release_url,
            }
            for row in rows
        ],
    }


def metric_rows(metric: Metric, *, request) -> list[downloads.Row]:
    """A metric's public figures as download rows, oldest first, in one query."""
    figures = (
        Figure.objects.filter(metric=metric, release__in=Release.objects.public())
        .select_related("release")
        .order_by("release__period_date")
    )
    return [
        downloads.Row.of_figure(
            figure,
            metric=metric,
            release_url=request.build_absolute_uri(figure.release.get_absolute_url()),
        )
        for figure in figures
    ]
