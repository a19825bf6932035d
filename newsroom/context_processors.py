from django.conf import settings


def site(request):
    """Site-wide names for every template."""
    return {
        "site_name": settings.NEWSROOM_SITE_NAME,
        "organisation": settings.NEWSROOM_ORGANISATION,
    }
