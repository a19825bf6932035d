"""Whole-page caching of public responses for anonymous readers, safe for embargoes.

Every successful anonymous GET outside the staff areas is public (the public
site only ever sees `Release.objects.public()`), so this middleware marks it
`Cache-Control: public` and keeps it in the shared cache under a generation
number; a view that sets its own Cache-Control (e.g. `private`) is left
alone. The generation changes when anything published changes (on commit) and
the moment the next scheduled release's publish time passes, so an embargo
lifts on the second even with a warm cache. If the cache is down, pages are
served from the database as if nothing were cached.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers

logger = logging.getLogger(__name__)

STATE_KEY = "public-cache-state"
NO_NEXT = float("inf")


def _safe(operation, default=None):
    """Run a cache operation; if the cache is unreachable, log it and go on without it."""
    try:
        return operation()
    except Exception:  # any backend error: Redis down, timeouts, refused connections
        logger.warning("Cache unavailable; serving without it.", exc_info=True)
        return default


# When a release comes out every reader misses at once. One server builds each missing entry;
# the others wait this long for it (polling) rather than build the same thing too.
BUILD_WAIT_SECONDS = 5.0
BUILD_POLL_SECONDS = 0.02


def _build_once(lock: str, read, build):
    """`build()` if no other server is building the same entry, else what it stores.

    `read()` returns the stored entry or None. A waiter builds for itself if the other
    server finishes without storing (its build failed) or takes longer than BUILD_WAIT_SECONDS.
    If the cache is down, everyone builds.
    """
    if _safe(lambda: cache.add(lock, 1, timeout=int(BUILD_WAIT_SECONDS * 2)), default=True):
        try:
            return build()
        finally:
            _safe(lambda: cache.delete(lock))
    deadline = time.monotonic() + BUILD_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(BUILD_POLL_SECONDS)
        value = read()
        if value is not None:
            return value
        if _safe(lambda: cache.get(lock)) is None:
            break
    return build()


def remember(key: str, build, timeout: int | None = None):
    """The cached value for `key`, built (once across servers) and stored on a miss.

    Built every time if the cache is down.
    """
    value = _safe(lambda: cache.get(key))
    if value is not None:
        return value

    def build_and_store():
        value = build()
        _safe(lambda: cache.set(key, value, timeout))
        return value

    return _build_once(f"building:{key}", lambda: _safe(lambda: cache.get(key)), build_and_store)


def _next_publish_timestamp() -> float:
    from stats.models import Release

    upcoming = Release.objects.upcoming().values_list("publish_at", flat=True).first()
    return upcoming.timestamp() if upcoming else NO_NEXT


def _fresh(state: dict | None) -> dict | None:
    """`state` if it still holds, else a new generation stored for every server; None if the cache is down."""
    if state is None or time.time() >= state["next_publish"]:
        state = {"generation": time.time_ns(), "next_publish": _next_publish_timestamp()}
        if not _safe(lambda: cache.set(STATE_KEY, state, timeout=None) or True, default=False):
            return None
    return state


def current_state() -> dict | None:
    """The cache generation and the next publish time it must not outlive."""
    return _fresh(_safe(lambda: cache.get(STATE_KEY)))


def _lookup(key: str) -> tuple[dict | None, object]:
    """The current state, and what is stored under `key` for its generation, in one round trip.

    Entries are stored as (generation, value): one from an older generation reads as missing.
    """
    found = _safe(lambda: cache.get_many([STATE_KEY, key]))
    state = _fresh(found.get(STATE_KEY)) if found is not None else None
    entry = found.get(key) if state is not None else None
    return state, entry[1] if entry is not None and entry[0] == state["generation"] else None


def _store(key: str, state: dict, value, timeout: int) -> None:
    _safe(lambda: cache.set(key, (state["generation"], value), timeout))


# Fragments belong to a generation, so they can be kept far longer than a page's max-age.
FRAGMENT_SECONDS = 60 * 60 * 24


def public_fragment(key: str, build):
    """A piece of public page that is the same for every reader, built once per generation.

    Like whole pages, it is forgotten when anything public changes and never outlives the
    next publish time; unlike them it also serves readers the page cache passes by (signed-in
    staff) or misses (each new query string). Built every time when public caching is off or
    the cache is down.
    """
    if settings.PUBLIC_CACHE_SECONDS <= 0:
        return build()
    key = f"fragment:{key}"
    state, value = _lookup(key)
    if value is not None:
        return value
    if state is None:
        return build()

    def build_and_store():
        value = build()
        timeout = int(min(FRAGMENT_SECONDS, state["next_publish"] - time.time()))
        if timeout > 0:
            _store(key, state, value, timeout)
        return value

    return _build_once(f"building:{state['generation']}:{key}", lambda: _lookup(key)[1], build_and_store)


def invalidate() -> None:
    """Forget every cached public page, once the current transaction commits."""
    transaction.on_commit(lambda: _safe(lambda: cache.delete(STATE_KEY)))


def _key(request) -> str:
    # get_host() refuses hosts not in ALLOWED_HOSTS (400) before anything is served.
    digest = hashlib.sha256(f"{request.get_host()}{request.get_full_path()}".encode()).hexdigest()
    return f"page:{request.method}:{digest}"


class PublicPageCacheMiddleware:
    """Serve and store anonymous public responses from the shared cache.

    It sits outermost but for the request log, so a hit skips the whole stack: stored
    responses already carry the security headers and ETag the inner middleware added.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self._cacheable_request(request):
            return self.get_response(request)
        key = _key(request)
        state, cached = _lookup(key)
        if state is None:
            return self.get_response(request)
        if cached is not None:
            response = get_conditional_response(request, etag=cached.get("ETag"), response=cached)
            response["X-Cache"] = "hit"
            return response
        response = self.get_response(request)
        if self._cacheable_response(response):
            timeout = int(min(settings.PUBLIC_CACHE_SECONDS, state["next_publish"] - time.time()))
            patch_vary_headers(response, ("Cookie",))
            if timeout > 0:
                patch_cache_control(response, public=True, max_age=timeout)
                response["X-Cache"] = "miss"
                _store(key, state, response, timeout)
            else:
                patch_cache_control(response, no_cache=True)
        return response

    @staticmethod
    def _cacheable_request(request) -> bool:
        return (
            settings.PUBLIC_CACHE_SECONDS > 0
            and request.method in ("GET", "HEAD")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and (request.is_secure() or not getattr(settings, "SECURE_SSL_REDIRECT", False))
            and not request.path.startswith(settings.UNCACHED_PATH_PREFIXES)
        )

    @staticmethod
    def _cacheable_response(response) -> bool:
        return (
            response.status_code == 200
            and not response.has_header("Cache-Control")
            and not response.streaming
            and not response.cookies
        )


def private(response):
    """Mark a response never to be stored by any cache (staff pages, previews)."""
    patch_cache_control(response, private=True, no_store=True, max_age=0)
    return response
