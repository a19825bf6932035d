from django.conf import settings


def site(request):
    """Site-wide names for every template."""
    return {
        "site_name": settings.NEWSROOM_SITE_NAME,
        "organisation": settings.NEWSROOM_ORGANISATION,
    }


def contacts_url() -> str:
    """The media contacts directory, or the contacts on the latest release until it exists."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("contacts:contact-list")
    except NoReverseMatch:
        return reverse("statistics:release-latest") + "#media-contacts-heading"


def navigation(request):
    """Header menu, default breadcrumbs (as on the seed page) and the contacts link."""
    from django.urls import reverse

    path = request.path
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match else ""
    latest = reverse("statistics:release-latest")
    archive = reverse("statistics:archive")
    contacts = contacts_url()
    items = [
        {"text": "Newsroom", "href": "/", "current": view_name == "home"},
        {
            "text": "Statistics",
            "href": latest,
            "current": view_name.startswith("statistics:") and not view_name.startswith("statistics:archive"),
        },
        {"text": "All releases", "href": archive, "current": view_name.startswith("statistics:archive")},
        {"text": "Media contacts", "href": contacts, "current": path.startswith("/contacts/")},
    ]
    return {
        "site_navigation": items,
        "contacts_url": contacts,
        "breadcrumbs": [
            {"text": "Home", "href": "/"},
            {"text": "Newsroom", "href": "/"},
            {"text": "Statistics", "href": latest},
            {"text": "Deployment statistics", "href": latest},
        ],
    }
