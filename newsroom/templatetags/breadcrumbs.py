"""The breadcrumb trail's one rule, for every page whatever view built its crumbs."""

from django import template

register = template.Library()


@register.filter
def trail(crumbs, current_path: str = "") -> list[dict]:
    """The crumbs a page shows: never one to the page itself, never two to one address (the first stays).

    As the NHS.UK breadcrumb: the trail ends at the page's parent, which a phone shows as "Back to …".
    """
    shown, seen = [], {current_path}
    for crumb in crumbs or ():
        if crumb["href"] not in seen:
            seen.add(crumb["href"])
            shown.append(crumb)
    return shown
