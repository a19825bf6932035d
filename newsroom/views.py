"""Site-wide pages: newsroom home, search, health check, robots.txt, error pages."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import Error, connection
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.views.decorators.cache import never_cache

from common.cache import cache_available
from common.http import read_only
from contacts.models import MediaContact
from newsroom.context_processors import contacts_url
from newsroom.forms import SearchForm
from newsroom.middleware import DATABASE_UNAVAILABLE
from stats.models import Metric, Programme, Release, Statement
from stats.selectors import build_release_document
from stats.views import api

logger = logging.getLogger(__name__)

RECENT_RELEASES = 6
SEARCH_LIMIT = 20


@read_only
def home(request):
    """The newsroom home: headline figures of the latest release, recent releases, what is next."""
    return render(request, "newsroom/home.html", home_context())


def home_context() -> dict:
    public = Release.objects.public()
    recent = list(public.order_by("-period_date")[:RECENT_RELEASES])
    latest = recent[0] if recent else None
    document = build_release_document(latest, visible=public) if latest else None
    headlines = []
    if document:
        headlines = [(section, section.headline) for section in document.sections if section.headline]
    return {
        "latest": latest,
        "document": document,
        "headlines": headlines,
        "recent": recent[1:],
        "next_release": Release.objects.next_announced(),
        "contacts_url": contacts_url(),
    }


def _text_search(queryset, fields: list[str], query: str):
    """Full-text search on PostgreSQL, a simple case-insensitive match elsewhere."""
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = SearchVector(*fields, config="english")
        search = SearchQuery(query, config="english", search_type="websearch")
        return (
            queryset.annotate(search=vector, rank=SearchRank(vector, search))
            .filter(search=search)
            .order_by("-rank")
        )
    condition = Q()
    for word in query.split():
        word_condition = Q()
        for field in fields:
            word_condition |= Q(**{f"{field}__icontains": word})
        condition &= word_condition
    return queryset.filter(condition)


@read_only
def search(request):
    """Search releases (and their statements), metrics, programmes and media contacts."""
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    context = {"search_query": query, "searched": bool(query), "search_errors": form.errors.get("q", [])}
    if query:
        public = Release.objects.public()
        statement_releases = _text_search(
            Statement.objects.filter(release__in=public), ["text"], query
        ).values("release_id")
        releases = (
            public.filter(
                Q(pk__in=_text_search(public, ["title", "summary", "notes"], query).values("pk"))
                | Q(pk__in=statement_releases)
            )
            .order_by("-period_date")
            .only("period_date", "title", "summary", "is_synthetic")
        )
        found = list(releases[: SEARCH_LIMIT + 1])
        context["releases"] = found[:SEARCH_LIMIT]
        context["more_releases"] = len(found) > SEARCH_LIMIT
        context["metrics"] = list(
            _text_search(
                Metric.objects.filter(programme__is_active=True).select_related("programme"),
                ["name", "slug", "definition", "unit"],
                query,
            )[:SEARCH_LIMIT]
        )
        context["programmes"] = list(
            _text_search(Programme.objects.active(), ["name", "short_name", "description"], query)[
                :SEARCH_LIMIT
            ]
        )
        context["contacts"] = list(
            _text_search(MediaContact.objects.active(), ["name", "remit", "organisation", "note"], query)[
                :SEARCH_LIMIT
            ]
        )
        context["result_count"] = sum(
            len(context[k]) for k in ("releases", "metrics", "programmes", "contacts")
        )
    context["contacts_url"] = contacts_url()
    context["breadcrumbs"] = [{"text": "Home", "href": "/"}]  # its parent: see includes/breadcrumbs.html
    return render(request, "newsroom/search.html", context)


@never_cache
@read_only
def healthz(request):
    """Database and cache check for load balancers: JSON; 503 only if the database is down.

    A cache outage is reported as "degraded": pages are then served from the database.
    Neither check waits long: the cache's is skipped while its breaker is open. What went
    wrong with the database (host, port, name) is logged, never shown.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Error:
        logger.exception("Health check: the database does not answer.")
        response = JsonResponse({"status": "error", "database": "unavailable"}, status=503)
        response["Retry-After"] = str(settings.NEWSROOM_RETRY_AFTER_SECONDS)
        return response
    cache_ok = cache_available()
    return JsonResponse(
        {
            "status": "ok" if cache_ok else "degraded",
            "database": "ok",
            "cache": "ok" if cache_ok else "unavailable",
        }
    )


@read_only
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /search/",
        f"Sitemap: {request.build_absolute_uri(reverse('django.contrib.sitemaps.views.sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def page_not_found(request, exception=None):
    """404 in the site's style; under /api/v1/, in the API's (JSON)."""
    if request.path_info.startswith(api.api_prefix()):
        return api.not_found(request, exception)
    return render(request, "404.html", {"contacts_url": contacts_url()}, status=404)


def _error_page_context() -> dict:
    """What the error pages need, none of it from the database."""
    return {
        "site_name": settings.NEWSROOM_SITE_NAME,
        "organisation": settings.NEWSROOM_ORGANISATION,
        "site_navigation": [],
        "contacts_url": "/contacts/",
        "is_error_page": True,
    }


def database_unavailable(request=None):
    """503 while the database cannot be reached: a plain page, rendered without touching it."""
    response = HttpResponse(loader.get_template("503.html").render(_error_page_context()), status=503)
    response["Retry-After"] = str(settings.NEWSROOM_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request):
    """500 in the site's style, without touching the database; 503 if the database was the cause.

    Django calls it while handling the exception, so sys.exc_info() is the error: one raised
    by a middleware, which newsroom.middleware.DatabaseUnavailableMiddleware does not see.
    """
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    template = loader.get_template("500.html")
    return HttpResponse(template.render(_error_page_context()), status=500)
