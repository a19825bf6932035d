import io
from datetime import date

import pytest
from django.core.management import call_command

from contacts.models import MediaContact
from stats.models import Figure, Metric, Programme, Release, Statement
from stats.selectors import build_release_document

# The seed page's bullets, in order, word for word ("buisness" and "network ."
# corrected).
SEED_BULLETS = {
    "Choose and Book": [
        "Over 20 million patients have been referred through Choose and Book, which improves "
        "choice and convenience for patients needing a hospital or clinic appointment",
        "More than 22 million bookings (22,725,621) have been made to date.",
        "Choose and Book has achieved over 37,000 bookings in a single day.",
        "Choose and Book is being used for around 58% of NHS referral activity from GP surgery "
        "to first outpatient appointment.",
        "Over 90% of all GP practices have used Choose and Book to refer their patients to "
        "hospital in the last week",
    ],
    "Electronic Prescription Service (EPS)": [
        "Over 300 million (306,774,292) prescription messages have now been transmitted electronically.",
        "7,950 GP practices have had technical upgrades to the new system. 6,821 of these "
        "practices are actively operating the Electronic Prescription Service (EPS).",
        "During the week 3,527,916 prescription messages were transmitted using the Electronic "
        "Prescription Service (EPS)",
        "7,094 (85%) GP Practices and 9,392 (87%) Pharmacies have gone live with EPS Release 1 systems.",
    ],
    "GP2GP Transfer": [
        "GP2GP has now been used for 1,022,140 medical record transfers.",
        "10,126 GP2GP transfers have been made this week (figure correct as of 26 Feb 2010).",
    ],
    "National Network for the NHS (N3)": [
        "Any NHS employee who requires access to National Programme services does so over the N3 network.",
        "N3 will save the NHS an estimated £900m over seven years, relative to previous NHSnet contracts.",
        "There are now more than 47,000 connections to N3 including approximately 11,000 "
        "delivered through aggregators (mostly pharmacies).",
        "100% of existing GP sites who require a connection have had this delivered.",
        "N3 is one of the largest Virtual Private Networks (VPN) in the world.",
        "The GP estate is consistently changing and these are classed as business as usual changes",
    ],
    "NHSmail": [
        "When migration is complete NHSmail will have over one million users - the largest "
        "private, fully-featured, secure, single-domain e-mail service in the world.",
        "The number of users registered for NHSmail, the national NHS email and directory "
        "service is increasing every week.",
        "There are now almost 500,000 registered users.",
        "NHS CFH staff have migrated to NHSmail.",
    ],
    "Picture Archiving and Communications System (PACS)": [
        "There are 127 Picture Archiving and Communications System (PACS) from NHS Connecting "
        "for Health now live across England.",
        "PACS has been fully deployed to all acute hospitals since December 2007 and the focus "
        "is now concentrated on image sharing between locations",
    ],
    "NHS Care Records Service": [
        "1,243,911 Summary Care Records have now been created on the Spine.",
        "There are 771,574 Smartcard holders who are registered and approved for access to the Spine.",
    ],
    "Deployment activity": [
        "There are approximately 1,700 visits to sites to plan deployments every month.",
        "200 NHS sites have systems upgraded every month under the National Programme for IT.",
    ],
}


def test_seed_release_renders_every_bullet_word_for_word(seed_release):
    document = build_release_document(seed_release)
    rendered = {section.programme_name: section.bullets for section in document.sections}
    assert rendered == SEED_BULLETS
    assert sum(len(bullets) for bullets in rendered.values()) == 27


def test_seed_numbers_are_figures_of_the_right_kind(seed_release):
    figures = {f.metric.slug: f for f in seed_release.figures.select_related("metric")}
    assert figures["eps-messages-total"].value == 306_774_292
    assert figures["eps-messages-total"].kind == Metric.Kind.TOTAL
    assert figures["eps-messages-week"].kind == Metric.Kind.PERIOD
    assert figures["cab-bookings-day-record"].kind == Metric.Kind.RECORD
    assert figures["eps-r1-pharmacies-percent"].kind == Metric.Kind.PERCENT
    assert figures["n3-estimated-savings"].kind == Metric.Kind.AMOUNT
    assert figures["crs-smartcard-holders"].kind == Metric.Kind.LEVEL
    assert figures["gp2gp-transfers-week"].as_of == date(2010, 2, 26)
    assert Programme.objects.count() == 8


def test_seed_release_is_public_and_has_contacts(seed_release):
    assert Release.objects.public().get() == seed_release
    press = MediaContact.objects.get(slug="nhs-cfh-press-office")
    assert press.phone.as_national == "020 7004 1555"
    assert press.remit == "Systems & Services"
    assert MediaContact.objects.get(slug="department-of-health-press-office").phone.as_national == (
        "020 7210 5221"
    )


def test_loaded_and_generated_releases_are_recorded_as_published_at_their_time(seed_release, admin_client):
    """Public by their time, and marked so: their admin pages never ask whether the worker is running."""
    from django.urls import reverse

    from stats.demo.history import generate_history

    assert seed_release.status == Release.Status.PUBLISHED
    assert seed_release.published_at == seed_release.publish_at
    generated = generate_history(weeks=3)
    for release in Release.objects.filter(pk__in=[r.pk for r in generated]):
        assert release.is_public and release.published_at == release.publish_at, release
    assert not Release.objects.public().filter(published_at__isnull=True).exists()
    for release in (seed_release, generated[0]):
        url = reverse("admin:statistics_release_change", args=[release.pk])
        page = admin_client.get(url).content.decode()
        assert "Not yet marked published" not in page
        assert "Marked published at" in page


def dump() -> str:
    out = io.StringIO()
    call_command("dumpdata", "statistics", "contacts", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_load_seed_twice_changes_nothing():
    call_command("load_seed", stdout=io.StringIO())
    before = dump()
    counts = [m.objects.count() for m in (Figure, Statement, Release, Metric)]
    history = [m.history.count() for m in (Figure, Statement, Release, Metric)]
    call_command("load_seed", stdout=io.StringIO())
    assert dump() == before
    assert [m.objects.count() for m in (Figure, Statement, Release, Metric)] == counts
    assert [m.history.count() for m in (Figure, Statement, Release, Metric)] == history


@pytest.mark.django_db
def test_load_seed_repairs_an_edited_figure():
    call_command("load_seed", stdout=io.StringIO())
    figure = Figure.objects.get(metric__slug="eps-messages-total")
    figure.value = 1
    figure.save()
    call_command("load_seed", stdout=io.StringIO())
    figure.refresh_from_db()
    assert figure.value == 306_774_292


@pytest.mark.django_db
def test_load_seed_dates_the_contacts_check_and_keeps_a_later_one():
    call_command("load_seed", stdout=io.StringIO())
    assert set(MediaContact.objects.values_list("last_verified", flat=True)) == {date(2010, 3, 3)}
    MediaContact.objects.filter(slug="nhs-cfh-press-office").update(last_verified=date(2026, 1, 31))
    call_command("load_seed", stdout=io.StringIO())
    assert MediaContact.objects.get(slug="nhs-cfh-press-office").last_verified == date(2026, 1, 31)
