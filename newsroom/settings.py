"""Settings for Newsroom. Every environment variable is read here, once."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from newsroom.version import code_digest

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "django-insecure-newsroom-development-key-do-not-use-in-production"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# reportlab checks every attribute set on a chart's shapes while it draws, an aid for writing new
# charts; these are tested, so they are drawn without it, a quarter faster. reportlab reads this when
# it is first imported, after the settings; RL_shapeChecking=1 turns the checks on again.
os.environ.setdefault("RL_shapeChecking", "0")

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY: the development key must not be used with DEBUG=0.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_filters",
    "django_tables2",
    "import_export",
    "phonenumber_field",
    "simple_history",
    "csp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "newsroom.apps.NewsroomConfig",
    "stats.apps.StatisticsConfig",
    "contacts.apps.ContactsConfig",
    "alerts.apps.AlertsConfig",
]

MIDDLEWARE = [
    "newsroom.middleware.RequestLogMiddleware",
    "common.cache.PublicPageCacheMiddleware",
    "newsroom.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "newsroom.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "newsroom.auth.KnownBrowserMiddleware",
]

ROOT_URLCONF = "newsroom.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "newsroom.context_processors.site",
                "newsroom.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "newsroom.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}

# How long a write on the embedded SQLite waits for another process's write to finish (seconds).
SQLITE_BUSY_SECONDS = float(os.environ.get("SQLITE_BUSY_SECONDS", "20"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the task worker and commands share one file. WAL lets readers and one writer
    # go on together; every transaction takes the write lock when it begins (IMMEDIATE), so a
    # transaction that read first never fails at once when it comes to write ("database is locked"):
    # it waits its turn, up to SQLITE_BUSY_SECONDS.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": SQLITE_BUSY_SECONDS,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}"
            ),
        }
    )

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database host that does not answer fails a request in seconds (then a 503), not minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    )

REDIS_URL = os.environ.get("REDIS_URL", "")
# Longest wait, in seconds, for Redis to connect or answer one command. A Redis that stops
# answering must not hold pages up: after one failure each process skips the cache for
# NEWSROOM_CACHE_RETRY_SECONDS and serves from the database (newsroom.caching._safe).
REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "0.25"))
NEWSROOM_CACHE_RETRY_SECONDS = float(os.environ.get("NEWSROOM_CACHE_RETRY_SECONDS", "5"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "newsroom",
            "KEY_FUNCTION": "common.cache.make_key",
            "TIMEOUT": 300,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
elif os.environ.get("NEWSROOM_CACHE") == "none":
    # A cache that keeps nothing: every request as if every cache had just been cleared (load tests).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
elif os.environ.get("NEWSROOM_CACHE") == "locmem":
    # One process's memory: the test runs (each test clears it).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_FUNCTION": "common.cache.make_key",
        }
    }
else:
    # The embedded default: files on this machine, shared by the web server, the task worker and
    # any command, so a release the worker publishes, or a change made with `manage.py release`,
    # reaches the pages the web server keeps.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "KEY_FUNCTION": "common.cache.make_key",
            "LOCATION": os.environ.get("NEWSROOM_CACHE_DIR", str(BASE_DIR / ".cache" / "django")),
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"

PHONENUMBER_DEFAULT_REGION = "GB"
PHONENUMBER_DEFAULT_FORMAT = "E164"

# The organisation that publishes: shown on pages, in PDFs and feeds.
NEWSROOM_ORGANISATION = os.environ.get("NEWSROOM_ORGANISATION", "NHS Connecting for Health")
# Pre-release access opens at most this many hours before a release's publish time (the Code of
# Practice for Statistics allows up to 24) and closes at it.
PRE_RELEASE_HOURS = int(os.environ.get("PRE_RELEASE_HOURS", "24"))
# Addresses whose rest is a personal secret (pre-release and subscription links): never logged whole.
NEWSROOM_SECRET_PATHS = (
    "/statistics/pre-release/",
    "/subscribe/confirm/",
    "/subscribe/manage/",
    "/subscribe/unsubscribe/",
)
NEWSROOM_SITE_NAME = os.environ.get("NEWSROOM_SITE_NAME", "NHS Connecting for Health newsroom")
# What the public cache asks for the next moment an embargo lifts: no page it keeps outlives it.
NEWSROOM_NEXT_PUBLISH_TIME = "stats.selectors.next_publish_time"
# The public site's address, for what is built outside a reader's request (files, emails).
NEWSROOM_SITE_URL = os.environ.get("NEWSROOM_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# A figure that moves by more than this share since the previous release is a
# warning the submitter must acknowledge (0.25 = 25%).
NEWSROOM_CHANGE_WARNING_THRESHOLD = os.environ.get("NEWSROOM_CHANGE_WARNING_THRESHOLD", "0.25")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
# Applies LOGGING, and leaves the secret part of personal links (NEWSROOM_SECRET_PATHS) out of
# every log record any logger makes, whichever handler writes it.
LOGGING_CONFIG = "newsroom.middleware.configure_logging"

# Public pages are cached for anonymous readers for at most this long, and never
# past the next scheduled publish time (newsroom/caching.py).
PUBLIC_CACHE_SECONDS = int(os.environ.get("PUBLIC_CACHE_SECONDS", "300"))
UNCACHED_PATH_PREFIXES = ("/admin/", "/statistics/preview/", *NEWSROOM_SECRET_PATHS, "/healthz")
# HTTP caches in front of the site, told to purge the pages a public change touches
# (common/frontcache.py): VARNISH_URLS, space-separated, each a Varnish set up with
# deploy/varnish/newsroom.vcl.
NEWSROOM_FRONTEND_CACHES = {
    f"varnish-{number}": {"BACKEND": "common.frontcache.VarnishBackend", "LOCATION": url}
    for number, url in enumerate(os.environ.get("VARNISH_URLS", "").split(), start=1)
}
# While the database does not answer, requests get a 503 page asking to come back after this long.
NEWSROOM_RETRY_AFTER_SECONDS = int(os.environ.get("NEWSROOM_RETRY_AFTER_SECONDS", "10"))

# Security. Production (DEBUG=0) is expected behind a TLS-terminating proxy.
AUTHENTICATION_BACKENDS = [
    "newsroom.auth.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins within the cool-off are counted per user name at an address and per address,
# whatever the user names (password spraying); either count reaching the limit locks the address out.
# django-axes has one limit for every combination, so the per-address count is the one that binds.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours locked out after too many failed logins
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
# Per account, from any address (newsroom.auth): after AXES_FAILURE_LIMIT failed sign-ins for one
# user name, its next attempt waits this many seconds, twice as long after each further failure, up
# to the most; an attempt made sooner is refused unchecked. Forgotten at a successful sign-in, or
# this many hours after the last failure.
LOGIN_ACCOUNT_DELAY_SECONDS = float(os.environ.get("LOGIN_ACCOUNT_DELAY_SECONDS", "2"))
LOGIN_ACCOUNT_MAX_DELAY_SECONDS = float(os.environ.get("LOGIN_ACCOUNT_MAX_DELAY_SECONDS", "900"))
LOGIN_ACCOUNT_MEMORY_HOURS = 24
AXES_HANDLER = "newsroom.auth.LoginThrottleHandler"
AXES_LOCKOUT_CALLABLE = "newsroom.auth.refused_sign_in"
# The address a sign-in comes from: REMOTE_ADDR, or, when that is one of these proxies (addresses or
# networks, e.g. "127.0.0.1" for the nginx on the same machine), the address they saw, read from
# X-Forwarded-For (newsroom.auth.client_ip_address). Nobody else's X-Forwarded-For is believed.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")
AXES_CLIENT_IP_CALLABLE = "newsroom.auth.client_ip_address"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# No "AXES: BEGIN version ..." line at the start of every manage.py command. Failed logins and
# lock-outs are still logged as before; their lines just no longer carry the browser's user agent.
AXES_VERBOSE = False

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Added to the policy above for the pages under each path: the Django admin, and our admin
# templates, use style attributes and <style> elements (newsroom.middleware).
NEWSROOM_CSP_PATH_UPDATES = {"/admin/": {"style-src": ["'unsafe-inline'"]}}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Publishing workflow. Releases come out at this UK time unless a publisher sets
# another; the approver may not be the release's last editor unless this is off.
NEWSROOM_RELEASE_TIME = os.environ.get("NEWSROOM_RELEASE_TIME", "09:30")
NEWSROOM_TWO_PAIRS_OF_EYES = env_bool("NEWSROOM_TWO_PAIRS_OF_EYES", True)
# History is a record: restoring an old version would bypass the workflow.
SIMPLE_HISTORY_REVERT_DISABLED = True

# Spreadsheet import and export (django-import-export).
# Import and export each need their own permission (e.g. statistics.import_figure).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
# Between preview and confirm the upload is kept in the shared cache, so any app server can confirm it.
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.CacheStorage"
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# Largest spreadsheet a press officer may upload, in bytes (default 5 MB).
NEWSROOM_IMPORT_MAX_BYTES = int(os.environ.get("NEWSROOM_IMPORT_MAX_BYTES", str(5 * 1024 * 1024)))
# Every import refuses a file over these limits before reading it whole (stats/imports.py).
# Rows below the heading row: twelve years of weekly figures for 30 metrics is 18,720. 20,000 figure
# rows preview in about 2 s and import in about 4 s on SQLite (an .xlsx adds about 5 s of reading),
# well inside gunicorn's 60 s timeout.
NEWSROOM_IMPORT_MAX_ROWS = int(os.environ.get("NEWSROOM_IMPORT_MAX_ROWS", "20000"))
# Columns: the supplier template has 11 and the contacts file 13.
NEWSROOM_IMPORT_MAX_COLUMNS = int(os.environ.get("NEWSROOM_IMPORT_MAX_COLUMNS", "50"))
# What an .xlsx may unpack to, all its parts together (a zip bomb unpacks to far more): 20,000 rows of
# the supplier template unpack to about 12 MB; openpyxl reads 20 MB of worksheet in about 5 to 10 s.
NEWSROOM_IMPORT_MAX_UNZIPPED_BYTES = int(
    os.environ.get("NEWSROOM_IMPORT_MAX_UNZIPPED_BYTES", str(20 * 1024 * 1024))
)

# --- Background tasks (django-tasks: Django 6.0's tasks framework, backported) ----------------------
# "database" (the embedded default): tasks kept in the database, run by `manage.py db_worker`.
# "rq": tasks on Redis (REDIS_URL) through RQ, run by
# `manage.py rqworker --with-scheduler --job-class django_tasks_rq.Job` (the scheduler runs tasks due
# later: release moments, the catch-up), any number of workers on any number of machines.
# "immediate": run at once in the caller (tests).
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "database")
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if TASKS_BACKEND not in TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be one of {', '.join(TASK_BACKENDS)}, not {TASKS_BACKEND!r}."
    )
TASKS = {"default": {"BACKEND": TASK_BACKENDS[TASKS_BACKEND], "QUEUES": ["default"]}}
if TASKS_BACKEND == "rq":
    INSTALLED_APPS.append("django_rq")  # its rqworker command and queue settings
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 600}}
# A periodic catch-up: publishes releases a stopped worker missed, resends alerts left pending.
NEWSROOM_CATCH_UP_SECONDS = int(os.environ.get("NEWSROOM_CATCH_UP_SECONDS", "60"))
# A release marked published this long after its time is reported to staff as late.
NEWSROOM_LATE_SECONDS = int(os.environ.get("NEWSROOM_LATE_SECONDS", "60"))

# --- Email (alerts to subscribers) ------------------------------------------------------------------
# With no EMAIL_HOST the embedded default prints emails to the console. Encryption to the relay is
# what is asked for, never guessed from EMAIL_HOST: EMAIL_USE_TLS (STARTTLS, port 587 by default) or
# EMAIL_USE_SSL (TLS from the first byte, port 465); with neither, plain SMTP on port 25.
# `check --deploy` warns of a relay on another machine reached with neither (newsroom/checks.py).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both: STARTTLS (usually port 587) or TLS from the start "
        "(usually port 465), as the mail relay's provider says."
    )
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587" if EMAIL_USE_TLS else "465" if EMAIL_USE_SSL else "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Newsroom alerts <alerts@newsroom.example.org>")
# Alerts sent per second at most, across one worker's sending (be kind to the mail relay).
NEWSROOM_ALERTS_PER_SECOND = float(os.environ.get("NEWSROOM_ALERTS_PER_SECOND", "20"))
# A delivery left "sending" this long (its worker was killed mid-send) is sent again, same Message-ID.
NEWSROOM_ALERTS_STALE_SECONDS = int(os.environ.get("NEWSROOM_ALERTS_STALE_SECONDS", "300"))
# Corrections to one release made within this many seconds of the first are sent as one alert, once
# the time is up (a correction after it opens another).
NEWSROOM_CORRECTION_WINDOW_SECONDS = int(os.environ.get("NEWSROOM_CORRECTION_WINDOW_SECONDS", "120"))
# How long a confirmation link stays good.
NEWSROOM_CONFIRM_DAYS = int(os.environ.get("NEWSROOM_CONFIRM_DAYS", "7"))
# How often /subscribe/ may be used in one clock hour (each request may email a confirmation link to
# anyone): from one client address (IPv6: one /64), for one email address, and in all. 0: no limit.
# Counted in the database, which every app server shares (alerts/limits.py).
NEWSROOM_SUBSCRIBE_PER_CLIENT = int(os.environ.get("NEWSROOM_SUBSCRIBE_PER_CLIENT", "10"))
NEWSROOM_SUBSCRIBE_PER_ADDRESS = int(os.environ.get("NEWSROOM_SUBSCRIBE_PER_ADDRESS", "3"))
NEWSROOM_SUBSCRIBE_PER_HOUR = int(os.environ.get("NEWSROOM_SUBSCRIBE_PER_HOUR", "300"))
# The address a request comes from, for those limits: as for logins (TRUSTED_PROXIES).
NEWSROOM_CLIENT_IP = "newsroom.auth.client_ip_address"

# The code version every kept page, PDF and file is keyed by (common.cache.make_key): a deploy
# serves new ones for every release at once, with no clearing. Set it to the deployment's commit;
# without it, a digest of the code, templates, styles, libraries and the settings they print.
NEWSROOM_CODE_VERSION = os.environ.get("NEWSROOM_CODE_VERSION") or code_digest(
    BASE_DIR,
    printed={
        "TIME_ZONE": TIME_ZONE,
        "LANGUAGE_CODE": LANGUAGE_CODE,
        "NEWSROOM_SITE_NAME": NEWSROOM_SITE_NAME,
        "NEWSROOM_ORGANISATION": NEWSROOM_ORGANISATION,
        "PRE_RELEASE_HOURS": PRE_RELEASE_HOURS,
    },
)
