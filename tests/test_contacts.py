"""The media contacts directory: what a journalist and a press officer see and get."""

import datetime as dt
import re
from html import unescape

import pytest
import tablib
import vobject
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from contacts import vcard
from contacts.models import MediaContact, months_before
from contacts.resources import MediaContactResource
from stats.models import Programme
from stats.selectors import build_release_document

from . import factories
from .forms import admin_change_data, page_form_data


def contact(**fields) -> MediaContact:
    """A saved, active contact; `programmes` may be given as a list."""
    programmes = fields.pop("programmes", [])
    slug = fields.setdefault("slug", f"office-{MediaContact.objects.count() + 1}")
    fields.setdefault("name", slug.replace("-", " ").capitalize())
    fields.setdefault("organisation", "Test organisation")
    obj = MediaContact.objects.create(**fields)
    obj.programmes.set(programmes)
    return obj


def main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def card_names(html: str) -> list[str]:
    return re.findall(r'<h3 class="nhsuk-card__heading[^"]*">([^<]+)</h3>', html)


def parse_vcards(response) -> list:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/vcard; charset=utf-8"
    body = response.content
    lines = body.split(b"\r\n")
    assert lines[-1] == b"", "the file ends with CRLF"
    assert b"\n" not in body.replace(b"\r\n", b""), "every line ends with CRLF"
    assert all(len(line) <= 75 for line in lines), "lines are folded at 75 octets"
    return list(vobject.readComponents(body.decode("utf-8")))


# The journalist's journey ----------------------------------------------------


def test_journalist_filters_to_eps_taps_the_phone_and_saves_the_vcard(client, seed_release):
    page = client.get("/contacts/")
    assert page.status_code == 200
    html = page.content.decode()
    option = re.search(r'<option value="([^"]+)">Electronic Prescription Service \(EPS\)</option>', html)
    assert option, "the programme filter offers EPS"

    filtered = client.get("/contacts/", {"programme": option.group(1)})
    html = main(filtered.content.decode())
    assert card_names(html) == ["NHS CFH press office"]
    assert "Department of Health press office" not in html
    assert '<a href="tel:+44-20-7004-1555">020 7004 1555</a>' in html
    assert "1 contact found" in html

    link = re.search(r'<a href="(/contacts/[^"]+\.vcf)" download>Save to your contacts', html).group(1)
    (card,) = parse_vcards(client.get(link))
    assert card.fn.value == "NHS CFH press office"
    assert card.org.value == ["NHS Connecting for Health"]
    assert card.tel.value == "+44 20 7004 1555"
    assert "Electronic Prescription Service (EPS)" in card.note.value
    assert client.get(link)["Content-Disposition"] == 'attachment; filename="nhs-cfh-press-office.vcf"'


def test_directory_groups_contacts_by_organisation_in_listing_order(client, seed_release):
    html = main(client.get("/contacts/").content.decode())
    headings = re.findall(r'<h2 id="organisation-\d+">([^<]+)</h2>', html)
    assert headings == ["NHS Connecting for Health", "Department of Health", "Local NHS organisations"]
    assert card_names(html) == [
        "NHS CFH press office",
        "Other NHS CFH enquiries",
        "Department of Health press office",
        "NHS trusts and organisations",
    ]
    assert 'id="nhs-cfh-press-office"' in html, "MediaContact.get_absolute_url's #anchor exists"
    assert "Contact the press office of the trust or organisation concerned." in html


def test_directory_breadcrumbs_use_the_site_trail(client, db):
    html = client.get("/contacts/").content.decode()
    trail = html[
        html.index('aria-label="Breadcrumb"') : html.index("</nav>", html.index('aria-label="Breadcrumb"'))
    ]
    items = re.findall(r'<li class="nhsuk-breadcrumb__list-item"><a [^>]*>([^<]+)</a></li>', trail)
    # The page's parent only: not "Newsroom" (the home page again) nor the page itself.
    assert items == ["Home"]
    assert '<a class="nhsuk-back-link" href="/">' in trail  # what a phone shows instead


def test_card_shows_every_way_to_reach_the_office(client, db):
    eps = factories.programme(name="Electronic Prescription Service (EPS)", slug="eps")
    contact(
        name="EPS press desk",
        remit="Prescriptions",
        phone="0113 397 4000",
        out_of_hours_phone="07911 123456",
        email="eps.press@example.nhs.uk",
        website="https://example.nhs.uk/press",
        programmes=[eps],
    )
    html = main(client.get("/contacts/").content.decode())
    assert '<a href="tel:+44-113-397-4000">0113 397 4000</a>' in html
    assert "Out of hours</dt>" in html
    assert '<a href="tel:+44-7911-123456">07911 123456</a>' in html
    assert '<a href="mailto:eps.press@example.nhs.uk">eps.press@example.nhs.uk</a>' in html
    assert '<a href="https://example.nhs.uk/press">' in html
    assert "Programmes</dt>" in html and "Electronic Prescription Service (EPS)</dd>" in html


def test_numbers_abroad_are_shown_in_international_format(client, db):
    contact(name="New York bureau", phone="+1 212 555 2368")
    html = client.get("/contacts/").content.decode()
    assert '<a href="tel:+1-212-555-2368">+1 212-555-2368</a>' in html


def test_text_search_finds_office_organisation_and_programme(client, seed_release):
    def names(q):
        return card_names(main(client.get("/contacts/", {"q": q}).content.decode()))

    assert names("department of health") == ["Department of Health press office"]
    assert names("prescription") == ["NHS CFH press office"], "programme names are searched, once each"
    assert names("EPS") == ["NHS CFH press office"], "short names too"
    assert names("zebra") == []
    assert "No media contacts match your search." in client.get("/contacts/?q=zebra").content.decode()


def test_filter_by_organisation_and_combined_filters(client, seed_release):
    html = main(client.get("/contacts/", {"organisation": "Department of Health"}).content.decode())
    assert card_names(html) == ["Department of Health press office"]
    both = client.get("/contacts/", {"organisation": "Department of Health", "programme": "eps"})
    assert card_names(main(both.content.decode())) == []


def test_bad_filter_values_are_explained_not_a_500(client, seed_release):
    response = client.get("/contacts/", {"programme": "no-such-programme", "organisation": "Nobody"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "There is a problem with your search" in html
    assert "Programme: Select a valid choice." in html
    assert "Organisation: Select a valid choice. Nobody is not one of the available choices." in html


def test_hidden_contacts_and_programmes_stay_hidden(client, seed_release):
    MediaContact.objects.filter(slug="department-of-health-press-office").update(is_active=False)
    Programme.objects.filter(slug="pacs").update(is_active=False)
    html = client.get("/contacts/").content.decode()
    assert "Department of Health press office" not in html
    assert "Picture Archiving" not in html
    assert client.get("/contacts/department-of-health-press-office.vcf").status_code == 404
    assert len(parse_vcards(client.get("/contacts/all.vcf"))) == 3


def test_directory_runs_a_fixed_number_of_queries(client, seed_release, django_assert_max_num_queries):
    programmes = list(Programme.objects.all())
    for n in range(20):
        contact(slug=f"extra-{n}", organisation=f"Trust {n % 4}", programmes=programmes[: n % 5])
    with django_assert_max_num_queries(4):
        response = client.get("/contacts/", {"q": "office"})
    assert response.status_code == 200
    with django_assert_max_num_queries(4):
        client.get("/contacts/")
    with django_assert_max_num_queries(2):
        client.get("/contacts/all.vcf")


# vCards ----------------------------------------------------------------------


def test_all_vcf_holds_every_contact_and_follows_the_filters(client, seed_release):
    cards = parse_vcards(client.get("/contacts/all.vcf"))
    assert [card.fn.value for card in cards] == [
        "NHS CFH press office",
        "Other NHS CFH enquiries",
        "Department of Health press office",
        "NHS trusts and organisations",
    ]
    assert len({card.uid.value for card in cards}) == 4
    assert [c.fn.value for c in parse_vcards(client.get("/contacts/all.vcf?programme=eps"))] == [
        "NHS CFH press office"
    ]
    page = client.get("/contacts/?programme=eps").content.decode()
    assert 'href="/contacts/all.vcf?programme=eps" download>Save the 1 contact found' in page


def test_vcard_escapes_folds_and_round_trips_awkward_text(client, db):
    awkward = "Press office; North, East & \\ West — Ynys Môn"
    note = "Weekday calls only; urgent, out-of-hours: use the pager. " * 3 + "Diolch – ☎"
    contact(
        slug="awkward",
        name=awkward,
        organisation="Betsi Cadwaladr; University, Health Board",
        note=note,
        phone="020 7004 1555",
        out_of_hours_phone="07911 123456",
        email="press@example.org",
        website="https://example.org/press?office=north",
        last_verified=dt.date(2026, 1, 31),
    )
    response = client.get("/contacts/awkward.vcf")
    (card,) = parse_vcards(response)
    raw = response.content.decode()
    assert "FN:Press office\\; North\\, East & \\\\ West — Ynys Môn\r\n" in raw
    assert card.fn.value == awkward
    assert card.note.value.endswith(note)
    assert card.org.value == ["Betsi Cadwaladr; University, Health Board"]
    assert [tel.value for tel in card.tel_list] == ["+44 20 7004 1555", "+44 7911 123456"]
    assert card.contents["x-ablabel"][0].value == "Out of hours"
    assert card.email.value == "press@example.org"
    assert card.url.value == "https://example.org/press?office=north"
    assert card.rev.value == "2026-01-31"
    assert card.version.value == "3.0"


def test_fold_never_splits_a_character_and_keeps_lines_within_75_octets():
    line = "NOTE:" + "é" * 100 + "☎" * 40
    folded = vcard.fold(line)
    parts = folded.split("\r\n")
    assert all(len(part.encode()) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert folded.replace("\r\n ", "") == line
    assert vcard.fold("FN:short") == "FN:short"
    exactly = "X" * 75
    assert vcard.fold(exactly) == exactly
    assert vcard.fold(exactly + "Y") == exactly + "\r\n Y"


def test_escape_handles_backslash_first():
    assert vcard.escape("a\\b,c;d\ne") == "a\\\\b\\,c\\;d\\ne"


# The release page ---------------------------------------------------------------


def test_release_page_names_the_responsible_office(client, seed_release):
    html = client.get("/statistics/2010-03-03/").content.decode()
    assert (
        'Responsible: <a href="/contacts/#nhs-cfh-press-office">NHS CFH press office</a>, '
        '<a href="tel:+44-20-7004-1555">020 7004 1555</a>' in html
    )
    MediaContact.objects.filter(slug="nhs-cfh-press-office").update(is_active=False)
    assert "Responsible:" not in client.get("/statistics/2010-03-03/").content.decode()


def test_release_media_contacts_use_the_contact_card(client, seed_release):
    html = client.get("/statistics/2010-03-03/").content.decode()
    block = html[html.index('id="media-contacts-heading"') :]
    assert card_names(block) == [
        "NHS CFH press office",
        "Other NHS CFH enquiries",
        "Department of Health press office",
        "NHS trusts and organisations",
    ]
    assert 'href="/contacts/department-of-health-press-office.vcf"' in block
    assert '<a href="/contacts/">All media contacts</a>' in block


def checked_on(html: str) -> list[str]:
    """The "details checked on" line of each contact card, in order."""
    return [
        " ".join(re.sub(r"<[^>]+>", " ", line).split())
        for line in re.findall(r'<p class="[^"]*newsroom-contact-checked[^"]*">(.*?)</p>', html, re.S)
    ]


def test_readers_see_when_each_contact_s_details_were_last_checked(client, seed_release):
    """On the directory, on the release page's media contacts and in each vCard (REV)."""
    seeded = "Details checked on 3 March 2010"
    directory = main(client.get("/contacts/").content.decode())
    assert checked_on(directory) == [seeded] * 4
    assert '<time datetime="2010-03-03">3 March 2010</time>' in directory
    release = client.get("/statistics/2010-03-03/").content.decode()
    assert checked_on(release[release.index('id="media-contacts-heading"') :]) == [seeded] * 4
    assert checked_on(client.get("/statistics/programmes/eps/").content.decode()) == [seeded]
    assert {card.rev.value for card in parse_vcards(client.get("/contacts/all.vcf"))} == {"2010-03-03"}

    # Checked again: the new day; never checked: nothing claimed.
    MediaContact.objects.filter(slug="nhs-cfh-press-office").update(last_verified=dt.date(2026, 1, 31))
    MediaContact.objects.filter(slug="nhs-trusts-and-organisations").update(last_verified=None)
    lines = checked_on(main(client.get("/contacts/").content.decode()))
    assert lines == ["Details checked on 31 January 2026", seeded, seeded]


def programme_section(html: str, slug: str) -> str:
    """The release page's <section> for one programme."""
    start = html.index(f'<section aria-labelledby="programme-{slug}"')
    return html[start : html.index("</section>", start)]


@pytest.fixture
def eps_desk(seed_release):
    """A second office for EPS only, listed after the NHS CFH press office, and a hidden one."""
    eps = Programme.objects.get(slug="eps")
    contact(slug="hidden-eps-desk", name="Old EPS desk", is_active=False, programmes=[eps])
    return contact(
        slug="eps-press-desk",
        name="EPS press desk",
        remit="Prescriptions",
        phone="0113 397 4000",
        out_of_hours_phone="07911 123456",
        email="eps.press@example.nhs.uk",
        display_order=50,
        programmes=[eps],
    )


def test_release_sections_name_each_programmes_own_contacts(client, eps_desk):
    Programme.objects.get(slug="n3").media_contacts.clear()
    html = client.get("/statistics/2010-03-03/").content.decode()

    eps = text_of(programme_section(html, "eps"))
    assert (
        "Media enquiries: NHS CFH press office (Systems & Services), 020 7004 1555 "
        "EPS press desk (Prescriptions), 0113 397 4000, out of hours 07911 123456, "
        "eps.press@example.nhs.uk" in eps
    )
    # Named in each programme's section as text; their links (phone, email, vCard) once, in the
    # release's one media contacts block, so the keyboard is not taken through them eight times.
    section = programme_section(html, "eps")
    assert "<a " not in section[section.index("Media enquiries") :]
    block = html[html.index('id="media-contacts-heading"') :]
    assert '<a href="tel:+44-113-397-4000">0113 397 4000</a>' in block
    assert '<a href="mailto:eps.press@example.nhs.uk">' in block
    assert 'href="/contacts/eps-press-desk.vcf" download' in block
    assert 'id="contact-eps-press-desk"' in block
    assert "Old EPS desk" not in html

    choose_and_book = text_of(programme_section(html, "choose-and-book"))
    assert "Media enquiries: NHS CFH press office (Systems & Services), 020 7004 1555" in choose_and_book
    assert "EPS press desk" not in choose_and_book
    assert "Media enquiries" not in programme_section(html, "n3")


def test_programme_page_shows_the_offices_covering_it(client, eps_desk):
    html = client.get("/statistics/programmes/eps/").content.decode()
    lede = text_of(html[html.index("<h1") : html.index("Each measure")])
    assert "Media enquiries: NHS CFH press office (Systems & Services), 020 7004 1555" in lede
    assert "EPS press desk (Prescriptions), 0113 397 4000, out of hours 07911 123456" in lede
    block = html[html.index('id="media-contacts-heading"') :]
    assert card_names(block) == ["NHS CFH press office", "EPS press desk"]
    assert '<a href="tel:+44-7911-123456">07911 123456</a>' in block
    assert 'href="/contacts/eps-press-desk.vcf"' in block
    assert "Department of Health press office" not in html
    assert "Old EPS desk" not in html

    Programme.objects.get(slug="n3").media_contacts.clear()
    n3 = client.get("/statistics/programmes/n3/").content.decode()
    assert "Media enquiries" not in n3
    assert 'id="media-contacts-heading"' not in n3


def test_section_contacts_cost_the_same_queries_however_many_sections(
    seed_release, django_assert_max_num_queries
):
    later = factories.release(dt.date(2010, 3, 10), public=True)
    factories.statement(later, Programme.objects.get(slug="eps"), "One bullet.")
    with django_assert_max_num_queries(99) as one_section:
        document = build_release_document(later)
    assert [section.programme_slug for section in document.sections] == ["eps"]
    programmes = list(Programme.objects.all())
    for n in range(6):
        contact(slug=f"extra-{n}", display_order=100 + n, programmes=programmes[n : n + 3])

    with django_assert_max_num_queries(len(one_section.captured_queries)):
        document = build_release_document(seed_release)
    sections = {section.programme_slug: section for section in document.sections}
    assert len(sections) == 8
    assert [c.name for c in sections["choose-and-book"].contacts] == ["NHS CFH press office", "Extra 0"]
    gp2gp = [c.name for c in sections["gp2gp"].contacts]
    assert gp2gp == ["NHS CFH press office", "Extra 0", "Extra 1", "Extra 2"]


def text_of(html: str) -> str:
    """Visible text: tags stripped, whitespace squashed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split()).replace(" ,", ",")


# QuerySet -----------------------------------------------------------------------


def test_for_programme_and_by_programme(db, django_assert_num_queries):
    eps, n3 = factories.programme(), factories.programme()
    both = contact(slug="both", display_order=1, programmes=[eps, n3])
    only_eps = contact(slug="only-eps", display_order=2, programmes=[eps])
    contact(slug="hidden", is_active=False, programmes=[eps])
    contact(slug="general")
    assert list(MediaContact.objects.active().for_programme(eps)) == [both, only_eps]
    assert list(MediaContact.objects.active().for_programme(n3.pk)) == [both]
    with django_assert_num_queries(2):
        grouped = MediaContact.objects.active().by_programme()
    assert grouped == {eps.pk: [both, only_eps], n3.pk: [both]}


def test_six_months_is_calendar_months(db):
    assert months_before(dt.date(2026, 8, 31), 6) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 3, 15), 6) == dt.date(2025, 9, 15)
    today = timezone.localdate()
    due = contact(slug="due", last_verified=months_before(today, 6))
    fresh = contact(slug="fresh", last_verified=months_before(today, 6) + dt.timedelta(days=1))
    never = contact(slug="never")
    assert set(MediaContact.objects.needs_verifying()) == {due, never}
    assert due.needs_verifying and never.needs_verifying and not fresh.needs_verifying


# Admin --------------------------------------------------------------------------


def change_url(obj):
    return reverse("admin:contacts_mediacontact_change", args=[obj.pk])


@pytest.mark.parametrize("field", ["phone", "out_of_hours_phone"])
def test_admin_refuses_an_invalid_phone_number_with_a_clear_message(admin_client, seed_release, field):
    press = MediaContact.objects.get(slug="nhs-cfh-press-office")
    data = admin_change_data(admin_client.get(change_url(press)))
    data[field] = "0207 004 155"
    response = admin_client.post(change_url(press), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors[field] == [
        "Enter a phone number that can be dialled: type a UK number as dialled, e.g. 020 7004 1555, "
        "or an international number starting with +."
    ]
    assert "Enter a phone number that can be dialled" in response.content.decode()
    press.refresh_from_db()
    assert press.phone.as_national == "020 7004 1555"


def test_admin_stores_a_number_as_typed_in_standard_form(admin_client, seed_release):
    press = MediaContact.objects.get(slug="nhs-cfh-press-office")
    page = admin_client.get(change_url(press))
    assert 'value="020 7004 1555"' in page.content.decode(), "press officers see the national format"
    data = admin_change_data(page)
    data["out_of_hours_phone"] = "07911-123 456"
    response = admin_client.post(change_url(press), data)
    assert response.status_code == 302
    press.refresh_from_db()
    assert press.out_of_hours_phone.as_e164 == "+447911123456"


def test_admin_refuses_the_reserved_slug_all(admin_client, seed_release):
    press = MediaContact.objects.get(slug="nhs-cfh-press-office")
    data = admin_change_data(admin_client.get(change_url(press)))
    data["slug"] = "all"
    response = admin_client.post(change_url(press), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["slug"] == [
        "“all” is used by the directory itself; choose another web address."
    ]


def test_admin_flags_contacts_not_verified_for_six_months(admin_client, db):
    today = timezone.localdate()
    contact(
        slug="stale", name="Stale office", phone="+442070041555", last_verified=today - dt.timedelta(days=200)
    )
    contact(slug="fresh", name="Fresh office", last_verified=today - dt.timedelta(days=10))
    contact(slug="never", name="Never office")
    url = reverse("admin:contacts_mediacontact_changelist")
    html = admin_client.get(url).content.decode()
    assert html.count("Over six months ago: check now") == 1
    assert html.count("Never verified: check now") == 1
    assert '<td class="field-phone_number">020 7004 1555</td>' in html
    due = admin_client.get(url, {"verification": "due"}).content.decode()
    assert "Stale office" in due and "Never office" in due and "Fresh office" not in due


def test_admin_marks_contacts_verified_in_bulk_and_keeps_history(admin_client, db):
    stale = contact(slug="stale", last_verified=dt.date(2020, 1, 1))
    never = contact(slug="never")
    fresh = contact(slug="fresh", last_verified=dt.date(2020, 1, 1))
    url = reverse("admin:contacts_mediacontact_changelist")
    response = admin_client.post(
        url, {"action": "mark_verified", "_selected_action": [stale.pk, never.pk]}, follow=True
    )
    today = timezone.localdate()
    assert f"2 contacts marked as verified on {today:%-d %B %Y}." in response.content.decode()
    assert set(MediaContact.objects.filter(last_verified=today)) == {stale, never}
    fresh.refresh_from_db()
    assert fresh.last_verified == dt.date(2020, 1, 1)
    latest = stale.history.first()
    assert latest.history_change_reason == "Marked as verified"
    assert latest.history_user.username == "boss"


# Import and export ------------------------------------------------------------


def test_export_gives_readable_numbers_and_programme_slugs(seed_release):
    dataset = MediaContactResource().export()
    rows = {row["slug"]: row for row in dataset.dict}
    press = rows["nhs-cfh-press-office"]
    assert press["phone"] == "020 7004 1555"
    assert press["programmes"].split(",")[:2] == ["choose-and-book", "eps"]
    assert press["remit"] == "Systems & Services"


def test_export_neutralises_formula_like_text_and_import_restores_it(seed_release):
    contact(slug="formula", name="=HYPERLINK(1)", phone="+1 212 555 2368")
    row = next(r for r in MediaContactResource().export().dict if r["slug"] == "formula")
    assert row["name"] == "'=HYPERLINK(1)"
    assert row["phone"] == "'+1 212-555-2368"
    MediaContact.objects.filter(slug="formula").update(name="changed")
    dataset = tablib.Dataset(headers=list(row))
    dataset.append(list(row.values()))
    result = MediaContactResource().import_data(dataset, dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    restored = MediaContact.objects.get(slug="formula")
    assert restored.name == "=HYPERLINK(1)"
    assert restored.phone.as_e164 == "+12125552368"


def dataset_of(**row) -> tablib.Dataset:
    row = {"slug": "new-office", "name": "New office", "organisation": "NHS England", **row}
    dataset = tablib.Dataset(headers=list(row))
    dataset.append(list(row.values()))
    return dataset


def test_import_creates_a_contact_from_a_spreadsheet_row(seed_release):
    dataset = dataset_of(
        phone=2070041555, programmes="eps, n3", last_verified="2026-01-02", is_active="1", display_order=5
    )
    result = MediaContactResource().import_data(dataset, dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    new = MediaContact.objects.get(slug="new-office")
    assert new.phone.as_national == "020 7004 1555", "a spreadsheet that dropped the leading 0 still works"
    assert sorted(new.programmes.values_list("slug", flat=True)) == ["eps", "n3"]
    assert new.last_verified == dt.date(2026, 1, 2)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"phone": "0207 004 155"}, "“0207 004 155” is not a phone number that can be dialled"),
        ({"programmes": "eps,epz"}, "No programme has the slug epz; use one of:"),
        ({"slug": "all"}, "“all” is used by the directory itself"),
        ({"email": "not-an-email"}, "Enter a valid email address."),
    ],
)
def test_import_refuses_bad_rows_naming_the_problem(seed_release, row, message):
    result = MediaContactResource().import_data(dataset_of(**row), dry_run=True)
    assert result.has_validation_errors()
    errors = [str(e) for invalid in result.invalid_rows for e in invalid.error_dict.values()]
    assert any(message in error for error in errors), errors
    assert not MediaContact.objects.filter(name="New office").exists()


def test_import_refuses_an_unknown_column(seed_release):
    dataset = dataset_of(telephone="020 7004 1555")
    result = MediaContactResource().import_data(dataset, dry_run=True)
    assert result.has_errors()
    assert "The header row has unknown column(s) telephone." in str(result.base_errors[0].error)


def test_admin_import_previews_then_confirms(admin_client, seed_release):
    csv = "slug,name,organisation,phone,programmes\r\nnew-office,New office,NHS England,0113 397 4000,eps\r\n"
    url = reverse("admin:contacts_mediacontact_import")
    upload = SimpleUploadedFile("contacts.csv", csv.encode(), content_type="text/csv")
    preview = admin_client.post(url, {"format": "0", "import_file": upload})
    assert preview.status_code == 200
    assert "New office" in preview.content.decode()
    confirm = page_form_data(preview.content.decode(), containing="import_file_name")
    response = admin_client.post(reverse("admin:contacts_mediacontact_process_import"), confirm, follow=True)
    assert response.status_code == 200
    new = MediaContact.objects.get(slug="new-office")
    assert new.phone.as_national == "0113 397 4000"
    assert list(new.programmes.values_list("slug", flat=True)) == ["eps"]


def test_import_needs_add_and_change_permission(client, db, django_user_model):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", password="pass-word-123", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_mediacontact"))
    client.force_login(clerk)
    assert client.get(reverse("admin:contacts_mediacontact_import")).status_code == 403
    assert client.get(reverse("admin:contacts_mediacontact_export")).status_code == 200


def admin_import(client, body: bytes, name="contacts.csv"):
    upload = SimpleUploadedFile(name, body, content_type="text/csv")
    return client.post(reverse("admin:contacts_mediacontact_import"), {"format": "0", "import_file": upload})


def contact_rows():
    return sorted(MediaContact.objects.values_list("slug", "name", "is_active", "display_order"))


HEAD = "slug,name,organisation,phone,display_order,is_active\r\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            HEAD + "new-office,New office,NHS England,,1,maybe\r\n",
            "Row 2, column “is_active”: “maybe” is not yes or no.",  # was read as "no": the contact hidden
        ),
        (
            HEAD + "new-office,New office,NHS England,,first,1\r\n",
            "Row 2, column “display_order”: “first” is not a whole number.",  # was decimal.ConversionSyntax
        ),
        (
            HEAD + "new-office,New office,NHS England,,1,1\r\nnew-office,Other office,NHS England,,2,1\r\n",
            "Row 3: the slug “new-office” is already given in row 2. Keep one of the two rows.",
        ),
        (
            HEAD
            + "new-office,New office,NHS England,,1,1\r\n"
            + "x" * 5000
            + ",Old\x00office,NHS England,,2,1\r\n",
            "Row 3, column “name”: the cell holds a null character (\\x00), which is not text.",
        ),
    ],
    ids=["yes-or-no", "order", "duplicate-slug", "null-character"],
)
def test_admin_import_refuses_bad_cells_by_row_and_column(admin_client, seed_release, body, message):
    before = contact_rows()
    response = admin_import(admin_client, body.encode())
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert message in html and "Traceback" not in html
    assert response.context.get("confirm_form") is None
    assert contact_rows() == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            (HEAD + "new-office,Café office,NHS England,,1,1\r\n").encode("utf-16-le"),
            "is not a spreadsheet or a text file.",
        ),
        (b"PK\x03\x04 a workbook saved as .csv", "is named as a CSV file but is an Excel workbook (.xlsx)."),
    ],
    ids=["utf-16-without-bom", "workbook-named-csv"],
)
def test_admin_import_says_in_plain_english_why_a_file_cannot_be_read(
    admin_client, seed_release, body, message
):
    response = admin_import(admin_client, body)
    html = unescape(response.content.decode())
    assert message in html
    assert "encountered while trying to read file" not in html  # the library's "'UnicodeDecodeError' …"


def test_admin_import_with_an_empty_yes_or_no_keeps_the_contact_active(admin_client, seed_release):
    response = admin_import(admin_client, (HEAD + "new-office,New office,NHS England,,1,\r\n").encode())
    assert response.context["confirm_form"] is not None  # was "“None” value must be either True or False."
    confirmed = admin_client.post(
        reverse("admin:contacts_mediacontact_process_import"),
        page_form_data(response.content.decode(), containing="import_file_name"),
    )
    assert confirmed.status_code == 302
    assert MediaContact.objects.get(slug="new-office").is_active


def test_admin_refuses_a_verification_date_in_the_future(admin_client, seed_release):
    press = MediaContact.objects.get(slug="nhs-cfh-press-office")
    data = admin_change_data(admin_client.get(change_url(press)))
    data["last_verified"] = "9999-12-31"  # would never come due for checking again
    response = admin_client.post(change_url(press), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["last_verified"] == [
        "31 December 9999 is in the future: give the day the details were checked."
    ]
