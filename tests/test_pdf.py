import datetime as dt
import io
import re
import time
from decimal import Decimal
from html import unescape

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from pypdf import PdfReader

from stats.demo.history import generate_history
from stats.models import Correction, Figure, Programme, Release
from stats.outputs import pdf
from stats.outputs.charts import Point
from stats.outputs.pdfs import build_release_pdf, size_label
from stats.selectors import build_release_document

from . import factories
from .test_seed import SEED_BULLETS


def reader(content: bytes) -> PdfReader:
    assert content.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(content))


def flat(text: str) -> str:
    """Text with line breaks and runs of spaces folded, as a reader reads it."""
    return " ".join(text.split())


def pdf_text(content: bytes) -> str:
    return flat(" ".join(page.extract_text() for page in reader(content).pages))


def layout_lines(content: bytes) -> list[str]:
    lines = []
    for page in reader(content).pages:
        lines.extend(flat(line) for line in page.extract_text(extraction_mode="layout").splitlines())
    return lines


def get_pdf(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/pdf"
    return response.content


@pytest.fixture
def with_history(seed_release):
    """The seed release with 13 published weeks before it, so trends and changes exist."""
    generate_history(weeks=13)
    return seed_release


def test_release_pdf_carries_every_seed_bullet_word_for_word(client, seed_release):
    content = get_pdf(client, "/statistics/2010-03-03.pdf")
    text = pdf_text(content)
    for heading, bullets in SEED_BULLETS.items():
        assert heading in text
        for bullet in bullets:
            assert flat(bullet) in text
    assert "NHS Connecting for Health deployment statistics (for w/c 3 March 2010)" in text
    assert "Reporting period: w/c 3 March 2010" in text
    assert "Published: 3 March 2010, 09:30 GMT" in text
    assert "Responsible: NHS CFH press office, 020 7004 1555" in text
    assert "Media contacts" in text
    assert "NHS CFH press office" in text
    assert "020 7004 1555" in text


def test_page_pdf_and_figures_carry_the_same_numbers(client, with_history):
    document = build_release_document(with_history)
    html = client.get("/statistics/2010-03-03/").content.decode()
    article = html[html.index("<article") : html.index("</article>")]
    article = re.sub(r"<svg\b.*?</svg>", " ", article, flags=re.S)  # chart text is drawn, not read
    # File sizes in the download list describe the files, not the statistics.
    article = re.sub(r"<section[^>]*newsroom-downloads.*?</section>", " ", article, flags=re.S)
    # The citation describes the page itself (its address and version), which the PDF need not repeat.
    article = re.sub(r"<section[^>]*newsroom-cite.*?</section>", " ", article, flags=re.S)
    page = flat(unescape(re.sub(r"<[^>]+>", " ", article)))
    content = get_pdf(client, "/statistics/2010-03-03.pdf")
    text = pdf_text(content)
    lines = layout_lines(content)

    for section in document.sections:
        for bullet in section.bullets:
            assert flat(bullet) in page
            assert flat(bullet) in text
        for row in section.figures:
            assert row.previous is not None and row.change
            # The table row reads as the page's: measure, figure, change; the figure as the page
            # states it, a bound with its words and its exact figure ("more than 22 million
            # (22,725,621)"), on one line.
            assert any(
                line.startswith(row.metric_name.split()[0]) and f"{row.display} {row.change}" in line
                for line in lines
            ), row.metric_name
    # Every number the page shows is in the PDF, and every figure's exact value is too.
    for number in re.findall(r"\d[\d,]*(?:\.\d+)?%?", page):
        assert number in text, number
    for row in document.figures:
        assert row.display in text


def test_pdf_table_shows_the_change_since_the_previous_release(client, with_history):
    figure = Figure.objects.get(release=with_history, metric__slug="eps-messages-total")
    previous = Figure.objects.get(
        release__period_date=dt.date(2010, 2, 24), metric__slug="eps-messages-total"
    )
    lines = layout_lines(get_pdf(client, "/statistics/2010-03-03.pdf"))
    difference = figure.value - previous.value
    # The measure's name wraps within its cell; the figure and the change are on its first line.
    assert any(line.startswith(f"Prescription messages 306,774,292 +{difference:,.0f}") for line in lines)
    assert "Compared with: the release for w/c 24 February 2010" in pdf_text(
        get_pdf(client, "/statistics/2010-03-03.pdf")
    )


def test_trend_chart_is_the_web_drawing_with_embedded_fonts(client, with_history):
    content = get_pdf(client, "/statistics/2010-03-03.pdf")
    text = pdf_text(content)
    # Chart titles and axis labels are text in the PDF, in the embedded font.
    assert "Prescription messages transmitted, last 12 releases" in text
    assert "Reporting period" in text
    assert "16 Dec 2009" in text  # first of the last 12 weekly releases
    fonts = embedded_fonts(content)
    assert fonts and all("BitstreamVera" in name for name in fonts)


def embedded_fonts(content: bytes) -> set[str]:
    """Every font a page or form uses; fails if one has no embedded font file."""
    names = set()

    def visit(resources):
        fonts = resources.get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert descriptor is not None, f"{font['/BaseFont']} is not embedded"
            descriptor = descriptor.get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
            names.add(str(font["/BaseFont"]))
        for xobject in resources.get("/XObject", {}).values():
            xobject = xobject.get_object()
            if "/Resources" in xobject:
                visit(xobject["/Resources"])

    for page in reader(content).pages:
        visit(page["/Resources"])
    return names


def test_every_font_is_embedded_in_both_pdfs(client, with_history):
    for url in ("/statistics/2010-03-03.pdf", "/statistics/programmes/eps.pdf"):
        fonts = embedded_fonts(get_pdf(client, url))
        assert fonts == {"/AAAAAA+BitstreamVeraSans-Roman", "/AAAAAA+BitstreamVeraSans-Bold"}, url


def test_metadata_outline_and_page_numbers(client, seed_release):
    content = get_pdf(client, "/statistics/2010-03-03.pdf")
    document = reader(content)
    assert document.metadata.title == "NHS Connecting for Health deployment statistics (for w/c 3 March 2010)"
    assert document.metadata.author == "NHS Connecting for Health"
    assert document.metadata.subject == "Deployment statistics for w/c 3 March 2010"
    root = document.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert root["/ViewerPreferences"]["/DisplayDocTitle"] == True  # noqa: E712 - a PDF boolean
    assert "/MarkInfo" not in root  # untagged: no accessibility claim is made
    pages = len(document.pages)
    assert pages >= 3
    for number, page in enumerate(document.pages, start=1):
        assert f"Page {number} of {pages}" in flat(page.extract_text())

    def titles(outline):
        for entry in outline:
            yield from titles(entry) if isinstance(entry, list) else [entry.title]

    assert list(titles(document.outline)) == [
        "NHS Connecting for Health deployment statistics (for w/c 3 March 2010)",
        *SEED_BULLETS.keys(),
        "About these statistics",
        "Media contacts",
    ]
    # Each programme's bookmark opens the page its heading is on.
    eps = next(e for e in document.outline[1] if e.title == "Electronic Prescription Service (EPS)")
    eps_page = document.get_destination_page_number(eps)
    assert "Electronic Prescription Service (EPS)" in document.pages[eps_page].extract_text()


def test_invariant_mode_gives_identical_bytes(seed_release):
    visible = Release.objects.public()
    first = build_release_pdf(seed_release, visible=visible, url="https://example.org/x/", invariant=True)
    second = build_release_pdf(seed_release, visible=visible, url="https://example.org/x/", invariant=True)
    assert first == second
    assert b"ReportLab" in first


def test_unknown_hidden_and_impossible_releases_are_404(client, seed_release):
    assert client.get("/statistics/2010-03-04.pdf").status_code == 404
    assert client.get("/statistics/2010-02-31.pdf").status_code == 404
    Release.objects.create(period_date=dt.date(2010, 3, 10))
    Release.objects.create(
        period_date=dt.date(2010, 3, 17),
        status=Release.Status.SCHEDULED,
        publish_at=timezone.now() + dt.timedelta(days=1),
    )
    assert client.get("/statistics/2010-03-10.pdf").status_code == 404
    assert client.get("/statistics/2010-03-17.pdf").status_code == 404
    assert client.get("/statistics/programmes/no-such-programme.pdf").status_code == 404


def test_embargoed_release_is_not_compared_with_or_charted(client, seed_release):
    generate_history(weeks=2)
    embargoed = Release.objects.get(period_date=dt.date(2010, 2, 24))
    embargoed.status, embargoed.publish_at = Release.Status.SCHEDULED, timezone.now() + dt.timedelta(days=1)
    embargoed.save()
    text = pdf_text(get_pdf(client, "/statistics/2010-03-03.pdf"))
    assert "Compared with: the release for w/c 17 February 2010" in text
    assert "24 February 2010" not in text


def test_cached_pdf_is_served_without_rebuilding_until_the_release_changes(
    client, seed_release, django_assert_max_num_queries
):
    first = client.get("/statistics/2010-03-03.pdf")
    with django_assert_max_num_queries(1):  # the release lookup only
        second = client.get("/statistics/2010-03-03.pdf")
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert second["Cache-Control"] == "public, max-age=300, s-maxage=300"
    assert client.get("/statistics/2010-03-03.pdf", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    # A correction: the figure changes, the release is saved (new version), a notice is added.
    figure = Figure.objects.get(release=seed_release, metric__slug="eps-messages-total")
    figure.value = Decimal(306_774_999)
    figure.save()
    Correction.objects.create(
        release=seed_release,
        figure=figure,
        subject="Prescription messages transmitted",
        old_value="306,774,292",
        new_value="306,774,999",
        reason="A supplier re-sent a late batch.",
    )
    seed_release.version += 1
    seed_release.save()
    corrected = client.get("/statistics/2010-03-03.pdf")
    assert corrected["ETag"] != first["ETag"]
    text = pdf_text(corrected.content)
    assert "306,774,999" in text
    assert (
        "This release has been corrected since it came out (1 correction): see “Corrections” after the "
        "figures." in text
    )
    assert "Was 306,774,292; now 306,774,999." in text
    assert "A supplier re-sent a late batch." in text


def test_the_release_page_shows_the_pdf_size_as_built_and_never_builds_one(client, seed_release):
    from django.core.cache import cache

    from stats.models import ReleaseFile

    page = client.get("/statistics/2010-03-03/").content.decode()
    assert "(PDF)</span>" in page  # no file built yet: the link says no size rather than build one
    assert not ReleaseFile.objects.exists()
    assert not [key for key in cache._cache if "statistics:pdf:" in key]  # the local cache's own keys

    content = get_pdf(client, "/statistics/2010-03-03.pdf")
    assert not ReleaseFile.objects.exists()  # a reader's download writes nothing
    from stats.publishing.warming import keep_what_readers_read

    assert keep_what_readers_read() == 1  # the worker's catch-up builds the files it lists
    page = client.get("/statistics/2010-03-03/").content.decode()
    assert f"(PDF, {round(len(content) / 1024)} KB)</span>" in page
    assert size_label(77_824) == "PDF, 76 KB"
    assert size_label(1_258_291) == "PDF, 1.2 MB"
    assert size_label(200) == "PDF, 200 bytes"


def test_approving_a_release_has_the_worker_build_its_files_before_it_comes_out(
    client, seed_release, press_officer, publisher, django_capture_on_commit_callbacks, settings
):
    import datetime as dt

    from django.utils import timezone
    from django_tasks import default_task_backend

    from stats.publishing import services

    draft = services.start_next_release(source=seed_release, by=press_officer)
    draft.figures.update(is_confirmed=True)
    services.submit_release(release=draft, by=press_officer, acknowledge_warnings=True)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # queued, not run
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_release(
            release=draft,
            by=publisher,
            publish_at=timezone.now().replace(microsecond=0) + dt.timedelta(seconds=2),
            acknowledge_warnings=True,
        )
    assert not draft.files.exists(), "the publisher's request builds no file"
    queued = [result for result in default_task_backend.results if result.task.name == "build_release_files"]
    assert [result.args for result in queued] == [[draft.pk]]
    assert "Built the csv, json, pdf, xlsx, zip of" in queued[0].task.call(*queued[0].args)  # the worker
    sizes = dict(draft.files.values_list("format", "size"))
    assert set(sizes) == {"pdf", "xlsx", "csv", "json", "zip"} and all(size > 0 for size in sizes.values())
    # The second it comes out, the PDF served is the one built at approval, and the page says its size.
    draft.refresh_from_db()
    time.sleep(max(0, (draft.publish_at - timezone.now()).total_seconds()) + 0.05)
    assert len(get_pdf(client, "/statistics/2010-03-10.pdf")) == sizes["pdf"]
    page = client.get("/statistics/2010-03-10/").content.decode()
    assert f"(PDF, {round(sizes['pdf'] / 1024)} KB)</span>" in page


def test_release_pdf_builds_in_a_fixed_number_of_queries(seed_release, django_assert_max_num_queries):
    visible = Release.objects.public()
    generate_history(weeks=1)
    with django_assert_max_num_queries(10) as small:
        build_release_pdf(seed_release, visible=visible)
    generate_history(weeks=30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        build_release_pdf(seed_release, visible=visible)


def test_programme_report_covers_the_archive_with_repeated_headers(client, with_history, settings):
    generate_history(weeks=60)  # 74 weekly releases in all
    content = get_pdf(client, "/statistics/programmes/eps.pdf")
    document = reader(content)
    text = pdf_text(content)
    assert "Electronic Prescription Service (EPS): deployment statistics over time" in text
    assert "Releases covered: 74" in text
    assert "Media contacts NHS CFH press office" in text  # the office that covers EPS
    assert document.metadata.author == "NHS Connecting for Health"
    metrics = [
        f.metric.name for f in Figure.objects.filter(release=with_history, metric__programme__slug="eps")
    ]
    outline = [entry.title for entry in document.outline[1]]
    assert outline == metrics
    # Every weekly value of the series is in a table.
    for figure in Figure.objects.filter(metric__slug="eps-messages-week"):
        assert f"{figure.value:,.0f}" in text
    # Long tables run over pages and repeat their header row on each.
    header = "Reporting period Figure Change"
    pages_with_header = [flat(p.extract_text(extraction_mode="layout")) for p in document.pages]
    assert sum(header in page for page in pages_with_header) > len(metrics)


def test_pdf_module_builds_from_plain_data_and_escapes_markup():
    summary = pdf.ReleaseSummary(
        heading="Figures <b>for</b> w/c 1 April 2010",
        period="w/c 1 April 2010",
        published="1 April 2010, 09:30",
        organisation="NHS Connecting for Health",
        sections=(
            pdf.ProgrammeSection(
                key="x",
                name="R&D <programme>",
                bullets=("Less than <5% & rising",),
                figures=(pdf.FigureLine(metric="Things", value="1,200", change="+100"),),
                chart=pdf.Chart(
                    title="Things",
                    points=(
                        Point(dt.date(2010, 3, 25), Decimal(1100)),
                        Point(dt.date(2010, 4, 1), Decimal(1200)),
                    ),
                ),
            ),
        ),
    )
    content = pdf.release_pdf(summary, invariant=True)
    text = pdf_text(content)
    assert "Figures <b>for</b> w/c 1 April 2010" in text
    assert "R&D <programme>" in text
    assert "Less than <5% & rising" in text
    assert content == pdf.release_pdf(summary, invariant=True)


def test_benchmark_command_reports_ratios_and_leaves_no_trace(seed_release):
    out = io.StringIO()
    call_command("benchmark_pdf", weeks=20, repeat=1, stdout=out)
    report = out.getvalue()
    assert re.search(r"Release PDF: [\d.]+ ms", report)
    assert re.search(r"HTML page: [\d.]+ ms", report)
    assert re.search(r"PDF / HTML: [\d.]+×", report)
    assert re.search(r"PDF response from the cache: [\d.]+ ms", report)
    assert re.search(r"Programme report \(eps, 21 releases\): [\d.]+ ms, \d+ pages", report)
    assert Release.objects.count() == 1


def test_staff_preview_a_draft_privately(admin_client, seed_release):
    draft = Release.objects.create(period_date=dt.date(2010, 3, 10))
    Figure.objects.create(
        release=draft,
        metric=Figure.objects.get(release=seed_release, metric__slug="n3-connections").metric,
        value=48_000,
    )
    assert Client().get("/statistics/2010-03-10.pdf").status_code == 404
    response = admin_client.get("/statistics/2010-03-10.pdf")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    text = pdf_text(response.content)
    assert "Preview: this release is not public yet. Do not share it." in text
    assert "Published: not yet published" in text
    assert "Compared with: the release for w/c 3 March 2010" in text
    assert "Connections to N3 48,000 +1,000 (+2.1%)" in pdf_text(response.content)
    # The public release, fetched by staff, is the public file.
    public = admin_client.get("/statistics/2010-03-03.pdf")
    assert public["Cache-Control"] == "public, max-age=300, s-maxage=300"
    assert "Preview" not in pdf_text(public.content)


def test_staff_pdf_preview_compares_with_the_releases_public_by_its_publish_time(admin_client, seed_release):
    """The preview PDF reads like the preview page: as the public will see it once it is out."""
    metric = Figure.objects.get(release=seed_release, metric__slug="n3-connections").metric
    soon = timezone.now() + dt.timedelta(hours=1)
    scheduled = Release.objects.create(
        period_date=dt.date(2010, 3, 10), status=Release.Status.SCHEDULED, publish_at=soon
    )
    Figure.objects.create(release=scheduled, metric=metric, value=48_000)
    draft = Release.objects.create(period_date=dt.date(2010, 3, 17), publish_at=soon + dt.timedelta(days=7))
    Figure.objects.create(release=draft, metric=metric, value=49_000)

    content = admin_client.get("/statistics/2010-03-17.pdf").content
    assert "Compared with: the release for w/c 10 March 2010" in pdf_text(content)
    assert "Connections to N3 49,000 +1,000" in " ".join(layout_lines(content))
    page = admin_client.get(f"/statistics/preview/{draft.pk}/").content.decode()
    assert "w/c 10 March 2010" in page


def test_programme_without_figures_still_gets_a_report(client, db):
    programme = factories.programme(name="Spine <beta> & co", slug="spine")
    factories.metric(programme, name="Connections", slug="spine-connections")
    text = pdf_text(get_pdf(client, "/statistics/programmes/spine.pdf"))
    assert "Spine <beta> & co: deployment statistics over time" in text
    assert "Releases covered: 0 (no releases yet)" in text
    assert "No figures yet." in text
    factories.programme(name="Retired", slug="retired", is_active=False)
    assert client.get("/statistics/programmes/retired.pdf").status_code == 404


DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@override_settings(CACHES=DEAD_REDIS)
def test_pdf_is_still_served_when_the_cache_is_down(client, seed_release):
    text = pdf_text(get_pdf(client, "/statistics/2010-03-03.pdf"))
    assert "306,774,292" in text


def test_a_corrected_figure_or_a_contact_edited_in_the_admin_rebuilds_the_pdf(
    client, transactional_db, django_user_model
):
    """Real commits: the public cache's generation moves, and the PDF follows the page."""
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from django.test import Client
    from django.urls import reverse

    from contacts.models import MediaContact
    from stats.demo.seed import load_seed
    from stats.publishing import services
    from tests.factories import make_groups
    from tests.forms import admin_change_data

    ContentType.objects.clear_cache()  # the tables were emptied and filled again since it was read
    release = load_seed()
    first = client.get("/statistics/2010-03-03.pdf")
    make_groups()
    publisher = django_user_model.objects.create_user("sam", "sam@example.org", is_staff=True)
    publisher.groups.add(Group.objects.get(name="Publishers"))
    figure = Figure.objects.get(release=release, metric__slug="gp2gp-transfers-week")
    services.correct_figure(figure=figure, by=publisher, value=Decimal(10_127), reason="A late batch.")
    editor = Client()
    editor.force_login(django_user_model.objects.create_superuser("boss", "boss@example.org", "pw-123-abc"))
    contact = MediaContact.objects.get(name="NHS CFH press office")
    change = reverse("admin:contacts_mediacontact_change", args=[contact.pk])
    data = admin_change_data(editor.get(change))
    data["name"] = "NHS CFH media office"
    assert editor.post(change, data).status_code == 302
    second = client.get("/statistics/2010-03-03.pdf")
    assert second["ETag"] != first["ETag"]
    text = pdf_text(second.content)
    assert "10,127 GP2GP transfers have been made this week" in text
    assert "NHS CFH media office" in text


@pytest.fixture
def eps_desk(seed_release):
    """An office for EPS only, with a number abroad, and a hidden one."""
    from contacts.models import MediaContact

    eps = Programme.objects.get(slug="eps")
    hidden = MediaContact.objects.create(
        name="Old EPS desk", slug="old-eps-desk", organisation="NHS CFH", is_active=False
    )
    hidden.programmes.set([eps])
    desk = MediaContact.objects.create(
        name="EPS desk",
        slug="eps-desk",
        organisation="NHS CFH",
        remit="Prescriptions & dispensing",
        phone="+1 212 555 2368",
        out_of_hours_phone="07911 123456",
        email="eps@example.org",
        display_order=50,
    )
    desk.programmes.set([eps])
    return desk


def test_release_pdf_names_each_programmes_contacts_in_its_section(client, eps_desk):
    text = pdf_text(get_pdf(client, "/statistics/2010-03-03.pdf"))
    cfh = "Media enquiries: NHS CFH press office (Systems & Services), telephone 020 7004 1555"
    assert text.count(cfh) == 8  # every programme's section
    eps_line = (
        f"{cfh}; EPS desk (Prescriptions & dispensing), telephone +1 212-555-2368, "
        "out of hours 07911 123456, eps@example.org."
    )
    assert eps_line in text
    # In the EPS section: after its bullets and before the next programme's heading.
    assert text.index("prescription messages have now been transmitted") < text.index(eps_line)
    assert text.index(eps_line) < text.index("GP2GP transfers have been made")
    assert text.count("Media enquiries: ") == 8
    assert text.count("EPS desk (Prescriptions") == 1  # no other programme's section
    assert "Old EPS desk" not in text


def test_programme_report_lists_only_the_programmes_offices_with_readable_numbers(client, eps_desk):
    text = pdf_text(get_pdf(client, "/statistics/programmes/eps.pdf"))
    contacts = text[text.index("Media contacts") :]
    assert "NHS CFH press office Systems & Services" in contacts
    assert "Telephone: 020 7004 1555" in contacts
    assert "EPS desk Prescriptions & dispensing" in contacts
    assert "Telephone: +1 212-555-2368" in contacts
    assert "Out of hours: 07911 123456" in contacts
    assert "Department of Health" not in text
    assert "Old EPS desk" not in text


def test_pdf_section_contacts_from_plain_data_escape_markup():
    summary = pdf.ReleaseSummary(
        heading="Figures",
        period="w/c 1 April 2010",
        published="",
        organisation="NHS Connecting for Health",
        sections=(
            pdf.ProgrammeSection(
                key="x",
                name="Spine",
                bullets=("One bullet.",),
                contacts=(
                    pdf.ContactCard(name="R&D <desk>", remit="<b>bold</b>", phone="020 7004 1555"),
                    pdf.ContactCard(name="Night desk", out_of_hours="07911 123456", email="n@example.org"),
                ),
            ),
        ),
    )
    text = pdf_text(pdf.release_pdf(summary, invariant=True))
    assert (
        "Media enquiries: R&D <desk> (<b>bold</b>), telephone 020 7004 1555; "
        "Night desk, out of hours 07911 123456, n@example.org." in text
    )


def test_the_pdf_says_when_each_media_contact_was_checked_as_the_page_does(client, seed_release):
    page = client.get("/statistics/2010-03-03/").content.decode()
    text = pdf_text(get_pdf(client, "/statistics/2010-03-03.pdf"))
    assert "Details checked on" in page and "Details checked on 3 March 2010" in text
