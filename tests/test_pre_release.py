"""Pre-release access: limited, recorded and published, from the ledger.

A publisher grants a named person access to an approved release; their personal link opens a
watermarked copy inside the window only; every open and refusal is logged; at publication the
release lists the job titles and organisations of those who had access, and nothing of the
ledger reaches a public address before then.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from stats.models import Figure, PreReleaseAccess, PreReleaseGrant, Release
from stats.outputs import charts
from stats.publishing import prerelease, services
from stats.wording import formatting, ukclock

from .test_embargo import canaries, candidate_values, fill, readable, scheduled, skip_reason, url_templates
from .test_pdf import pdf_text

__all__ = ["scheduled"]  # the embargo tests' release, scheduled an hour from now, with canary figures

PERSON = {
    "name": "Quentin Canary-Holder",
    "job_title": "Special adviser to the Zanzibar desk",
    "organisation": "Department of Canary Affairs",
    "email": "quentin.canary@example.org",
    "reason": "Briefing the minister before the statistics are published.",
}
SECRETS = ("Quentin", "Canary-Holder", "quentin.canary@example.org", "Briefing the minister")
PUBLISHED = ("Special adviser to the Zanzibar desk", "Department of Canary Affairs")


def grant_to(release, publisher, **changes):
    return prerelease.grant_access(release=release, by=publisher, **(PERSON | changes))


def at(release, **delta) -> dt.datetime:
    return release.publish_at + dt.timedelta(**delta)


def move_clock(monkeypatch, moment: dt.datetime) -> None:
    """As if it were `moment` for the link checks and the record (the publish time stays put)."""
    monkeypatch.setattr(prerelease.timezone, "now", lambda: moment)


def link(grant, *, pdf: bool = False) -> str:
    return prerelease.link_path(grant, pdf=pdf)


def open_copy(client, grant, *, pdf: bool = False):
    """As the person does: follow the emailed link, press "Open the release", read it."""
    pressed = client.post(link(grant))
    if pressed.status_code != 303:
        return pressed
    return client.get(link(grant, pdf=pdf))


# -- Who may grant, and when ------------------------------------------------------------------


def test_a_publisher_grants_access_to_an_approved_release_and_the_link_is_emailed(
    scheduled, publisher, django_capture_on_commit_callbacks, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        grant = grant_to(scheduled, publisher)
    assert grant.granted_by == publisher
    [email] = mail.outbox
    assert email.to == [PERSON["email"]]
    assert prerelease.link_url(grant) in email.body
    assert "Not for publication until" in email.body and "24 hours" not in email.subject
    grant.refresh_from_db()
    assert grant.emailed_at is not None


def test_press_officers_cannot_grant_and_nobody_grants_before_approval_or_after_publication(
    scheduled, seed_release, press_officer, publisher
):
    with pytest.raises(PermissionDenied):
        grant_to(scheduled, press_officer)
    draft = services.start_next_release(source=scheduled, by=press_officer)
    with pytest.raises(ValidationError, match="only to an approved release"):
        grant_to(draft, publisher)
    with pytest.raises(ValidationError, match="only to an approved release"):
        grant_to(seed_release, publisher)  # public already
    assert not PreReleaseGrant.objects.exists()


def test_the_command_grants_as_a_named_publisher_and_prints_the_link(scheduled, publisher, press_officer):
    out = StringIO()
    call_command(
        "grant_pre_release",
        str(scheduled.period_date),
        "--name=Ann Lee",
        "--email=ann@example.org",
        "--role=Private secretary",
        "--organisation=Department of Health",
        "--reason=Briefing",
        "--as=sam",
        stdout=out,
    )
    grant = PreReleaseGrant.objects.get()
    assert prerelease.link_url(grant) in out.getvalue() and grant.job_title == "Private secretary"
    with pytest.raises(CommandError, match="Only publishers may grant"):
        call_command(
            "grant_pre_release",
            str(scheduled.period_date),
            "--name=B",
            "--email=b@example.org",
            "--role=R",
            "--organisation=O",
            "--reason=R",
            "--as=pat",
        )
    assert PreReleaseGrant.objects.count() == 1


# -- The personal link: inside the window only, everything logged --------------------------------


def test_the_link_opens_a_watermarked_private_copy_inside_the_window(client, scheduled, publisher):
    grant = grant_to(scheduled, publisher)  # the release is an hour away: inside the 24-hour window
    response = open_copy(client, grant)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "noindex" in response["X-Robots-Tag"]
    page = response.content.decode()
    assert f"Pre-release access for {PERSON['name']}. Not for publication until" in page
    assert "987,654,321" in page  # the embargoed figure, for this reader alone
    assert '<meta name="robots" content="noindex, nofollow">' in page
    pdf = client.get(link(grant, pdf=True))
    assert pdf.status_code == 200 and pdf["Cache-Control"] == "private, no-store"
    text = pdf_text(pdf.content)
    assert f"Pre-release access for {PERSON['name']}." in text and "987,654,321" in text
    log = list(PreReleaseAccess.objects.values_list("grant", "viewed", "outcome"))
    assert log == [(grant.pk, "page", "opened"), (grant.pk, "pdf", "opened")]


@pytest.mark.parametrize(
    ("when", "status", "says"),
    [
        ({"hours": -25}, 403, "Pre-release access opens at"),
        ({"seconds": 0}, 410, "closed at publication"),
        ({"days": 3}, 410, "closed at publication"),
    ],
)
def test_the_link_is_refused_outside_the_window_with_a_clear_page(
    client, scheduled, publisher, monkeypatch, when, status, says
):
    grant = grant_to(scheduled, publisher)
    move_clock(monkeypatch, at(scheduled, **when))
    response = client.get(link(grant))
    assert response.status_code == status
    assert says in response.content.decode()
    assert "987,654,321" not in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    refused = PreReleaseAccess.objects.get()
    assert refused.grant == grant and refused.outcome == "refused" and says in refused.refusal


def test_a_revoked_link_a_link_for_another_release_and_a_made_up_link_are_refused_and_logged(
    client, scheduled, seed_release, publisher, press_officer
):
    grant = grant_to(scheduled, publisher)
    other_release_path = link(grant).replace(str(scheduled.period_date), str(seed_release.period_date))
    assert client.get(other_release_path).status_code == 404
    tampered = link(grant)[:-3] + "xyz/"
    assert client.get(tampered).status_code == 404
    with pytest.raises(PermissionDenied):
        prerelease.revoke_access(grant=grant, by=press_officer, reason="No.")
    prerelease.revoke_access(grant=grant, by=publisher, reason="Left the department.")
    response = client.get(link(grant))
    assert response.status_code == 403 and "This access was revoked" in response.content.decode()
    reasons = list(PreReleaseAccess.objects.values_list("outcome", "refusal"))
    # The altered link was never ours: refused without a line in the log, so guessing fills nothing.
    assert [outcome for outcome, _ in reasons] == ["refused"] * 2
    assert "another release" in reasons[0][1] and "revoked" in reasons[1][1]


def test_the_window_follows_the_setting(client, scheduled, publisher, monkeypatch, settings):
    settings.PRE_RELEASE_HOURS = 3
    grant = grant_to(scheduled, publisher)
    move_clock(monkeypatch, at(scheduled, hours=-4))
    assert "3 hours before publication" in client.get(link(grant)).content.decode()
    move_clock(monkeypatch, at(scheduled, hours=-2))
    assert "987,654,321" in open_copy(client, grant).content.decode()


# -- The public record -------------------------------------------------------------------------


def test_no_grant_data_reaches_a_public_address_before_publication_and_the_list_appears_after(
    client, scheduled, publisher
):
    used = grant_to(scheduled, publisher)
    grant_to(scheduled, publisher, name="Una Unused", email="una@example.org", job_title="Chief economist")
    revoked = grant_to(scheduled, publisher, name="Rex Revoked", email="rex@example.org", job_title="Analyst")
    prerelease.revoke_access(grant=revoked, by=publisher, reason="Not needed.")
    assert open_copy(client, used).status_code == 200  # used

    paths = [p for t in url_templates() if not skip_reason(t) for p in fill(t, candidate_values(scheduled))]
    assert not any("pre-release" in p and used.token in p for p in paths)

    def public_texts():
        texts = {}
        for path in paths:
            from django.core.cache import cache

            cache.clear()
            texts[path] = readable(client.get(path))
        return texts

    before = public_texts()
    secret_words = (*SECRETS, *PUBLISHED, "Una Unused", "Chief economist", used.token)
    leaked = {p: [w for w in secret_words if w in text] for p, text in before.items()}
    assert not {p: w for p, w in leaked.items() if w}, leaked

    Release.objects.filter(pk=scheduled.pk).update(publish_at=timezone.now() - dt.timedelta(minutes=1))
    page = client.get(f"/statistics/{scheduled.period_date}/").content.decode()
    section = page[page.index('id="pre-release-heading"') :]
    section = re.sub(r"\s+", " ", section[: section.index("</section>")])
    assert "Had access and used it" in section
    assert "Special adviser to the Zanzibar desk, Department of Canary Affairs" in section
    assert "Granted access but did not use it" in section and "Chief economist" in section
    assert "Analyst" not in section  # revoked before it was used: no access
    after = public_texts()
    for path, text in after.items():
        assert not [w for w in SECRETS if w in text], path  # names, addresses, reasons: never
    api = client.get(f"/api/v1/releases/{scheduled.period_date}/").json()["pre_release"]
    assert api["used"] == [{"job_title": PERSON["job_title"], "organisation": PERSON["organisation"]}]
    assert [h["job_title"] for h in api["granted_not_used"]] == ["Chief economist"]
    download = client.get(f"/statistics/{scheduled.period_date}.json").json()
    assert download["pre_release"] == api


def test_a_breach_is_published_with_its_explanation(client, scheduled, publisher, press_officer):
    with pytest.raises(PermissionDenied):
        prerelease.record_breach(release=scheduled, by=press_officer, explanation="x")
    prerelease.record_breach(
        release=scheduled, by=publisher, explanation="A figure was quoted on the radio at 08:00."
    )
    Release.objects.filter(pk=scheduled.pk).update(publish_at=timezone.now() - dt.timedelta(minutes=1))
    page = client.get(f"/statistics/{scheduled.period_date}/").content.decode()
    assert "Breach of pre-release access" in page and "quoted on the radio at 08:00" in page
    api = client.get(f"/api/v1/releases/{scheduled.period_date}/").json()["pre_release"]
    assert api["breaches"][0]["explanation"] == "A figure was quoted on the radio at 08:00."


def test_the_ledger_is_read_only_once_the_release_is_out(scheduled, publisher):
    grant = grant_to(scheduled, publisher)
    Release.objects.filter(pk=scheduled.pk).update(publish_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(ValidationError, match="can no longer change"):
        prerelease.revoke_access(grant=grant, by=publisher, reason="Too late.")


def test_following_the_link_is_not_reading_the_release(client, scheduled, publisher):
    """A mail system that checks links follows them (GET) without pressing anything: it sees the
    button, not the statistics, and its visit does not count as the person's."""
    grant = grant_to(scheduled, publisher)
    for url in (link(grant), link(grant, pdf=True)):
        response = client.get(url)
        assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
        page = response.content.decode()
        assert "Open the release" in page and "987,654,321" not in page
    for method in ("head", "options", "trace", "put", "delete"):
        for url in (link(grant), link(grant, pdf=True)):
            response = getattr(client, method)(url)
            assert response.status_code == 405, (method, url)
            assert b"987,654,321" not in response.content and b"%PDF" not in response.content
    assert client.post(link(grant, pdf=True)).status_code == 405
    assert not PreReleaseAccess.objects.exists()
    Release.objects.filter(pk=scheduled.pk).update(publish_at=timezone.now() - dt.timedelta(minutes=1))
    page = client.get(f"/statistics/{scheduled.period_date}/").content.decode()
    assert "Had access and used it" not in page and "Granted access but did not use it" in page


def test_the_button_works_for_its_own_link_only(client, scheduled, publisher):
    first = grant_to(scheduled, publisher)
    second = grant_to(scheduled, publisher, name="Una", email="una@example.org")
    assert open_copy(client, first).status_code == 200
    # The same browser, another person's link: the button again, nothing read.
    assert "Open the release" in client.get(link(second)).content.decode()
    assert list(PreReleaseAccess.objects.values_list("grant", flat=True)) == [first.pk]


def test_the_link_is_never_written_to_the_request_log(client, scheduled, publisher, caplog):
    grant = grant_to(scheduled, publisher)
    with caplog.at_level("INFO"):
        open_copy(client, grant)
        client.get(link(grant).replace(str(scheduled.period_date), "2010-03-03"))
    assert caplog.records, "nothing was logged"
    assert not [r for r in caplog.records if grant.token in r.getMessage()]
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "newsroom.requests"]
    assert [line["path"] for line in logged] == ["/statistics/pre-release/…"] * 3


def test_a_release_sent_back_and_approved_again_needs_new_grants(client, scheduled, publisher, press_officer):
    grant = grant_to(scheduled, publisher)
    assert open_copy(client, grant).status_code == 200
    services.return_to_draft(release=scheduled, by=publisher, reason="A figure to check.")
    scheduled.refresh_from_db()
    assert client.get(link(grant)).status_code == 403  # no longer scheduled
    services.submit_release(release=scheduled, by=press_officer, acknowledge_warnings=True)
    scheduled.refresh_from_db()
    services.approve_release(
        release=scheduled, by=publisher, publish_at=scheduled.publish_at, acknowledge_warnings=True
    )
    response = client.get(link(grant))
    assert response.status_code == 403 and "approved again" in response.content.decode()
    # A grant can still be revoked while its release is back in draft.
    other = grant_to(scheduled, publisher, name="Una", email="una@example.org")
    services.return_to_draft(release=scheduled, by=publisher, reason="Again.")
    scheduled.refresh_from_db()
    prerelease.revoke_access(grant=other, by=publisher, reason="Not needed now.")


def test_no_link_is_emailed_for_a_release_no_longer_coming(scheduled, publisher, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    from stats.publishing.tasks import send_pre_release_link

    grant = grant_to(scheduled, publisher)  # queued for after the commit, which never comes here
    services.cancel_release(release=scheduled, by=publisher, reason="No figures this week.")
    assert send_pre_release_link.call(grant.pk).startswith("not sent")
    assert not mail.outbox


def test_old_versions_in_the_history_can_be_read_but_never_restored(
    client, seed_release, press_officer, publisher
):
    from django.urls import reverse

    history = seed_release.history.first()
    url = reverse("admin:statistics_release_simple_history", args=[seed_release.pk, history.history_id])
    for person in (press_officer, publisher):
        client.force_login(person)
        assert client.get(url).status_code == 200
        response = client.post(
            url, {"title": "Rewritten", "summary": "Rewritten", "period_date": "2010-03-03"}
        )
        assert response.status_code == 403
    seed_release.refresh_from_db()
    assert seed_release.title != "Rewritten"


# -- A copy shows its own release and what is public now, never another release before its time ---

EARLIER_TITLE = "Wallaby weekly deployment digest"  # the earlier release's own words: a canary
LATER_FIGURES = {
    "eps-messages-total": 998_877_665,
    "cab-bookings-total": 24_680_246,
    "crs-summary-care-records": 1_470_000,
}
LATER_FIGURE = "998,877,665"


@pytest.fixture
def two_in_one_day(scheduled, press_officer, publisher, monkeypatch):
    """w/c 10 March out at 12:04 and w/c 17 March at 12:34 the same day (two days from now), each
    with its own title and figures; access granted to the later one only, at 11:00."""
    day = timezone.localdate() + dt.timedelta(days=2)
    noon = {minute: ukclock.uk_datetime(day, dt.time(12, minute)) for minute in (4, 34)}
    move_clock(monkeypatch, noon[4] - dt.timedelta(hours=1, minutes=4))
    Release.objects.filter(pk=scheduled.pk).update(title=EARLIER_TITLE, publish_at=noon[4])
    earlier = Release.objects.get(pk=scheduled.pk)
    later = services.start_next_release(source=earlier, by=press_officer)
    later.title, later.summary = "Deployment statistics", "The week to 17 March."
    later.save(update_fields=["title", "summary"])
    later.statements.filter(text__contains="Quokka").delete()
    for slug, value in LATER_FIGURES.items():
        later.figures.filter(metric__slug=slug).update(value=value)
    services.confirm_figures(release=later, by=press_officer)
    services.submit_release(release=later, by=press_officer, acknowledge_warnings=True)
    services.approve_release(
        release=later,
        by=publisher,
        publish_at=noon[34],
        acknowledge_warnings=True,
        date_change_reason="Out the same day as the week before.",
    )
    later.refresh_from_db()
    return earlier, later, grant_to(later, publisher)


def earlier_release_words(earlier) -> list[str]:
    """Its figures, title and dates, as the page, its links, its JSON-LD and the PDF's tables and
    charts (the charts' descriptions say "w/c 10 Mar 2010") would name it."""
    day = earlier.period_date
    return [*canaries(), EARLIER_TITLE, f"w/c {earlier.period_label}", str(day), f"w/c {day.day} {day:%b %Y}"]


def test_a_copy_shows_no_other_release_before_its_second(client, two_in_one_day, monkeypatch):
    earlier, _later, grant = two_in_one_day
    move_clock(monkeypatch, earlier.publish_at - dt.timedelta(minutes=14))  # 11:50
    page = readable(open_copy(client, grant))
    pdf = pdf_text(client.get(link(grant, pdf=True)).content)
    assert LATER_FIGURE in page and LATER_FIGURE in pdf
    eps = Figure.objects.get(release__period_date=dt.date(2010, 3, 3), metric__slug="eps-messages-total")
    since_public = formatting.change(Decimal(998_877_665), eps.value, kind=eps.kind)
    since_earlier = formatting.change(Decimal(998_877_665), Decimal(987_654_321), kind=eps.kind)
    for where, text in (("page", page), ("pdf", pdf)):
        shown = [word for word in [*earlier_release_words(earlier), since_earlier] if word in text]
        assert not shown, f"the {where} shows the earlier release before its second: {shown}"
        # Compared with the latest release public now.
        assert "w/c 3 March 2010" in text and since_public in text, where
    assert not PreReleaseAccess.objects.filter(release=earlier).exists()

    move_clock(monkeypatch, earlier.publish_at + dt.timedelta(minutes=1))  # 12:05: the earlier is out
    page = readable(client.get(link(grant)))
    pdf = pdf_text(client.get(link(grant, pdf=True)).content)
    for text in (page, pdf):
        assert since_earlier in text and f"w/c {earlier.period_label}" in text


# -- The PDF names its holder on every page, over no other text -----------------------------------


@dataclass(frozen=True)
class Run:
    """One piece of text a PDF page draws, with the box it covers (x0, y0, x1, y1) in points."""

    text: str
    box: tuple[float, float, float, float]

    def overlaps(self, other: Run) -> bool:
        (a0, b0, a1, b1), (c0, d0, c1, d1) = self.box, other.box
        return a0 < c1 and c0 < a1 and b0 < d1 and d0 < b1


def runs(page) -> list[Run]:
    """The page's text as drawn: each piece's box from its matrices, its font's widths and size."""
    charts.register_fonts()
    found = []

    def visit(text, cm, tm, font, size):
        text = text.strip()
        if not text or not font:
            return
        name = charts.FONT_BOLD if "Bold" in font.get("/BaseFont", "") else charts.FONT
        width = stringWidth(text, name, size)
        corners = [(x, y) for x in (0, width) for y in (-0.24 * size, 0.93 * size)]  # Vera's descent, ascent
        placed = [transform(transform(point, tm), cm) for point in corners]
        xs, ys = [x for x, _ in placed], [y for _, y in placed]
        found.append(Run(text, (min(xs), min(ys), max(xs), max(ys))))

    page.extract_text(visitor_text=visit)
    return found


def notices(drawn: list[Run], notice: str) -> list[Run]:
    """The runs that print `notice`, one after another (it may wrap onto several lines)."""
    found = []
    for start in range(len(drawn)):
        said = ""
        for end in range(start, len(drawn)):
            said = f"{said} {drawn[end].text}".strip()
            if not notice.startswith(said):
                break
            if said == notice:
                found += drawn[start : end + 1]
                break
    return found


def transform(point, m):
    x, y = point
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


@pytest.mark.parametrize("name", [PERSON["name"], "Quentin Alexander Montgomery-Fortescue-Canary-Holder III"])
def test_the_pdf_names_its_holder_on_every_page_over_no_other_text(client, scheduled, publisher, name):
    grant = grant_to(scheduled, publisher, name=name)  # a long name wraps onto a second line
    open_copy(client, grant)
    notice = " ".join(prerelease.notice(grant).split())
    pages = PdfReader(io.BytesIO(client.get(link(grant, pdf=True)).content)).pages
    assert len(pages) > 3  # the tables and charts of every programme follow the first page
    for number, page in enumerate(pages, start=1):
        drawn = runs(page)
        marks = notices(drawn, notice)
        assert marks, f"page {number} lacks the notice"
        others = [run for run in drawn if run not in marks]
        covered = [(mark.text, run.text) for mark in marks for run in others if mark.overlaps(run)]
        assert not covered, f"page {number}: the notice is printed over other text: {covered}"
    band = [run.text for run in runs(pages[0])]
    assert "NHS Connecting for Health" in band  # the organisation on the first page's band, whole
