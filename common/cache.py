"""Whole-page caching of public responses for anonymous readers, safe for embargoes.

Every successful anonymous GET outside the staff areas is public (the public
site only ever sees `Release.objects.public()`), so this middleware marks it
`Cache-Control: public` and keeps it in the shared cache under a generation
number; a view that sets its own Cache-Control (e.g. `private`) is left
alone, except that a public max-age of its own is cut short too. The generation
changes when anything published changes (on commit) and the moment the next
scheduled release's publish time passes, so an embargo lifts on the second even
with a warm cache.

Freshness is worked out when a response is sent, not when it was stored: its
max-age counts down to the time the stored page expires, which is never past the
next publish time, so no browser or CDN keeps a page past a release.

If the cache is down, or hangs, each process leaves it alone for
settings.NEWSROOM_CACHE_RETRY_SECONDS after one failed call (a Redis that hangs
costs one short socket timeout, not one per call) and keeps the pages it builds
meanwhile in its own memory for a second at most (a change made on another server
shows within it), never past the next publish time, which then comes from the
database.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import default_key_func
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.http import QueryDict
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.module_loading import import_string

from common import frontcache

logger = logging.getLogger(__name__)

STATE_KEY = "public-cache-state"
NO_NEXT = float("inf")
# Keys every version of the code shares: what says the public content has changed (the generation
# and the scopes' versions), so a change made by new code during a rolling deploy reaches the pages
# old code keeps, and the other way round.
SHARED = "public-cache-"


def make_key(key: str, key_prefix: str, version) -> str:
    """settings.CACHES' KEY_FUNCTION: Django's key, with the code version in it
    (settings.NEWSROOM_CODE_VERSION), so a deploy keeps new pages, PDFs and files of its own for
    every release, old ones included, and nothing needs clearing; SHARED keys alone are left as
    they are."""
    if not key.startswith(SHARED):
        key = f"{settings.NEWSROOM_CODE_VERSION}:{key}"
    return default_key_func(key, key_prefix, version)


class CircuitBreaker:
    """Leave the cache alone for a while after it fails, in this process.

    After one failed call every call returns its default at once for
    settings.NEWSROOM_CACHE_RETRY_SECONDS; the next one then tries again. An
    invalidation the cache could not take is kept and sent before anything else.
    """

    def __init__(self):
        self.open_until = 0.0  # time.monotonic()
        self.invalidation_pending = False

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + settings.NEWSROOM_CACHE_RETRY_SECONDS

    def reset(self) -> None:
        self.open_until = 0.0
        self.invalidation_pending = False
        local_pages.clear()


breaker = CircuitBreaker()


@receiver(setting_changed)
def _new_cache_new_breaker(setting, **kwargs):
    """A breaker speaks for one cache: another cache configuration (tests) starts closed."""
    if setting == "CACHES":
        breaker.reset()


def _safe(operation, default=None):
    """Run a cache operation; if the cache is unreachable, log it and go on without it.

    The only way in to the cache on the public path. While the breaker is open (a
    call failed less than NEWSROOM_CACHE_RETRY_SECONDS ago) it returns `default`
    without trying.
    """
    if breaker.is_open():
        return default
    if breaker.invalidation_pending:
        _forget_generation()
        if breaker.is_open():
            return default
    try:
        return operation()
    except Exception:  # any backend error: Redis down, timeouts, refused connections
        breaker.trip()
        logger.warning(
            "Cache unavailable; serving without it for %s s.",
            settings.NEWSROOM_CACHE_RETRY_SECONDS,
            exc_info=True,
        )
        return default


def _forget_generation() -> None:
    """Delete the cache state, so every server starts a new generation of pages.

    Tried even while the breaker is open: a change the public can see must not be
    left behind cached pages. If the cache does not take it, it is sent again
    before this process's next cache call that gets through.
    """
    try:
        cache.delete(STATE_KEY)
    except Exception:  # any backend error
        breaker.invalidation_pending = True
        breaker.trip()
        logger.warning("Cache unavailable; cached pages will be forgotten once it answers.", exc_info=True)
    else:
        breaker.invalidation_pending = False


def retry_pending_invalidation() -> None:
    """Send an invalidation the cache missed, if the breaker allows a try now."""
    if breaker.invalidation_pending and not breaker.is_open():
        _forget_generation()


def cache_available() -> bool:
    """Whether the shared cache stores and returns a value now; False at once while the breaker is open."""

    def probe():
        cache.set("healthz", "ok", 10)
        return cache.get("healthz") == "ok"

    return bool(_safe(probe, default=False))


# When a release comes out every reader misses at once. One server builds each missing entry;
# the others wait this long for it (polling) rather than build the same thing too.
BUILD_WAIT_SECONDS = 5.0
BUILD_POLL_SECONDS = 0.02


def build_once(lock: str, read, build):
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
        if _safe(lambda: cache.get(lock)) is None:  # done, or given up: what it stored, if anything
            value = read()  # (stored before its lock went: read again, or a late look misses it)
            if value is not None:
                return value
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

    return build_once(f"building:{key}", lambda: _safe(lambda: cache.get(key)), build_and_store)


def _next_publish_timestamp() -> float:
    """The next publish time, from the function settings.NEWSROOM_NEXT_PUBLISH_TIME names."""
    upcoming = import_string(settings.NEWSROOM_NEXT_PUBLISH_TIME)()
    return upcoming.timestamp() if upcoming else NO_NEXT


# --- While the shared cache cannot be reached: pages kept in each process's own memory -----------

LOCAL_KEEP_SECONDS = 1


class LocalPages:
    """The public pages one process keeps while the shared cache cannot be reached.

    Each page built from the database is kept for LOCAL_KEEP_SECONDS at most, so a change made on
    another server shows within that second; all of them are dropped at once after this process
    commits a public change, and none outlives the next publish time, which is read from the
    database at most every LOCAL_KEEP_SECONDS too.
    """

    def __init__(self):
        self.pages = LocMemCache("newsroom-local-pages", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 300}})
        self.standing = (-math.inf, NO_NEXT)  # (checked at, next publish time)
        self.cleared = 0  # how many times the pages were dropped: a page built before is not kept

    def next_publish(self) -> float:
        """The next publish time, read again if due."""
        checked_at, next_publish = self.standing
        if time.monotonic() - checked_at >= LOCAL_KEEP_SECONDS or time.time() >= next_publish:
            next_publish = _next_publish_timestamp()
            self.standing = (time.monotonic(), next_publish)
        return next_publish

    def get(self, key: str) -> tuple | None:
        """(response, fresh until) as kept for `key`, or None."""
        return self.pages.get(key)

    def keep(self, key: str, stored: tuple, *, built_after: int) -> None:
        """Keep a page unless the pages were dropped since it began to be built (`built_after`:
        `cleared` then): another thread's change may have committed after it read the database."""
        if built_after == self.cleared:
            self.pages.set(key, stored, LOCAL_KEEP_SECONDS)

    def clear(self) -> None:
        """Forget every page (this process made a public change) and read the publish time again."""
        self.cleared += 1
        self.pages.clear()
        self.standing = (-math.inf, NO_NEXT)


local_pages = LocalPages()


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


# --- Scopes: what a stored page shows, so a change re-renders only the pages that show it ----------
#
# Every stored entry belongs to the generation (which any change the whole site shows moves on, and
# the next publish time ends) and to the versions of its scopes when it was built. A page that shows
# only some releases declares them (`declare_scopes`, before it reads them); any other page belongs
# to the "site" scope. A change to what one public release shows (a correction, a file's size)
# moves that release's scope on, and the site's unless told otherwise (`invalidate_scopes`): the
# pages of the archive's other releases stay. A scope's version missing from the cache never equals
# one stored, so losing them only costs rebuilds.

SITE = "site"
SCOPE_PREFIX = "public-cache-scope:"
_declared: ContextVar[dict | None] = ContextVar("public_cache_scopes", default=None)


def _scope_key(name: str) -> str:
    return SCOPE_PREFIX + name


def public_version() -> tuple:
    """Where the public content stands, moved on by every public change: the generation (anything
    every page may show, and each publish time) and the site scope's version (any public release's
    content). For what is kept outside the page cache but may show any release's figures (a
    release's PDF compares with the one before and charts the ones before that)."""
    site = _scope_key(SITE)
    found = _safe(lambda: cache.get_many([STATE_KEY, site]))
    state = _fresh(found.get(STATE_KEY)) if found is not None else None
    return (state or {}).get("generation"), (found or {}).get(site)


def declare_scopes(names) -> None:
    """What the page being built shows: these scopes' versions now, before it reads them."""
    keys = [_scope_key(name) for name in names]
    versions = _safe(lambda: cache.get_many(keys))
    if versions is not None:
        _declared.set({name: versions.get(_scope_key(name)) for name in names})


def _scopes_hold(scopes: dict, known: dict) -> bool:
    """Whether every scope an entry was built with is still at the version it was built with."""
    missing = [_scope_key(name) for name in scopes if _scope_key(name) not in known]
    if missing:
        fetched = _safe(lambda: cache.get_many(missing))
        if fetched is None:
            return False
        known = {**known, **fetched}
    return all(known.get(_scope_key(name)) == version for name, version in scopes.items())


# The scopes each page was last stored with, learnt by this process: an address shows the same
# releases whatever their versions, so their versions are asked for with the page, in one round trip.
# Only a guess: what is read is checked against the scopes the entry itself carries.
_scopes_seen: dict[str, tuple[str, ...]] = {}
SCOPES_SEEN_LIMIT = 10_000


def _seen(key: str, scopes: dict) -> None:
    if len(_scopes_seen) >= SCOPES_SEEN_LIMIT:
        _scopes_seen.clear()
    _scopes_seen[key] = tuple(name for name in scopes if name != SITE)


def _lookup(key: str) -> tuple[dict | None, object, dict]:
    """The current state, what is stored under `key` for it, and the site scope's version, in one
    round trip (two for an entry of narrower scopes this process has not read or stored yet).

    Entries are stored as (generation, scopes, value): one from an older generation, or whose
    scopes have moved on, reads as missing.
    """
    versions = [_scope_key(SITE), *(_scope_key(name) for name in _scopes_seen.get(key, ()))]
    found = _safe(lambda: cache.get_many([STATE_KEY, key, *versions]))
    state = _fresh(found.get(STATE_KEY)) if found is not None else None
    site_scope = {SITE: found.get(versions[0])} if found is not None else {}
    entry = found.get(key) if state is not None else None
    if not (isinstance(entry, tuple) and len(entry) == 3 and entry[0] == state["generation"]):
        return state, None, site_scope
    _seen(key, entry[1])
    known = {version: found.get(version) for version in versions}  # asked for: None if never moved on
    return state, entry[2] if _scopes_hold(entry[1], known) else None, site_scope


def _store(key: str, state: dict, value, timeout: int, scopes: dict) -> None:
    _seen(key, scopes)
    _safe(lambda: cache.set(key, (state["generation"], scopes, value), timeout))


def _built_scopes(site_scope: dict) -> dict:
    """The scopes of what was just built: those it declared, else the site's as read before building."""
    return _declared.get() or site_scope


def invalidate() -> None:
    """Forget every cached public page, once the current transaction commits."""
    transaction.on_commit(_forget_generation)
    transaction.on_commit(local_pages.clear)
    transaction.on_commit(lambda: frontcache.purge(None))  # once nothing here serves the old pages


def invalidate_scopes(names, *, site: bool = True) -> None:
    """Forget the pages that show these scopes (and, with `site`, every page not narrower than the
    site), once the current transaction commits. If the cache does not take it, everything goes."""
    names = [*names, *([SITE] if site else [])]

    def move_on():
        version = time.time_ns()

        def write() -> bool:
            return not cache.set_many({_scope_key(name): version for name in names}, None)  # failed keys

        if not _safe(write, default=False):
            _forget_generation()

    transaction.on_commit(move_on)
    transaction.on_commit(local_pages.clear)
    transaction.on_commit(lambda: frontcache.purge(names))  # once nothing here serves the old pages


# Query parameters that say where a reader came from, not what they asked for (campaign tags): left
# out before a public page is looked up or built, as the front cache's VCL leaves them out.
TRACKING_PARAMETERS = re.compile(r"utm_[a-z_]+|gclid|fbclid|mc_cid|mc_eid")


def _without_tracking(request) -> None:
    query = request.META.get("QUERY_STRING", "")
    if not query:
        return
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(name, value) for name, value in pairs if not TRACKING_PARAMETERS.fullmatch(name)]
    if len(kept) != len(pairs):
        request.META["QUERY_STRING"] = urlencode(kept)
        request.GET = QueryDict(request.META["QUERY_STRING"])


def _key(request) -> str:
    # get_host() refuses hosts not in ALLOWED_HOSTS (400) before anything is served.
    digest = hashlib.sha256(f"{request.get_host()}{request.get_full_path()}".encode()).hexdigest()
    return f"page:{request.method}:{digest}"


# Statuses a cache may keep without being told how long (RFC 9111's heuristically cacheable
# ones), and 304, whose headers refresh what a cache keeps: each is sent with its freshness.
FRESHNESS_STATUSES = frozenset({200, 203, 204, 206, 300, 301, 304, 308, 404, 405, 410, 414, 501})


def _next_publish(state: dict | None) -> float:
    """The next publish time: from the cache state, or from the database when the cache is down."""
    return state["next_publish"] if state is not None else _next_publish_timestamp()


def _seconds_until(moment: float) -> int:
    """Whole seconds from now to `moment`, rounded down: a max-age of them ends at or before it."""
    return max(0, math.floor(moment - time.time()))


def _cap(seconds: int | None, next_publish: float) -> int | None:
    """`seconds` (None: no limit) cut short to end by `next_publish`."""
    if next_publish == NO_NEXT:
        return seconds
    until_publish = _seconds_until(next_publish)
    return until_publish if seconds is None else min(seconds, until_publish)


def _cache_control(max_age: int) -> str:
    """Fresh for `max_age` seconds in browsers and in front caches alike (s-maxage: Varnish, CDNs)."""
    return f"public, max-age={max_age}, s-maxage={max_age}" if max_age > 0 else "no-cache"


def _limit_freshness(response, next_publish: Callable[[], float]) -> None:
    """Cut a public max-age or s-maxage a view set itself (PDFs) to end by the next publish time.

    Never longer than PUBLIC_CACHE_SECONDS either, when public caching is on.
    """
    header = response.get("Cache-Control", "")
    directives = {part.split("=", 1)[0].strip().lower() for part in header.split(",")}
    if "private" in directives or "no-store" in directives or not directives & {"max-age", "s-maxage"}:
        return
    limit = _cap(settings.PUBLIC_CACHE_SECONDS if settings.PUBLIC_CACHE_SECONDS > 0 else None, next_publish())
    if limit is None:
        return
    parts = []
    for part in (part.strip() for part in header.split(",")):
        name, _, value = part.partition("=")
        if name.strip().lower() in ("max-age", "s-maxage") and value.strip().isdigit():
            part = f"{name.strip()}={min(int(value), limit)}"
        parts.append(part)
    response["Cache-Control"] = ", ".join(part for part in parts if part)


class PublicPageCacheMiddleware:
    """Serve and store anonymous public responses from the shared cache.

    It sits outermost but for the request log, so a hit skips the whole stack: stored
    responses already carry the security headers and ETag the inner middleware added.
    Each public response leaves with a max-age that ends by the next publish time,
    worked out as it is sent, whether it comes from the cache or not.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        retry_pending_invalidation()
        if not self._cacheable_request(request):
            response = self.get_response(request)
            if request.path.startswith(settings.NEWSROOM_SECRET_PATHS):  # a personal link, whatever
                patch_cache_control(response, private=True, no_store=True)  # the answer: kept by no one
            _limit_freshness(response, lambda: _next_publish(current_state()))
            return response
        _without_tracking(request)
        key = _key(request)
        state, cached, site_scope = _lookup(key)
        if state is None:  # the shared cache cannot be reached
            return self._without_shared_cache(request, key)
        if isinstance(cached, tuple):  # (response, fresh until); an entry in an older form is a miss
            return self._served(request, cached, state["next_publish"], "hit")
        declared = _declared.set(None)
        try:
            response = self.get_response(request)
            scopes = _built_scopes(site_scope)
        finally:
            _declared.reset(declared)
        max_age = self._mark_public(response, state["next_publish"], "miss", scopes)
        if max_age:
            _store(key, state, (response, time.time() + max_age), max_age, scopes)
        return response

    def _without_shared_cache(self, request, key: str):
        """The page as this process kept it in the last second while the shared cache could not be
        reached, if still fresh; else built, and kept."""
        next_publish = local_pages.next_publish()
        kept = local_pages.get(key)
        if kept is not None and time.time() < min(kept[1], next_publish):
            return self._served(request, kept, next_publish, "local-hit")
        cleared = local_pages.cleared
        response = self.get_response(request)
        max_age = self._mark_public(response, next_publish, "local-miss")
        if max_age:
            local_pages.keep(key, (response, time.time() + max_age), built_after=cleared)
        return response

    @staticmethod
    def _served(request, cached: tuple, next_publish: float, how: str):
        """A stored (response, fresh until), with what is left of the time it was stored for, which
        ends by the next publish time."""
        response, fresh_until = cached
        fresh_until = min(fresh_until, next_publish)
        response["Cache-Control"] = _cache_control(_seconds_until(fresh_until))
        response = get_conditional_response(request, etag=response.get("ETag"), response=response)
        response["X-Cache"] = how
        return response

    def _mark_public(self, response, next_publish: float, how: str, scopes=(SITE,)) -> int | None:
        """Give a response just built its freshness and its surrogate keys (`scopes`, what it was
        built from); the seconds to store it for if it may be stored (a whole 200 marked public,
        fresh for a while), else None."""
        if not self._public_response(response):
            _limit_freshness(response, lambda: next_publish)
            if "public" in response.get("Cache-Control", ""):  # a file that says how long itself
                frontcache.tag(response, scopes)
            return None
        max_age = _cap(settings.PUBLIC_CACHE_SECONDS, next_publish)
        patch_vary_headers(response, ("Cookie",))
        response["Cache-Control"] = _cache_control(max_age)
        frontcache.tag(response, scopes)
        if max_age > 0 and response.status_code == 200 and not response.streaming:
            response["X-Cache"] = how
            return max_age
        return None

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
    def _public_response(response) -> bool:
        """A response for every reader alike: marked public, and stored if a whole 200."""
        return (
            response.status_code in FRESHNESS_STATUSES
            and not response.has_header("Cache-Control")
            and not response.cookies
        )
