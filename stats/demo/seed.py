"""The founding release, w/c 3 March 2010, as structured data, and its loader."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction

from contacts.models import MediaContact
from stats.models import Figure, Metric, Programme, Release, Statement
from stats.publishing import public

UK = ZoneInfo("Europe/London")
PERIOD = dt.date(2010, 3, 3)

# slug: (name, short name, description)
PROGRAMMES = {
    "choose-and-book": (
        "Choose and Book",
        "Choose and Book",
        "Electronic booking of first hospital or clinic appointments, giving patients a choice "
        "of place, date and time.",
    ),
    "eps": (
        "Electronic Prescription Service (EPS)",
        "EPS",
        "Sends prescriptions electronically from GP practices to pharmacies.",
    ),
    "gp2gp": (
        "GP2GP Transfer",
        "GP2GP",
        "Moves a patient’s electronic health record to their new practice when they change GP.",
    ),
    "n3": (
        "National Network for the NHS (N3)",
        "N3",
        "The national broadband network connecting NHS organisations.",
    ),
    "nhsmail": (
        "NHSmail",
        "NHSmail",
        "The national NHS email and directory service.",
    ),
    "pacs": (
        "Picture Archiving and Communications System (PACS)",
        "PACS",
        "Stores and shares X-rays and scans digitally.",
    ),
    "care-records-service": (
        "NHS Care Records Service",
        "NHS CRS",
        "Summary Care Records and the Spine, with Smartcard access for staff.",
    ),
    "deployment-activity": (
        "Deployment activity",
        "Deployment",
        "Site visits and upgrades under the National Programme for IT.",
    ),
}

# slug: (programme, name, unit, kind, definition)
METRICS = {
    "cab-bookings-total": (
        "choose-and-book",
        "Bookings made",
        "bookings",
        "total",
        "Bookings made through Choose and Book since launch.",
    ),
    "cab-patients-referred": (
        "choose-and-book",
        "Patients referred",
        "patients",
        "total",
        "Patients referred through Choose and Book since launch.",
    ),
    "cab-bookings-day-record": (
        "choose-and-book",
        "Most bookings in a single day",
        "bookings",
        "record",
        "The highest number of bookings made in one day.",
    ),
    "cab-referral-share": (
        "choose-and-book",
        "Share of GP referrals to first outpatient appointment",
        "%",
        "percent",
        "Share of NHS referrals from GP surgery to first outpatient "
        "appointment made through Choose and Book.",
    ),
    "cab-practices-used-week": (
        "choose-and-book",
        "GP practices using Choose and Book in the last week",
        "%",
        "percent",
        "Share of all GP practices that referred through Choose and Book in the last week.",
    ),
    "eps-messages-total": (
        "eps",
        "Prescription messages transmitted",
        "messages",
        "total",
        "Prescription messages transmitted electronically since launch.",
    ),
    "eps-practices-upgraded": (
        "eps",
        "GP practices with technical upgrades",
        "practices",
        "level",
        "GP practices upgraded to the new system.",
    ),
    "eps-practices-active": (
        "eps",
        "GP practices operating EPS",
        "practices",
        "level",
        "Upgraded GP practices actively operating EPS.",
    ),
    "eps-messages-week": (
        "eps",
        "Prescription messages in the week",
        "messages",
        "period",
        "Prescription messages transmitted using EPS during the week.",
    ),
    "eps-r1-practices": (
        "eps",
        "GP practices live with EPS Release 1",
        "practices",
        "level",
        "GP practices live with EPS Release 1 systems.",
    ),
    "eps-r1-practices-percent": (
        "eps",
        "GP practices live with EPS Release 1 (share)",
        "%",
        "percent",
        "Share of GP practices live with EPS Release 1.",
    ),
    "eps-r1-pharmacies": (
        "eps",
        "Pharmacies live with EPS Release 1",
        "pharmacies",
        "level",
        "Pharmacies live with EPS Release 1 systems.",
    ),
    "eps-r1-pharmacies-percent": (
        "eps",
        "Pharmacies live with EPS Release 1 (share)",
        "%",
        "percent",
        "Share of pharmacies live with EPS Release 1.",
    ),
    "gp2gp-transfers-total": (
        "gp2gp",
        "Medical record transfers",
        "transfers",
        "total",
        "Medical records transferred by GP2GP since launch.",
    ),
    "gp2gp-transfers-week": (
        "gp2gp",
        "Transfers in the week",
        "transfers",
        "period",
        "GP2GP transfers made during the week.",
    ),
    "n3-connections": ("n3", "Connections to N3", "connections", "level", "Connections to the N3 network."),
    "n3-aggregator-connections": (
        "n3",
        "Connections through aggregators",
        "connections",
        "level",
        "N3 connections delivered through aggregators, mostly pharmacies.",
    ),
    "n3-gp-sites-connected": (
        "n3",
        "GP sites connected",
        "%",
        "percent",
        "Share of existing GP sites requiring a connection that have one.",
    ),
    "n3-estimated-savings": (
        "n3",
        "Estimated savings over seven years",
        "£",
        "amount",
        "Estimated saving to the NHS over seven years, relative to previous NHSnet contracts.",
    ),
    "nhsmail-registered-users": (
        "nhsmail",
        "Registered users",
        "users",
        "level",
        "Users registered for NHSmail.",
    ),
    "nhsmail-users-target": (
        "nhsmail",
        "Users when migration is complete",
        "users",
        "level",
        "Expected NHSmail users once migration is complete.",
    ),
    "pacs-systems-live": (
        "pacs",
        "PACS live across England",
        "systems",
        "level",
        "PACS from NHS Connecting for Health live across England.",
    ),
    "crs-summary-care-records": (
        "care-records-service",
        "Summary Care Records created",
        "records",
        "total",
        "Summary Care Records created on the Spine since launch.",
    ),
    "crs-smartcard-holders": (
        "care-records-service",
        "Smartcard holders",
        "people",
        "level",
        "Smartcard holders registered and approved for access to the Spine.",
    ),
    "deploy-planning-visits": (
        "deployment-activity",
        "Deployment planning visits a month",
        "visits",
        "period",
        "Visits to sites to plan deployments, each month.",
    ),
    "deploy-sites-upgraded": (
        "deployment-activity",
        "NHS sites upgraded a month",
        "sites",
        "period",
        "NHS sites with systems upgraded each month.",
    ),
}

# slug: (value, qualifier, as-of date)
FIGURES = {
    "cab-patients-referred": (20_000_000, "over", None),
    "cab-bookings-total": (22_725_621, "more_than", None),
    "cab-bookings-day-record": (37_000, "over", None),
    "cab-referral-share": (58, "around", None),
    "cab-practices-used-week": (90, "over", None),
    "eps-messages-total": (306_774_292, "auto", None),
    "eps-practices-upgraded": (7_950, "", None),
    "eps-practices-active": (6_821, "", None),
    "eps-messages-week": (3_527_916, "", None),
    "eps-r1-practices": (7_094, "", None),
    "eps-r1-practices-percent": (85, "", None),
    "eps-r1-pharmacies": (9_392, "", None),
    "eps-r1-pharmacies-percent": (87, "", None),
    "gp2gp-transfers-total": (1_022_140, "", None),
    "gp2gp-transfers-week": (10_126, "", dt.date(2010, 2, 26)),
    "n3-estimated-savings": (900_000_000, "", None),
    "n3-connections": (47_000, "more_than", None),
    "n3-aggregator-connections": (11_000, "approximately", None),
    "n3-gp-sites-connected": (100, "", None),
    "nhsmail-users-target": (1_000_000, "over", None),
    "nhsmail-registered-users": (500_000, "almost", None),
    "pacs-systems-live": (127, "", None),
    "crs-summary-care-records": (1_243_911, "", None),
    "crs-smartcard-holders": (771_574, "", None),
    "deploy-planning-visits": (1_700, "approximately", None),
    "deploy-sites-upgraded": (200, "", None),
}

# programme: bullets in the seed's order.
STATEMENTS = {
    "choose-and-book": [
        "{cab-patients-referred|rounded} patients have been referred through Choose and Book, "
        "which improves choice and convenience for patients needing a hospital or clinic "
        "appointment",
        "{cab-bookings-total|rounded} bookings ({cab-bookings-total}) have been made to date.",
        "Choose and Book has achieved {cab-bookings-day-record|rounded} bookings in a single day.",
        "Choose and Book is being used for {cab-referral-share|rounded} of NHS referral activity "
        "from GP surgery to first outpatient appointment.",
        "{cab-practices-used-week|rounded} of all GP practices have used Choose and Book to refer "
        "their patients to hospital in the last week",
    ],
    "eps": [
        "{eps-messages-total|rounded} ({eps-messages-total}) prescription messages have now been "
        "transmitted electronically.",
        "{eps-practices-upgraded} GP practices have had technical upgrades to the new system. "
        "{eps-practices-active} of these practices are actively operating the Electronic "
        "Prescription Service (EPS).",
        "During the week {eps-messages-week} prescription messages were transmitted using the "
        "Electronic Prescription Service (EPS)",
        "{eps-r1-practices} ({eps-r1-practices-percent}) GP Practices and {eps-r1-pharmacies} "
        "({eps-r1-pharmacies-percent}) Pharmacies have gone live with EPS Release 1 systems.",
    ],
    "gp2gp": [
        "GP2GP has now been used for {gp2gp-transfers-total} medical record transfers.",
        "{gp2gp-transfers-week} GP2GP transfers have been made this week (figure correct as of "
        "{gp2gp-transfers-week|as_of}).",
    ],
    "n3": [
        "Any NHS employee who requires access to National Programme services does so over the N3 network.",
        "N3 will save the NHS an estimated {n3-estimated-savings} over seven years, relative to "
        "previous NHSnet contracts.",
        "There are now {n3-connections|rounded} connections to N3 including "
        "{n3-aggregator-connections|rounded} delivered through aggregators (mostly pharmacies).",
        "{n3-gp-sites-connected} of existing GP sites who require a connection have had this delivered.",
        "N3 is one of the largest Virtual Private Networks (VPN) in the world.",
        "The GP estate is consistently changing and these are classed as business as usual changes",
    ],
    "nhsmail": [
        "When migration is complete NHSmail will have {nhsmail-users-target|rounded} users - the "
        "largest private, fully-featured, secure, single-domain e-mail service in the world.",
        "The number of users registered for NHSmail, the national NHS email and directory "
        "service is increasing every week.",
        "There are now {nhsmail-registered-users|rounded} registered users.",
        "NHS CFH staff have migrated to NHSmail.",
    ],
    "pacs": [
        "There are {pacs-systems-live} Picture Archiving and Communications System (PACS) from "
        "NHS Connecting for Health now live across England.",
        "PACS has been fully deployed to all acute hospitals since December 2007 and the focus "
        "is now concentrated on image sharing between locations",
    ],
    "care-records-service": [
        "{crs-summary-care-records} Summary Care Records have now been created on the Spine.",
        "There are {crs-smartcard-holders} Smartcard holders who are registered and approved for "
        "access to the Spine.",
    ],
    "deployment-activity": [
        "There are {deploy-planning-visits|rounded} visits to sites to plan deployments every month.",
        "{deploy-sites-upgraded} NHS sites have systems upgraded every month under the National "
        "Programme for IT.",
    ],
}

NOTES = """NHS Connecting for Health deployment statistics are now published in a new format which \
provides a comprehensive, at-a-glance snapshot of our progress to date.

Due to the scale of the National Programme for IT, the pace of change, and the number of \
partners involved, it has not been easy to ensure consistency of presentation of deployment \
information in an easy-to-understand format.

Following discussions with suppliers, new information requirements have been agreed, which will \
provide like-for-like data in monthly reports.

The deployment statistics will be updated monthly."""

# slug: fields
CONTACTS = {
    "nhs-cfh-press-office": {
        "name": "NHS CFH press office",
        "remit": "Systems & Services",
        "organisation": "NHS Connecting for Health",
        "phone": "+442070041555",
        "display_order": 10,
    },
    "nhs-cfh-enquiries": {
        "name": "Other NHS CFH enquiries",
        "remit": "Enquiries that are not from the media",
        "organisation": "NHS Connecting for Health",
        "note": "For questions about NHS Connecting for Health that are not media enquiries.",
        "display_order": 20,
    },
    "department-of-health-press-office": {
        "name": "Department of Health press office",
        "remit": "General NHS media enquiries",
        "organisation": "Department of Health",
        "phone": "+442072105221",
        "display_order": 30,
    },
    "nhs-trusts-and-organisations": {
        "name": "NHS trusts and organisations",
        "remit": "Enquiries about a local NHS organisation",
        "organisation": "Local NHS organisations",
        "note": "Contact the press office of the trust or organisation concerned.",
        "display_order": 40,
    },
}


# The day the contacts' details were last checked: as the w/c 3 March 2010 page listed them. A later
# check (the admin's "Mark as verified today") is kept when the seed is loaded again.
CONTACTS_CHECKED = dt.date(2010, 3, 3)


def _sync(model, lookup: dict, values: dict):
    """Create the row, or update only the fields that differ; saves nothing if all match."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.save()
        return obj
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save()
    return obj


@transaction.atomic
def load_seed() -> Release:
    """Load the w/c 3 March 2010 release; running it again changes nothing."""
    programmes = {}
    for order, (slug, (name, short_name, description)) in enumerate(PROGRAMMES.items(), 1):
        programmes[slug] = _sync(
            Programme,
            {"slug": slug},
            {
                "name": name,
                "short_name": short_name,
                "description": description,
                "display_order": order * 10,
                "is_active": True,
            },
        )
    metrics = {}
    for order, (slug, (programme, name, unit, kind, definition)) in enumerate(METRICS.items(), 1):
        metrics[slug] = _sync(
            Metric,
            {"slug": slug},
            {
                "programme": programmes[programme],
                "name": name,
                "unit": unit,
                "kind": kind,
                "definition": definition,
                "display_order": order * 10,
            },
        )
    contacts = {}
    for slug, fields in CONTACTS.items():
        checked = MediaContact.objects.filter(slug=slug).values_list("last_verified", flat=True).first()
        contacts[slug] = _sync(
            MediaContact,
            {"slug": slug},
            {"is_active": True, **fields, "last_verified": checked or CONTACTS_CHECKED},
        )
        if slug.startswith("nhs-cfh-press"):
            current = set(contacts[slug].programmes.all())
            if current != set(programmes.values()):
                contacts[slug].programmes.set(programmes.values())
    release = _sync(
        Release,
        {"period_date": PERIOD},
        {
            "title": "NHS Connecting for Health deployment statistics",
            "summary": "Weekly deployment statistics for the National Programme for IT, w/c 3 March 2010.",
            "notes": NOTES,
            "status": Release.Status.PUBLISHED,
            "publish_at": dt.datetime(2010, 3, 3, 9, 30, tzinfo=UK),
            "published_at": dt.datetime(2010, 3, 3, 9, 30, tzinfo=UK),  # out, and marked so, at its time
            "went_out_at": dt.datetime(2010, 3, 3, 9, 30, tzinfo=UK),  # and followed up then
            "lead_contact": contacts["nhs-cfh-press-office"],
            # Weekly counts of deployments, taken from the programmes' and suppliers' operational
            # reports and published by the press office: management information, not official
            # statistics. The 2010 page named no statistician, so none is named here.
            "designation": Release.Designation.MANAGEMENT_INFORMATION,
        },
    )
    for slug, (value, qualifier, as_of) in FIGURES.items():
        _sync(
            Figure,
            {"release": release, "metric": metrics[slug]},
            {"value": Decimal(value), "qualifier": qualifier, "as_of": as_of},
        )
    for programme, texts in STATEMENTS.items():
        for order, text in enumerate(texts, 1):
            _sync(
                Statement,
                {"release": release, "programme": programmes[programme], "order": order * 10},
                {"text": text},
            )
    public.release_listed()  # programmes, measures, contacts and the release: every page
    return release
