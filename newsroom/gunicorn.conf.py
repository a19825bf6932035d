"""gunicorn settings for `make serve`; each can be overridden by the environment."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # imports preview large files
graceful_timeout = 30
keepalive = 5
# Each worker is replaced after this many requests (a guard against slow leaks), at a point drawn
# anywhere from it to half as many again, so workers are replaced one at a time rather than all
# within the same few seconds: at a few thousand requests a second, a jitter of a tenth had every
# worker restarting at once every 20 seconds.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "50000"))
max_requests_jitter = max_requests // 2
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
# newsroom.middleware.RequestLogMiddleware logs one JSON line per request; gunicorn's own access
# log, if wanted as well (GUNICORN_ACCESS_LOG=- for stdout, or a file), is redacted as every log
# record is (newsroom.middleware.configure_logging): no personal link, in its path or its Referer.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# X-Forwarded-Proto is believed only from the proxy in front: the one TRUSTED_PROXIES names.
forwarded_allow_ips = (
    os.environ.get("FORWARDED_ALLOW_IPS") or os.environ.get("TRUSTED_PROXIES") or "127.0.0.1"
)
