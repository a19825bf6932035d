"""Sign-in throttling, on django-axes, in the database.

Two limits, each answered with the sign-in page, what to do and `Retry-After` (HTTP 429):

- per address (django-axes): AXES_FAILURE_LIMIT failed sign-ins from one address, whatever user
  names were tried, lock that address out for AXES_COOLOFF_TIME;
- per account, from any address: after AXES_FAILURE_LIMIT failed sign-ins for one user name, each
  further attempt for it must wait, LOGIN_ACCOUNT_DELAY_SECONDS at first, twice as long after each
  further failure, up to LOGIN_ACCOUNT_MAX_DELAY_SECONDS. An attempt made before its time is refused
  without its password being checked, and is not counted: guessing one account's password from many
  addresses is slowed down, and a stranger cannot lock its owner out for longer than that wait.
  A successful sign-in clears the count; so does a day (LOGIN_ACCOUNT_MEMORY_HOURS) without failures.
  A browser the account has signed in from before (a signed cookie, KNOWN_BROWSER_COOKIE, set at
  each successful sign-in) never waits for that account: whoever guesses it elsewhere, its owner
  signs in at once from their usual browser.

The address a sign-in comes from is REMOTE_ADDR, unless that is one of settings.TRUSTED_PROXIES:
then it is the address those proxies saw (client_ip_address).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import math
from dataclasses import dataclass

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from newsroom.models import AccountSignInFailures


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuse throttled web sign-ins; sign-ins without a request (shell, tests) pass through."""

    def authenticate(self, request=None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


# --- The address a sign-in comes from ----------------------------------------------------------


@functools.cache
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _trusted(address) -> bool:
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip_address(request) -> str | None:
    """The address a request comes from, for sign-in throttling (AXES_CLIENT_IP_CALLABLE).

    REMOTE_ADDR, unless it is one of settings.TRUSTED_PROXIES (addresses or networks): then
    X-Forwarded-For is read from the right, each entry added by a trusted proxy, and the first
    address that is not a trusted proxy is the client's. Entries further left were written by the
    client and are not believed; nor is the header from anyone else.
    """
    remote = request.META.get("REMOTE_ADDR")
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if not _trusted(address):
        return remote
    for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        try:
            address = ipaddress.ip_address(entry.strip())
        except ValueError:
            break  # not an address: nothing to its left can be believed
        if not _trusted(address):
            break
    return str(address)


# --- The wait per account ---------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in was refused before its password was checked, and for how long."""

    of_account: bool  # the account's wait; else the address's lock-out
    seconds: float

    @property
    def message(self) -> str:
        wait = in_words(self.seconds)
        if self.of_account:
            return (
                "There have been too many failed sign-ins for this account. To protect it, sign-ins "
                f"are slowed down: try again in {wait}."
            )
        return f"There have been too many failed sign-ins from your internet address. Try again in {wait}."


def in_words(seconds: float) -> str:
    """A wait as people say it: "40 seconds", "1 minute", "15 minutes"."""
    if seconds <= 60:
        whole = max(1, math.ceil(seconds))
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def address_locked_out(request) -> Refusal:
    """The address's lock-out, which each attempt during it starts again (django-axes)."""
    return Refusal(of_account=False, seconds=get_cool_off(request).total_seconds())


def delay_after(failures: int) -> dt.timedelta:
    """How long the next attempt for an account waits after its `failures`-th failure in a row."""
    past_free = failures - settings.AXES_FAILURE_LIMIT
    if past_free < 0:
        return dt.timedelta(0)
    seconds = settings.LOGIN_ACCOUNT_DELAY_SECONDS * 2 ** min(past_free, 32)
    return dt.timedelta(seconds=min(seconds, settings.LOGIN_ACCOUNT_MAX_DELAY_SECONDS))


def _forgotten_before(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(hours=settings.LOGIN_ACCOUNT_MEMORY_HOURS)


def take_turn(username: str) -> float:
    """0 if an attempt for `username` may have its password checked now, else the seconds to wait.

    Past the free failures, the attempt that may go ahead takes the turn (the wait then counts from
    now), so of several sent at once exactly one is checked.
    """
    now = timezone.now()
    row = AccountSignInFailures.objects.filter(username=username).first()
    if row is None or row.last_failure_at < _forgotten_before(now):
        return 0
    delay = delay_after(row.failures)
    if not delay:
        return 0
    opens = row.last_failure_at + delay
    if now < opens:
        return (opens - now).total_seconds()
    taken = AccountSignInFailures.objects.filter(pk=row.pk, last_failure_at=row.last_failure_at).update(
        last_failure_at=now
    )
    return 0 if taken else delay.total_seconds()


def count_failure(username: str) -> None:
    """One more failed sign-in for an existing account (a user name nobody has is not kept)."""
    if not get_user_model().objects.filter(username=username).exists():
        return
    now = timezone.now()
    with transaction.atomic():
        AccountSignInFailures.objects.filter(last_failure_at__lt=_forgotten_before(now)).delete()
        row, created = AccountSignInFailures.objects.select_for_update().get_or_create(
            username=username, defaults={"failures": 1, "last_failure_at": now}
        )
        if not created:
            row.failures += 1
            row.last_failure_at = now
            row.save(update_fields=["failures", "last_failure_at"])


# The browsers an account has signed in from: each carries a cookie naming (as a keyed digest, not in
# clear) the account last signed in from it, for this long.
KNOWN_BROWSER_COOKIE = "newsroom_known_browser"
KNOWN_BROWSER_DAYS = 90


def _known_browser_mark(username: str) -> str:
    return salted_hmac("newsroom.auth.known-browser", username).hexdigest()


def known_browser(request, username: str) -> bool:
    """Whether `username` has signed in from this browser before."""
    mark = request.COOKIES.get(KNOWN_BROWSER_COOKIE, "")
    return bool(mark) and constant_time_compare(mark, _known_browser_mark(username))


class KnownBrowserMiddleware:
    """Marks the browser a sign-in succeeded from (known_browser)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        username = getattr(request, "signed_in_as", None)
        if username:
            response.set_cookie(
                KNOWN_BROWSER_COOKIE,
                _known_browser_mark(username),
                max_age=KNOWN_BROWSER_DAYS * 24 * 60 * 60,
                path=settings.SESSION_COOKIE_PATH,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


class LoginThrottleHandler(AxesDatabaseHandler):
    """django-axes's database handler (AXES_HANDLER), with the wait per account beside its limit
    per address. Each refusal is kept on the request (`sign_in_refusal`) for the page to say."""

    def is_locked(self, request, credentials=None) -> bool:
        if hasattr(request, "sign_in_refusal"):  # decided once a request
            return request.sign_in_refusal is not None
        request.sign_in_refusal = None
        if super().is_locked(request, credentials):
            request.sign_in_refusal = address_locked_out(request)
            return True
        username = get_client_username(request, credentials)
        wait = take_turn(username) if username and not known_browser(request, username) else 0
        if wait:
            request.sign_in_refusal = Refusal(of_account=True, seconds=wait)
        return bool(wait)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        refusal = getattr(request, "sign_in_refusal", None)
        if refusal is not None and refusal.of_account:
            # Refused for the account's wait: no password was checked, so nothing is counted.
            request.axes_locked_out = True
            request.axes_credentials = credentials
            return
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None:
            return
        username = get_client_username(request, credentials)
        if refusal is None and username:  # a password was checked, and was wrong
            count_failure(username)
        if request.axes_locked_out and refusal is None:  # this failure reached the address's limit
            request.sign_in_refusal = address_locked_out(request)

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        AccountSignInFailures.objects.filter(username=user.get_username()).delete()
        if request is not None:
            request.signed_in_as = user.get_username()  # KnownBrowserMiddleware marks the browser


class SignInForm(AdminAuthenticationForm):
    """The admin's sign-in form, saying why a sign-in was refused and when to try again."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            refusal = getattr(self.request, "sign_in_refusal", None)
            if refusal is not None:
                raise forms.ValidationError(refusal.message, code="throttled") from None
            raise


def refused_sign_in(request, original_response=None, credentials=None) -> HttpResponse:
    """The answer to a refused sign-in (AXES_LOCKOUT_CALLABLE): the sign-in page as the form left
    it, saying why and when to try again, as HTTP 429 with Retry-After."""
    refusal = getattr(request, "sign_in_refusal", None) or address_locked_out(request)
    html = original_response is not None and original_response.get("Content-Type", "").startswith("text/html")
    response = original_response if html else HttpResponse(refusal.message, content_type="text/plain")
    response.status_code = 429
    response["Retry-After"] = str(max(1, math.ceil(refusal.seconds)))
    return response
