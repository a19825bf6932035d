import json
import logging
import time

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
