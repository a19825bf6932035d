import json
import logging
import time

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings

logger = logging.getLogger("newsroom.requests")


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
