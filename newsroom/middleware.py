import functools
import json
import logging
import logging.config
import re
import time
from urllib.parse import unquote

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.db import InterfaceError, OperationalError

logger = logging.getLogger("newsroom.requests")
database_logger = logging.getLogger("newsroom.database")

# What django.db raises when the database refuses connections, drops them or cannot be reached.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


# --- Personal links never reach a log whole ----------------------------------------------------


@functools.cache
def _secret_paths(prefixes: tuple[str, ...]) -> tuple[tuple[str, ...], re.Pattern]:
    """The prefixes' words, to look for first; and each prefix however a log line may write it: in
    any case, any character percent-encoded, a slash escaped as in JSON, with or without its first
    slash (as Django's "tried" paths are), then the secret rest, up to a space, quote or bracket."""

    def spelt(char: str) -> str:
        ways = [re.escape(char), f"%{ord(char):02x}"] + ([r"\\/"] if char == "/" else [])
        return f"(?:{'|'.join(ways)})"

    words = tuple(prefix.strip("/").lower() for prefix in prefixes)
    either = "|".join(f"{spelt('/')}?" + "".join(spelt(char) for char in word) for word in words)
    return words, re.compile(f"((?:{either}){spelt('/')})[^\\s\"'<>]*", re.IGNORECASE)


# A value signed by django.core.signing, as every personal link's token is: "value[:time]:signature",
# the signature 43 characters (SHA-256, URL-safe base64). Wherever it is written, with or without its path.
SIGNED = re.compile(r"(?<![\w.-])[\w.-]+(?::[\w-]+)?:[\w-]{43}(?![\w-])")


def redact_secret_links(text: str) -> str:
    """`text` with the secret part of every personal link in it (settings.NEWSROOM_SECRET_PATHS:
    pre-release and subscription links) left out, "/statistics/pre-release/…", and any signed value
    anywhere else ("token": "…")."""
    words, paths = _secret_paths(tuple(settings.NEWSROOM_SECRET_PATHS))
    plain = unquote(text).replace("\\/", "/").lower()
    if any(word in plain for word in words):  # most lines name no personal link: only those are searched
        text = paths.sub(r"\1…", text)
    return SIGNED.sub("…", text) if ":" in text else text


def _redacted(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message, traceback and stack as they will be written, redacted."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: the handler reports it, as logging always does
        return record
    if (redacted := redact_secret_links(message)) != message:
        record.msg, record.args = redacted, ()
    if record.exc_info and not record.exc_text:
        traceback = logging.Formatter().formatException(record.exc_info)
        if (redacted := redact_secret_links(traceback)) != traceback:
            record.exc_text = redacted  # what every Formatter writes in place of formatting it again
    if record.stack_info:
        record.stack_info = redact_secret_links(record.stack_info)
    return record


def _redacting(make_record):
    def make(*args, **kwargs):
        return _redacted(make_record(*args, **kwargs))

    make.redacts_secret_links = True
    return make


def configure_logging(config: dict) -> None:
    """settings.LOGGING_CONFIG: settings.LOGGING, and every log record redacted as it is made.

    Redacting the record itself, rather than filtering some loggers or handlers, covers every
    logger (Django's "Forbidden (CSRF cookie not set.): …", "Not Found: …", the request log,
    gunicorn's error and access logs once the app is loaded) and every handler, whatever it writes to.
    """
    logging.config.dictConfig(config)
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "redacts_secret_links", False):
        logging.setLogRecordFactory(_redacting(factory))


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
