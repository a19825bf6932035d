"""An explanation is a note on this week's figure, written before the release comes out; a correction
is a change to a figure after it came out. Every output keeps them apart."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from io import BytesIO

import pytest
from pypdf import PdfReader

from alerts import sending
from alerts.models import Subscriber
from stats.models import Correction, Explanation, Figure, Release
from stats.publishing import services

from .smtp import smtp_server

WHY = "Two practices merged, so records moved between them were counted once."
FIX = "A supplier's batch arrived late."


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(content)).pages)


@pytest.fixture
def smtp(settings):
    settings.NEWSROOM_ALERTS_PER_SECOND = 1000
    with smtp_server(settings) as inbox:
        yield inbox


@pytest.fixture
def explained_week(seed_release, press_officer, publisher, smtp):
    """w/c 10 March 2010, published now: medical record transfers fell, 1,022,140 → 1,020,000, and the
    press office explained why before it went out; after it went out one figure was corrected."""
    Subscriber.objects.create(
        email="reader@example.org", every_release=True, confirmed_at=seed_release.publish_at
    )
    release = services.start_next_release(source=seed_release, by=press_officer)
    Figure.objects.filter(release=release, metric__slug="gp2gp-transfers-total").update(value=1_020_000)
    services.confirm_figures(release=release, by=press_officer)
    services.explain_figure(
        release=release, by=press_officer, metric_slug="gp2gp-transfers-total", reason=WHY
    )
    services.submit_release(release=release, by=press_officer, acknowledge_warnings=True)
    services.publish_now(release=release, by=publisher, acknowledge_warnings=True, reason="Ready early.")
    release.refresh_from_db()
    sending.send_release_alerts(release.pk)
    figure = Figure.objects.get(release=release, metric__slug="eps-messages-total")
    services.correct_figure(figure=figure, by=publisher, value=figure.value + Decimal(107), reason=FIX)
    return release


def test_an_explanation_is_written_apart_from_corrections(explained_week):
    (note,) = Explanation.objects.filter(release=explained_week)
    assert (note.subject, note.old_value, note.new_value, note.reason) == (
        "Medical record transfers",
        "1,022,140 (w/c 3 March 2010)",
        "1,020,000",
        WHY,
    )
    (correction,) = Correction.objects.filter(release=explained_week)
    assert correction.reason == FIX


def test_the_page_shows_the_explanation_beside_its_figure_and_only_the_correction_as_one(
    client, explained_week
):
    html = client.get(explained_week.get_absolute_url()).content.decode()
    row = next(r for r in re.findall(r"<tr.*?</tr>", html, flags=re.S) if "Medical record transfers" in r)
    assert f"Why it changed: {WHY}" in text(row) and "Revised from" not in text(row)
    box = html[
        html.index('id="corrections-heading"') : html.index(
            "</section>", html.index('id="corrections-heading"')
        )
    ]
    assert "Correction" in text(box) and FIX in text(box) and WHY not in text(box)
    assert ">Correction<" in box  # one, not "Corrections"
    assert "This is version 2 of the release, corrected on" in text(html)


def test_the_revisions_page_lists_the_correction_not_the_explanation(client, explained_week):
    page = text(client.get("/statistics/revisions/").content.decode())
    assert FIX in page and WHY not in page


def test_the_pdf_counts_one_correction_and_gives_the_explanation_with_its_figure(client, explained_week):
    content = pdf_text(client.get(f"/statistics/{explained_week.period_date}.pdf").content)
    assert "This release has been corrected since it came out (1 correction)" in content
    assert f"Why it changed: {WHY}" in content
    corrections = content[content.index("Corrections Prescription") :]
    assert FIX in corrections and WHY not in corrections


def test_the_api_gives_the_explanation_on_its_figure_and_revisions_only_for_the_correction(
    client, explained_week
):
    data = client.get(f"/api/v1/releases/{explained_week.period_date}/").json()
    figures = {f["metric_slug"]: f for p in data["programmes"] for f in p["figures"]}
    assert figures["gp2gp-transfers-total"]["explanation"] == WHY
    assert figures["gp2gp-transfers-total"]["revisions"] == []
    assert [r["reason"] for r in figures["eps-messages-total"]["revisions"]] == [FIX]
    assert [c["reason"] for c in data["corrections"]] == [FIX]
    assert data["citation"]["version"] == 2
    others = [f for slug, f in figures.items() if slug not in ("gp2gp-transfers-total",)]
    assert all(f["explanation"] is None for f in others)


def test_the_csvw_metadata_comments_on_the_explanation_and_edits_for_the_correction(client, explained_week):
    notes = client.get(f"/statistics/{explained_week.period_date}.csv-metadata.json").json()["notes"]
    motives = {n["oa:motivatedBy"]["@id"]: n["oa:hasBody"]["rdf:value"] for n in notes}
    assert WHY in motives["oa:commenting"] and FIX in motives["oa:editing"]


def test_the_release_alert_gives_the_fall_with_its_explanation(smtp, explained_week):
    (alert,) = smtp.to("reader@example.org")
    assert "Medical record transfers: 1,020,000" in alert.text
    assert f"Why it changed: {WHY}" in alert.text and f"Why it changed: {WHY}" in text(alert.html)


def test_explaining_again_replaces_the_text(seed_release, press_officer):
    release = services.start_next_release(source=seed_release, by=press_officer)
    for reason in ("First thought.", "Second thought."):
        services.explain_figure(
            release=release, by=press_officer, metric_slug="gp2gp-transfers-total", reason=reason
        )
    assert list(release.explanations.values_list("reason", flat=True)) == ["Second thought."]
    assert not Release.objects.get(pk=release.pk).corrections.exists()
