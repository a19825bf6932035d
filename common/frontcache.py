"""HTTP caches in front of the site (Varnish, a CDN): what each page is tagged with, and purging.

Every public response carries surrogate keys: "all", and the page cache's scopes it was built
from (`common.cache`: a release page's own release, or "site" for pages that show every release).
It goes to a front cache as `xkey` (Varnish's xkey module, deploy/varnish/newsroom.vcl) and
`Surrogate-Key` (Fastly and others), with an `s-maxage` that ends at the next publish second, as
its `max-age` does: no front cache keeps a page past a release.

When a public change commits, and after the page cache has moved on, each front cache in
settings.NEWSROOM_FRONTEND_CACHES is told to purge the keys of the pages that show it: a correction
purges its release's pages and the site's, nothing of the other releases'. The backends have the
shape of Wagtail's frontend cache: a class named by BACKEND, given its entry, with `purge(keys)`;
a CDN's purge-by-tag API is one more such class.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

EVERYTHING = "all"
TIMEOUT_SECONDS = 2


def keys_header(scopes) -> str:
    """The surrogate keys of a page built from `scopes`, as one header value."""
    return " ".join(dict.fromkeys([EVERYTHING, *sorted(scopes)]))


def tag(response, scopes) -> None:
    """Mark a public response with its surrogate keys, for every kind of front cache."""
    value = keys_header(scopes)
    response["xkey"] = value
    response["Surrogate-Key"] = value


class VarnishBackend:
    """Varnish with the xkey module: `PURGE /` with the keys in an `xkey-purge` header.

    LOCATION: the Varnish's address, e.g. http://127.0.0.1:6081 (it must accept PURGE from here:
    the acl in deploy/varnish/newsroom.vcl).
    """

    def __init__(self, params: dict):
        self.location = params["LOCATION"].rstrip("/")

    def purge(self, keys: list[str]) -> None:
        request = urllib.request.Request(
            self.location + "/", method="PURGE", headers={"xkey-purge": " ".join(keys)}
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()


@cache
def backends() -> dict[str, object]:
    return {
        name: import_string(entry["BACKEND"])(entry)
        for name, entry in getattr(settings, "NEWSROOM_FRONTEND_CACHES", {}).items()
    }


@receiver(setting_changed)
def _new_settings(setting, **kwargs):
    if setting == "NEWSROOM_FRONTEND_CACHES":
        backends.cache_clear()


def purge(scopes) -> None:
    """Tell every front cache to forget the pages built from `scopes` (None: every page).

    A front cache that cannot be reached is logged and skipped: its pages still end at the next
    publish second, and no later than settings.PUBLIC_CACHE_SECONDS after they were stored.
    """
    keys = [EVERYTHING] if scopes is None else sorted(set(scopes))
    for name, backend in backends().items():
        try:
            backend.purge(keys)
        except (OSError, urllib.error.URLError):
            logger.error("Could not purge %s from the front cache %s.", " ".join(keys), name, exc_info=True)
