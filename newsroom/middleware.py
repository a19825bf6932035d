import json
import logging
import re
import time

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.db import InterfaceError, OperationalError

logger = logging.getLogger("newsroom.requests")
database_logger = logging.getLogger("newsroom.database")

# What django.db raises when the database refuses connections, drops them or cannot be reached.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


class RedactSecretPaths(logging.Filter):
    """Leaves out the secret part of personal links (settings.NEWSROOM_SECRET_PATHS: pre-release and
    subscription links) from every line a logger writes: the request log, Django's "Not Found: …"."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for prefix in settings.NEWSROOM_SECRET_PATHS:
            message = re.sub(re.escape(prefix) + r"[^\s\"']*", prefix + "…", message)
        record.msg, record.args = message, ()
        return True


class RequestLogMiddleware:
    """One structured (JSON) log line per request: method, path, status, time taken."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        logger.info(
            json.dumps(
                {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "cache": response.get("X-Cache", ""),
                }
            )
        )
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, adding settings.NEWSROOM_CSP_PATH_UPDATES to the policy under each path.

    The additions combine with a view's own @csp_update; the report-only policy is left alone.
    """

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        for prefix, directives in settings.NEWSROOM_CSP_PATH_UPDATES.items():
            if request.path_info.startswith(prefix):
                update = dict(parts.update or {})
                for directive, sources in directives.items():
                    existing = update.get(directive) or []
                    existing = [existing] if isinstance(existing, str) else list(existing)
                    update[directive] = existing + list(sources)
                parts.update = update
        return parts


class DatabaseUnavailableMiddleware:
    """A 503 page with Retry-After, never a 500, while the database cannot be reached.

    Catches the OperationalError or InterfaceError a view raises, or its template while
    rendering, and logs it; the page itself is rendered without the database
    (newsroom.views.database_unavailable). The same error raised by other middleware
    reaches handler500, which answers the same way. The broken connection is closed at
    the end of the request and a new one made when next needed (CONN_HEALTH_CHECKS).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        from newsroom.views import database_unavailable

        database_logger.error(
            "Database unavailable: %s %s answered 503.", request.method, request.path, exc_info=exception
        )
        return database_unavailable(request)
