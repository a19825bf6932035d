import uuid

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from common.http import read_only
from contacts import phones, vcard
from contacts.filters import MediaContactFilter
from contacts.models import MediaContact
from stats.models import Programme


def public_contacts():
    """Active contacts with the active programmes they cover, in listing order."""
    programmes = Programme.objects.active().order_by("display_order", "name")
    return MediaContact.objects.active().prefetch_related(Prefetch("programmes", queryset=programmes))


def group_by_organisation(contacts) -> list[tuple[str, list[MediaContact]]]:
    """(organisation, contacts) pairs; organisations in the order of their first-listed contact."""
    groups: dict[str, list[MediaContact]] = {}
    for contact in contacts:
        groups.setdefault(contact.organisation, []).append(contact)
    return list(groups.items())


@read_only
def contact_list(request):
    """The media contacts directory: search, filter by programme and organisation, grouped by organisation."""
    filterset = MediaContactFilter(request.GET or None, queryset=public_contacts())
    contacts = list(filterset.qs)
    context = {
        "filter": filterset,
        "form": filterset.form,
        "contacts": contacts,
        "groups": group_by_organisation(contacts),
        "is_filtered": any(request.GET.get(name) for name in filterset.filters),
        "query_string": request.GET.urlencode(),
        "breadcrumbs": [
            {"text": "Home", "href": "/"},
            {"text": "Newsroom", "href": "/"},
            {"text": "Media contacts", "href": reverse("contacts:contact-list")},
        ],
    }
    return render(request, "contacts/mediacontact_list.html", context)


def card_for(contact: MediaContact, request) -> vcard.Card:
    """The plain vCard data for one contact."""
    phone_numbers = []
    if contact.phone:
        phone_numbers.append(("Press office", phones.international(contact.phone)))
    if contact.out_of_hours_phone:
        phone_numbers.append(("Out of hours", phones.international(contact.out_of_hours_phone)))
    programmes = [programme.name for programme in contact.programmes.all()]
    note = ". ".join(
        part
        for part in (
            contact.remit,
            "Programmes: " + ", ".join(programmes) if programmes else "",
            contact.note,
        )
        if part
    )
    address = request.build_absolute_uri(contact.get_absolute_url())
    return vcard.Card(
        full_name=contact.name,
        organisation=contact.organisation,
        uid=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, address)}",
        phones=phone_numbers,
        email=contact.email,
        url=contact.website,
        note=note,
        categories=["Media contacts"],
        revised=contact.last_verified,
    )


def vcard_response(cards, filename: str) -> HttpResponse:
    response = HttpResponse(vcard.serialise(cards), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@read_only
def contact_vcard(request, slug):
    """One contact as a vCard, to save to a phone's address book."""
    contact = get_object_or_404(public_contacts(), slug=slug)
    return vcard_response([card_for(contact, request)], f"{contact.slug}.vcf")


@read_only
def all_vcards(request):
    """Every listed contact (after any search or filter) in one vCard file."""
    filterset = MediaContactFilter(request.GET or None, queryset=public_contacts())
    return vcard_response([card_for(contact, request) for contact in filterset.qs], "media-contacts.vcf")
