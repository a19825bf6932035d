"""The public email alert pages: subscribe, check your email, confirm, manage, unsubscribe.

Every page is personal or carries a form, so none is cached anywhere (`private, no-store`); the
pages reached from an email's link are kept out of search engines. No page ever shows, or lets
anyone find out, whether an address is subscribed.
"""

from __future__ import annotations

import logging
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from alerts import limits, services, tasks, tokens
from alerts.forms import SubscribeForm, TopicsForm
from stats.wording import ukclock

PERSONAL = "private, no-store"

logger = logging.getLogger(__name__)


def personal(view):
    """Never cached by the browser, a proxy, the CDN or the site's own page cache; never indexed."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = PERSONAL
        if "token" in kwargs:
            response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


def crumbs(*extra) -> list[dict]:
    """Home › Newsroom › Email alerts, then the page's own."""
    return [
        {"text": "Home", "href": "/"},
        {"text": "Newsroom", "href": "/"},
        {"text": "Email alerts", "href": reverse("alerts:subscribe")},
        *({"text": text, "href": href} for text, href in extra),
    ]


def link_problem(request, error: tokens.Invalid):
    """A link that has expired (410) or that we never sent (404): say so, and how to start again."""
    expired = isinstance(error, tokens.Expired)
    context = {"expired": expired, "days": settings.NEWSROOM_CONFIRM_DAYS, "breadcrumbs": crumbs()}
    return render(request, "alerts/link_problem.html", context, status=410 if expired else 404)


def topics_of(form) -> dict:
    data = form.cleaned_data
    return {
        "every_release": data["every_release"],
        "corrections": data["corrections"],
        "programmes": data["programmes"],
    }


@personal
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request):
    """Ask for alerts: an address and at least one topic; the worker emails a confirmation link.

    The request is recorded and its email queued, the same work whatever the address: the answer
    never says, even by how long it takes, whether an address is subscribed.
    """
    form = SubscribeForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "breadcrumbs": crumbs()}
    if form.is_bound and form.is_valid():
        email = form.cleaned_data["email"]
        with transaction.atomic():
            refused = limits.take(request, email)
            asked = None if refused else services.ask(email=email, **topics_of(form))
        if refused:
            return too_many(request, refused)
        try:
            tasks.answer_request.enqueue(asked)
        except Exception:  # the queue would not take it: nothing will be sent, and the page says so
            logger.exception("A request for alerts could not be queued, and was withdrawn.")
            services.withdraw(asked)
            context["not_sent_to"] = email
            return render(request, "alerts/subscribe.html", context, status=503)
        return redirect("alerts:check-email")
    return render(request, "alerts/subscribe.html", context)


def too_many(request, refused: limits.Refusal):
    """A limit on asking for alerts is reached: why, and when to try again (429, Retry-After)."""
    logger.warning(
        "Asking for alerts refused: the %s limit (%s an hour) is reached; %s.",
        refused.per,
        refused.limit,
        limits.client_key(request),
    )
    context = {
        "refused": refused,
        "retry_at": ukclock.uk_label(refused.retry_at, weekday=False),
        "breadcrumbs": crumbs(),
    }
    response = render(request, "alerts/too_many.html", context, status=429)
    response["Retry-After"] = str(refused.retry_after())
    return response


@personal
@require_http_methods(["GET", "HEAD"])
def check_email(request):
    """What happens next: the same page whatever the address, which it never names."""
    context = {"days": settings.NEWSROOM_CONFIRM_DAYS, "breadcrumbs": crumbs()}
    return render(request, "alerts/check_email.html", context)


@personal
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    """The link in the confirmation email: a page with one button, which starts the alerts.

    Following the link (GET) changes nothing, so a mail system that opens links to check them does
    not confirm an address; the button (a POST from this page) does, once.
    """
    try:
        subscriber = tokens.read(token, tokens.CONFIRM)
    except tokens.Invalid as error:
        return link_problem(request, error)
    if request.method == "POST":
        if not subscriber.is_active:
            subscriber.confirm()
        return HttpResponseRedirect(request.path, status=303)  # see the page that says so
    context = {"topics": subscriber.topic_labels(), "breadcrumbs": crumbs()}
    if not subscriber.is_active:
        return render(request, "alerts/confirm.html", context)
    context["manage_url"] = reverse("alerts:manage", args=[tokens.make(subscriber, tokens.MANAGE)])
    return render(request, "alerts/confirmed.html", context)


@personal
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request, token):
    """Change topics, or go on to unsubscribe: reached from the link in every email."""
    try:
        subscriber = tokens.read(token, tokens.MANAGE)
    except tokens.Invalid as error:
        return link_problem(request, error)
    context = {
        "breadcrumbs": crumbs(("Manage your email alerts", request.path)),
        "unsubscribe_url": reverse("alerts:unsubscribe", args=[tokens.make(subscriber, tokens.UNSUBSCRIBE)]),
        "active": subscriber.is_active,
    }
    if not subscriber.is_active:
        return render(request, "alerts/manage.html", context)
    initial = {
        "every_release": subscriber.every_release,
        "corrections": subscriber.corrections,
        "programmes": list(subscriber.programmes.all()),
    }
    form = TopicsForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_bound and form.is_valid():
        services.set_topics(subscriber, **topics_of(form))
        return redirect(request.path + "?saved=1")
    context.update(form=form, saved=request.GET.get("saved") == "1" and not form.is_bound)
    return render(request, "alerts/manage.html", context)


@csrf_exempt  # RFC 8058 one-click: a mail client POSTs "List-Unsubscribe=One-Click", with no cookie
@personal
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """GET: a page with one button. POST (that button, or a mail client's one-click): stop every alert."""
    try:
        subscriber = tokens.read(token, tokens.UNSUBSCRIBE)
    except tokens.Invalid as error:
        return link_problem(request, error)
    context = {"breadcrumbs": crumbs(("Unsubscribe", request.path))}
    if request.method == "POST":
        subscriber.unsubscribe()
    if request.method == "POST" or subscriber.unsubscribed_at is not None:
        return render(request, "alerts/unsubscribed.html", context)
    return render(request, "alerts/unsubscribe.html", context)
