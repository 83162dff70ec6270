"""Settings for xvbcrm, read from the environment (and from DJANGO_ENV_FILE's file if set)."""
import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from xvbcrm.log import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A file of settings is read only when asked: DJANGO_ENV_FILE=.env (the Makefile's targets set
# it for the .env `make run` writes). Never found by itself: a .env left in the project folder
# must not turn debug on in a production process whose environment does not set DJANGO_DEBUG.
# Variables already in the environment win over the file; `manage.py check --deploy` fails
# when the file weakens production's defaults (xvbcrm/checks.py).
ENV_FILE = os.environ.get("DJANGO_ENV_FILE", "")
# The names the file set (not already in the environment): what the deploy check looks at.
ENV_FILE_NAMES: list[str] = []
if ENV_FILE:
    if not Path(ENV_FILE).is_file():
        raise ImproperlyConfigured(f"DJANGO_ENV_FILE names no file: {ENV_FILE!r}")
    _before = set(os.environ)
    environ.Env.read_env(ENV_FILE)
    ENV_FILE_NAMES = sorted(set(os.environ) - _before)

# pytest (>= 8.2) sets PYTEST_VERSION while it runs.
TESTING = "PYTEST_VERSION" in os.environ

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        _hint = (" The .env in the project folder is read only when asked: DJANGO_ENV_FILE=.env."
                 if (BASE_DIR / ".env").is_file() and not ENV_FILE else "")
        raise ImproperlyConfigured(
            f"Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=true for local development).{_hint}"
        )
    SECRET_KEY = "insecure-development-only-key"  # noqa: S105 - never used with DEBUG off
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Origins (scheme://host) allowed to post forms besides the CRM's own, e.g. when a proxy
# rewrites the Host header: https://crm.example.com
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- safe by default ------------------------------------------------------------------------
# With DEBUG off (production) HTTPS is the default: SSL redirect, HSTS and secure cookies.
# Debug (`make run`) and the test suite serve plain http on localhost.
SECURE_BY_DEFAULT = not (DEBUG or TESTING)
# Behind a TLS-terminating proxy (nginx) that sets `X-Forwarded-Proto: https`. Only then:
# without such a proxy anyone could send the header and pass for https.
BEHIND_TLS_PROXY = env.bool("DJANGO_BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of the app servers append to X-Forwarded-For (0: none, the
# client is REMOTE_ADDR). xvbcrm.net reads it for the login throttling, the webhook's journal
# and source networks, and the recordings' listen log.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=SECURE_BY_DEFAULT)
# The PBX may only be able to post over plain http: its webhook (authenticated by the access
# code) and the health check are never redirected, which the PBX and load balancers would not
# follow. Everything else (the admin, the API) is.
SECURE_REDIRECT_EXEMPT = [r"^crm-api/?$", r"^healthz/?$"]
SECURE_HSTS_SECONDS = env.int(
    "DJANGO_SECURE_HSTS_SECONDS", default=3600 if SECURE_BY_DEFAULT else 0
)
# Only the CRM's own subdomains (crm.example.com's, not example.com's).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_BY_DEFAULT
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=SECURE_BY_DEFAULT)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=SECURE_BY_DEFAULT)
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a decision about a whole registrable domain (example.com), made by
    # submitting it to the browsers' list, not something an app on crm.example.com should
    # assert; DJANGO_SECURE_HSTS_PRELOAD=true sends it where it is wanted.
    "security.W021",
]

INSTALLED_APPS = [
    "xvbcrm.apps.CrmAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "axes",
    "calls",
    "contacts",
]

MIDDLEWARE = [
    # First: load balancers probe /healthz by IP address and over http.
    "xvbcrm.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Static files (the admin's CSS and JS) from gunicorn itself, no separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: answers a locked-out client's login with 429.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out client before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "xvbcrm.urls"
WSGI_APPLICATION = "xvbcrm.wsgi.application"

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
            ],
        },
    },
]

# An empty DATABASE_URL (as .env.example leaves it) means the default SQLite file.
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if not DATABASES["default"].get("ENGINE"):
    raise ImproperlyConfigured(f"DATABASE_URL has a scheme Django cannot use: {DATABASE_URL!r}")
# Keep connections between requests: the caller lookup should not pay for a new one.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
SQLITE_BUSY_TIMEOUT = env.int("SQLITE_BUSY_TIMEOUT", default=20)  # seconds
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that needs no round trip (xvbcrm/db/base.py).
    DATABASES["default"]["ENGINE"] = "xvbcrm.db"
    # An unreachable server fails fast instead of holding a waiting caller for minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=2)
    )
    # The caller lookup's few queries (xvbcrm/db/) are prepared statements, planned once per
    # kept connection; Django's own queries are not (they bind on the client). Off for a
    # pooler that cannot carry them, and pointless when connections are not kept.
    _prepare = env.bool("DB_PREPARED_STATEMENTS", default=True)
    DATABASES["default"]["OPTIONS"].setdefault(
        "prepare_threshold", 0 if _prepare and DATABASES["default"]["CONN_MAX_AGE"] else None
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent webhooks on SQLite: WAL lets readers run beside the writer, IMMEDIATE takes
    # the write lock when a transaction starts (no deadlocking lock upgrades) and the busy
    # timeout makes a writer wait for the lock instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_TIMEOUT,
    }
    # Django's backend, with writers that take the lock as soon as it is free (xvbcrm/db/sqlite).
    DATABASES["default"]["ENGINE"] = "xvbcrm.db.sqlite"
    # Tests use a file beside the database (not the shared in-memory one), so that threads
    # and live servers get real connections of their own.
    _db_path = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_db_path.with_name(f"test_{_db_path.name}"))}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="ru")
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Moscow")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"  # filled by `manage.py collectstatic`
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["xvbcrm.api.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}

# --- the PBX --------------------------------------------------------------------------------
# The shared secret the PBX sends with every webhook (body `access_code` or header X-XVB-AC).
PBX_ACCESS_CODE = env.str("PBX_ACCESS_CODE", default="")
# The cloud PBX address and token for click-to-call (makeCall).
PBX_URL = env.str("PBX_URL", default="")
PBX_TOKEN = env.str("PBX_TOKEN", default="")
# Seconds to wait for the PBX to answer a makeCall (never retried: a repeat rings twice).
PBX_TIMEOUT = env.float("PBX_TIMEOUT", default=5)
# Region used to read phone numbers written without a country code.
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="RU").upper()
# The largest webhook body accepted, in bytes; real ones are a few hundred.
PBX_MAX_BODY_BYTES = env.int("PBX_MAX_BODY_BYTES", default=16 * 1024)

# Networks the PBX posts from, comma-separated CIDRs (`203.0.113.0/24,2001:db8::/32`); a
# webhook from elsewhere is refused with 403 (and journaled). Empty: from anywhere.
PBX_ALLOWED_NETWORKS = env.list("PBX_ALLOWED_NETWORKS", default=[])
for _network in PBX_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"PBX_ALLOWED_NETWORKS: {_exc}") from None

# Journal retention: `manage.py prune_journal` deletes PBX requests older than this.
JOURNAL_RETENTION_DAYS = env.int("JOURNAL_RETENTION_DAYS", default=90)

# The agent's desk. Routing: with the contact's responsible agent away or inactive, route to
# the agent who last talked with the number (an answered call) within this many days.
ROUTING_LAST_TALKED_DAYS = env.int("ROUTING_LAST_TALKED_DAYS", default=30)
# An unknown caller's first call makes one lead contact for the number (unless listed here:
# the company's own lines, say; any format, comma-separated).
LEADS_ENABLED = env.bool("LEADS_ENABLED", default=True)
LEADS_IGNORE_NUMBERS = env.list("LEADS_IGNORE_NUMBERS", default=[])
# Seconds between two polls of the live call pop-up in the browser.
DESK_POLL_SECONDS = env.float("DESK_POLL_SECONDS", default=2)

# --- login throttling (django-axes) ---------------------------------------------------------
# After AXES_FAILURE_LIMIT wrong passwords from one client address, that address cannot log in
# for AXES_COOLOFF_MINUTES. Attempts are kept in the database, shared by all app servers.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
# The same client address as the webhook's and the listen log's (DJANGO_TRUSTED_PROXY_COUNT).
AXES_CLIENT_IP_CALLABLE = "xvbcrm.net.request_client_address"
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged

# --- Content-Security-Policy (django-csp) ---------------------------------------------------
# Scripts and styles from the CRM's own static files only: no inline script or style anywhere.
# Recordings play from the PBX's host: media from PBX_URL's origin and CSP_MEDIA_SRC
# (default `https:`, since recording links may name another host of the PBX's).
_pbx_origin = "{0.scheme}://{0.netloc}".format(urlsplit(PBX_URL)) if PBX_URL else ""
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "media-src": [SELF, *filter(None, [_pbx_origin]),
                      *env.list("CSP_MEDIA_SRC", default=["https:"])],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if env.bool("CSP_REPORT_ONLY", default=False):  # to try a changed policy without breaking pages
    CONTENT_SECURITY_POLICY_REPORT_ONLY = CONTENT_SECURITY_POLICY
    CONTENT_SECURITY_POLICY = None

# --- logs -----------------------------------------------------------------------------------
# To stdout: `text` for people (`make run`), `json` (one object a line) for log collectors.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = logging_config(
    LOG_FORMAT,
    level=env.str("LOG_LEVEL", default="INFO"),
    # Request errors (500s) with their tracebacks, whatever DEBUG says.
    own={"django.request": "ERROR"},
)

# --- recordings: archived by a background worker, played through the CRM -----------------------
# Background tasks (django-tasks, the backport of Django 6's `django.tasks`) queued in the
# database: `manage.py db_worker` runs a worker; on PostgreSQL any number of them share it.
# App labels: django_tasks and django_tasks_database.
INSTALLED_APPS += ["django_tasks", "django_tasks_db"]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Our copies of the recordings go through Django's storage API: local files under MEDIA_ROOT
# (never served as a public URL), or any django-storages backend, e.g. S3-compatible:
# STORAGE_BACKEND=storages.backends.s3.S3Storage STORAGE_OPTIONS='{"bucket_name": "crm"}'.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES["default"] = {
    "BACKEND": env.str("STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
    "OPTIONS": env.json("STORAGE_OPTIONS", default={}),
}
# Hosts recording links may be fetched from: PBX_URL's host plus this list (a name, or
# `.example.com` for its subdomains). An IP address in a link, or a non-public address (private,
# loopback, link-local, shared, unique-local, ...) a name resolves to, is connected to only
# when that address itself is listed (PBX_URL's host counts).
_recording_hosts = [urlsplit(PBX_URL).hostname or ""]
_recording_hosts += env.list("RECORDINGS_ALLOWED_HOSTS", default=[])
RECORDINGS_ALLOWED_HOSTS = [host.strip().lower() for host in _recording_hosts if host.strip()]
RECORDINGS_MAX_BYTES = env.int("RECORDINGS_MAX_BYTES", default=100 * 1024 * 1024)
# Seconds a missing recording (404, PBX unreachable) is retried from the first try; then lost.
RECORDINGS_RETRY_FOR = env.int("RECORDINGS_RETRY_FOR", default=24 * 3600)
# Days our copies are kept (`manage.py prune_recordings` deletes older ones); 0: forever.
RECORDINGS_RETENTION_DAYS = env.int("RECORDINGS_RETENTION_DAYS", default=0)
# Seconds to connect to the PBX and that one read of a download may wait.
RECORDINGS_TIMEOUT = env.float("RECORDINGS_TIMEOUT", default=10)
# Seconds a whole download may take (connection, redirects and every read); then it is retried.
RECORDINGS_DEADLINE = env.float("RECORDINGS_DEADLINE", default=600)
# CA certificates (a PEM file) https recording links are checked against; empty: certifi's.
RECORDINGS_CA_FILE = env.str("RECORDINGS_CA_FILE", default="")

# --- the webhook under abuse (issue 12) -----------------------------------------------------
# Wrong or missing access codes are counted per source (an IPv4 address, an IPv6 /64) in the
# database: after PBX_THROTTLE_FAILURES of them within PBX_THROTTLE_MINUTES of the first, the
# source gets 429 until those minutes are over, its codes not even compared. 0 failures: off.
PBX_THROTTLE_FAILURES = env.int("PBX_THROTTLE_FAILURES", default=5)
PBX_THROTTLE_MINUTES = env.int("PBX_THROTTLE_MINUTES", default=10)
# Requests refused with 429 journaled per source and window; the rest are only counted.
PBX_THROTTLE_JOURNAL_ROWS = env.int("PBX_THROTTLE_JOURNAL_ROWS", default=20)
if PBX_THROTTLE_MINUTES < 1 or PBX_THROTTLE_FAILURES < 0 or PBX_THROTTLE_JOURNAL_ROWS < 0:
    raise ImproperlyConfigured(
        "PBX_THROTTLE_MINUTES must be at least 1; PBX_THROTTLE_FAILURES and "
        "PBX_THROTTLE_JOURNAL_ROWS at least 0."
    )
# Debug pages and error mails never show the access code, tokens or a database password
# (xvbcrm/debug.py), wherever they would appear: settings, environment, form data, locals.
DEFAULT_EXCEPTION_REPORTER = "xvbcrm.debug.SecretScrubbingReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "xvbcrm.debug.SecretsFilter"
