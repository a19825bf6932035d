"""Each release's lead statistician and statistics status, as readers and the admin's users meet them.

The status (accredited official statistics, official statistics, official statistics in development,
management information) shows as a label by the title, linked to the statement of compliance, and in
the PDF, the feed and the API; the lead statistician is named beside it. Publishers set the status;
press officers see it and cannot change it.
"""

import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from stats.models import Release
from stats.publishing import services

from .forms import admin_change_data
from .test_pdf import get_pdf, pdf_text

Designation = Release.Designation
ATOM = "{http://www.w3.org/2005/Atom}"
PAGE = "/statistics/2010-03-03/"


def text(html: str) -> str:
    """What a reader reads: tags stripped, whitespace squashed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(release) -> str:
    return reverse("admin:statistics_release_change", args=[release.pk])


@pytest.fixture
def named(seed_release):
    """The seed release as official statistics, with a named lead statistician."""
    Release.objects.filter(pk=seed_release.pk).update(
        designation=Designation.OFFICIAL,
        statistician_name="Jo Bloggs",
        statistician_email="jo.bloggs@example.org",
        statistician_phone="+442079460123",
    )
    seed_release.refresh_from_db()
    return seed_release


def badge(html: str) -> str:
    """The status label by the release's title, with its link."""
    found = re.search(r'<p class="newsroom-statistics-status">(.*?)</p>', html, re.S)
    assert found, "no status label under the title"
    return found.group(1)


# --- the release page ---------------------------------------------------------------------------


def test_the_seed_release_is_labelled_management_information(client, seed_release):
    html = client.get(PAGE).content.decode()
    label = badge(html)
    assert re.search(r'<strong class="nhsuk-tag [^"]*">Management information</strong>', label)
    assert 'href="/statistics/compliance/#management-information">What this status means</a>' in label
    assert html.index("newsroom-statistics-status") < html.index("Reporting period")  # by the title
    assert "Status Management information" in text(html)
    assert "Lead statistician" not in html  # the 2010 page named nobody, so nobody is made up


def test_the_release_page_shows_the_status_and_names_the_lead_statistician(client, named):
    html = client.get(PAGE).content.decode()
    assert re.search(r'<strong class="nhsuk-tag [^"]*">Official statistics</strong>', badge(html))
    assert 'href="/statistics/compliance/#official"' in badge(html)
    facts = html[html.index("newsroom-release__facts") : html.index("</dl>")]
    assert "Status Official statistics" in text(facts)
    lead = re.search(
        r'<dt class="nhsuk-summary-list__key">Lead statistician</dt>\s*<dd[^>]*>(.*?)</dd>', facts
    )
    assert lead, "no lead statistician in the facts"
    as_read = re.sub(r"<[^>]+>", "", lead.group(1))  # links read as their text
    assert as_read == "Jo Bloggs, jo.bloggs@example.org, 020 7946 0123"
    assert '<a href="mailto:jo.bloggs@example.org">jo.bloggs@example.org</a>' in facts
    assert '<a href="tel:+44-20-7946-0123">020 7946 0123</a>' in facts


def test_the_badge_and_the_footer_lead_to_the_statement_of_compliance(client, named):
    html = client.get(PAGE).content.decode()
    footer = html[html.index("<footer") :]
    link = (
        '<a class="nhsuk-footer__list-item-link" href="/statistics/compliance/">Statement of compliance</a>'
    )
    assert link in footer
    page = client.get(reverse("statistics:compliance"))
    assert page.status_code == 200
    compliance = page.content.decode()
    assert 'id="official"' in compliance  # where the badge's link lands


def test_the_statement_of_compliance_explains_each_status_and_pre_release_access(client, named):
    html = client.get("/statistics/compliance/").content.decode()
    words = text(html)
    assert "Statement of compliance with the Code of Practice for Statistics" in words
    for anchor, label in (
        ("accredited-official", "Accredited official statistics"),
        ("official", "Official statistics"),
        ("official-in-development", "Official statistics in development"),
        ("management-information", "Management information"),
    ):
        assert f'<h3 id="{anchor}">{label}</h3>' in html
    assert "independently reviewed and found to comply" in words
    assert "new or are being developed" in words
    assert "not as official statistics" in words
    for pillar in ("Trustworthiness", "Quality", "Value"):
        assert f"{pillar}:" in words
    assert "at most 24 hours before the publish time" in words
    assert "its page lists the job titles and organisations of everyone who had access" in words
    assert f'href="{reverse("statistics:revision-list")}"' in html
    assert f'href="{reverse("statistics:release-calendar")}"' in html
    assert "The latest release, for w/c 3 March 2010, is published as Official statistics" in words


def test_the_statement_of_compliance_never_shows_a_release_before_its_time(client, hidden_releases):
    draft, embargoed = hidden_releases
    Release.objects.filter(pk__in=[draft.pk, embargoed.pk]).update(designation=Designation.ACCREDITED)
    words = text(client.get("/statistics/compliance/").content.decode())
    assert "The latest release, for w/c 3 March 2010, is published as Management information" in words


# --- the PDF, the feed and the API --------------------------------------------------------------


def test_the_pdf_prints_the_status_and_the_lead_statistician(client, named):
    words = pdf_text(get_pdf(client, "/statistics/2010-03-03.pdf"))
    assert "Responsible: NHS CFH press office, 020 7004 1555" in words
    assert "Status: Official statistics" in words
    assert "Lead statistician: Jo Bloggs, jo.bloggs@example.org, 020 7946 0123" in words
    assert "What this status means: http://testserver/statistics/compliance/#official" in words


def test_the_feed_gives_each_release_s_status(client, named):
    root = ET.fromstring(client.get("/feed/").content)
    entry = root.find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}summary").text.startswith("<p>Status: Official statistics.</p>")
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["Official statistics"]


def test_the_api_gives_the_status_and_the_lead_statistician(client, named):
    release = client.get("/api/v1/releases/2010-03-03/").json()
    assert release["designation"] == {
        "code": "official",
        "label": "Official statistics",
        "explanation_url": "http://testserver/statistics/compliance/#official",
    }
    assert release["lead_statistician"] == {
        "name": "Jo Bloggs",
        "email": "jo.bloggs@example.org",
        "phone": "+44 20 7946 0123",
    }
    assert client.get("/statistics/2010-03-03.json").json()["designation"]["code"] == "official"


def test_the_api_says_when_a_release_names_no_lead_statistician(client, seed_release):
    release = client.get("/api/v1/releases/2010-03-03/").json()
    assert release["lead_statistician"] is None
    assert release["designation"]["label"] == "Management information"
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert set(schemas["Designation"]["properties"]["code"]["enum"]) == set(Designation.values)
    assert set(schemas["LeadStatistician"]["properties"]) == {"name", "email", "phone"}


def test_the_zip_s_readme_gives_the_status_and_the_lead_statistician(client, named):
    import io
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(client.get("/statistics/2010-03-03.zip").content))
    readme = archive.read("README.txt").decode()
    explained = "http://testserver/statistics/compliance/#official"
    assert f"Status: Official statistics (what this means: {explained})" in readme
    assert "Lead statistician: Jo Bloggs, jo.bloggs@example.org, 020 7946 0123" in readme


# --- starting the next release, and who may change what ---------------------------------------------


def test_starting_the_next_release_copies_the_lead_statistician_and_the_status(named, press_officer):
    draft = services.start_next_release(source=named, by=press_officer)
    assert (draft.statistician_name, draft.statistician_email, str(draft.statistician_phone)) == (
        "Jo Bloggs",
        "jo.bloggs@example.org",
        "+442079460123",
    )
    assert draft.designation == Designation.OFFICIAL


def test_a_press_officer_sees_the_status_and_cannot_change_it(named, press_officer, publisher):
    draft = services.start_next_release(source=named, by=publisher)
    officer = as_user(press_officer)
    page = officer.get(change_url(draft))
    html = page.content.decode()
    assert 'name="designation"' not in html and "Official statistics" in html  # shown, read-only
    assert 'name="statistician_name"' in html  # the lead statistician is theirs to keep up to date
    data = admin_change_data(page)
    data["designation"] = Designation.ACCREDITED  # posted anyway, as a forged form would
    data["statistician_name"] = "Sam Smith"
    data["statistician_email"] = "sam.smith@example.org"
    data["statistician_phone"] = "020 7946 0999"
    assert officer.post(change_url(draft), data).status_code == 302
    draft.refresh_from_db()
    assert draft.designation == Designation.OFFICIAL
    assert (draft.statistician_name, str(draft.statistician_phone)) == ("Sam Smith", "+442079460999")
    assert draft.last_edited_by == press_officer and draft.version == 2


def test_a_publisher_sets_the_status_on_the_draft_s_page(named, publisher):
    draft = services.start_next_release(source=named, by=publisher)
    boss = as_user(publisher)
    data = admin_change_data(boss.get(change_url(draft)))
    assert data["designation"] == Designation.OFFICIAL
    data["designation"] = Designation.IN_DEVELOPMENT
    assert boss.post(change_url(draft), data).status_code == 302
    draft.refresh_from_db()
    assert draft.designation == Designation.IN_DEVELOPMENT
    assert draft.last_edited_by == publisher and draft.version == 2
    assert draft.history.first().designation == Designation.IN_DEVELOPMENT  # kept in the history
    # Submitting it asks for the change of status to be checked by a person.
    findings = [f.message for f in services.release_findings(draft)]
    assert any(
        "official statistics in development, but the previous release (w/c 3 March 2010) was official "
        "statistics" in message
        for message in findings
    ), findings


def test_a_lead_statistician_needs_an_email_address(named, press_officer):
    draft = services.start_next_release(source=named, by=press_officer)
    officer = as_user(press_officer)
    data = admin_change_data(officer.get(change_url(draft)))
    data["statistician_email"] = ""
    response = officer.post(change_url(draft), data)
    assert response.status_code == 200
    assert "Give the lead statistician’s email" in unescape(response.content.decode())
    draft.refresh_from_db()
    assert draft.statistician_email == "jo.bloggs@example.org"


def test_nobody_sets_the_status_of_a_release_out_of_draft(named, publisher):
    from django.core.exceptions import ValidationError

    from stats.publishing import workflow

    assert not workflow.allowed(publisher, "designate", named)  # public: the page is read-only
    with pytest.raises(ValidationError, match="it is public, not a draft"):
        workflow.require(publisher, "designate", named)
