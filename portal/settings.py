"""Settings for the clinic practice portal, read from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
ENVIRONMENT = env("PORTAL_ENV", default="development")
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-0123456789abcdef"
SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET)
if ENVIRONMENT == "production" and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")

PORTAL_DOMAIN = env("PORTAL_DOMAIN", default="localhost")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[PORTAL_DOMAIN, f".{PORTAL_DOMAIN}", "127.0.0.1"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The address people reach the public site at; a clinic's site is the same
# with the clinic's subdomain. Links in emails are built from it, never from
# the request.
PORTAL_PUBLIC_URL = env("PORTAL_PUBLIC_URL", default=f"http://{PORTAL_DOMAIN}:8000")
if ENVIRONMENT == "production" and "PORTAL_PUBLIC_URL" not in env:
    raise ImproperlyConfigured("PORTAL_PUBLIC_URL must be set in production.")
# Addresses (or networks) of our own reverse proxies. Only when the socket's
# peer is one of them is X-Forwarded-For read (see portal.net.client_ip).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Applications (django-tenants: shared apps live in public) ---------------

SHARED_APPS = [
    "django_tenants",
    "portal",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "channels",
    "axes",
]
TENANT_APPS = [
    # Each clinic keeps its own content types, admin history and audit trail,
    # so nothing about a clinic's patients is written to the public schema.
    "django.contrib.contenttypes",
    "django.contrib.admin",
    "auditlog",
    "clinic",
    "calls",
    "billing",
]
INSTALLED_APPS = SHARED_APPS + [a for a in TENANT_APPS if a not in SHARED_APPS]

TENANT_MODEL = "portal.Clinic"
TENANT_DOMAIN_MODEL = "portal.Domain"
PUBLIC_SCHEMA_URLCONF = "portal.urls_public"
ROOT_URLCONF = "portal.urls_tenant"
# Provisioning clones this migrated, non-routable clinic instead of running
# every migration (see DESIGN.md, "Provisioning speed").
TENANT_BASE_SCHEMA = env("TENANT_BASE_SCHEMA", default="clinic_template")
TENANT_CREATION_FAKES_MIGRATIONS = env.bool("TENANT_CLONE", default=True)
# Set search_path once per request/task (when the clinic changes), not per query.
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    # First: an oversized body is refused (413) before any other work.
    "portal.limits.RequestBodyLimitMiddleware",
    "portal.middleware.ClinicTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.csp.CSPMiddleware",
    "portal.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.ClinicMembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.AuditContextMiddleware",
]

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
                "portal.context_processors.clinic",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

# --- Database ----------------------------------------------------------------

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/portal"
    )
}
# django-tenants' backend, setting the search_path once per connection and clinic.
DATABASES["default"]["ENGINE"] = "portal.db_backend"
# Persistent connections, bounded: the web server runs HTTP on WEB_THREADS
# threads in each of WEB_PROCESSES processes (default: one per core), each
# thread keeping one connection, plus one thread per process for WebSocket
# work, so it holds at most WEB_PROCESSES x (WEB_THREADS + 1) connections
# (portal.serving). Keep that below PostgreSQL's max_connections, with room
# for Celery and the rest.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=600))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool(
    "CONN_HEALTH_CHECKS", default=True
)
WEB_PROCESSES = env.int("WEB_PROCESSES", default=None)
WEB_THREADS = env.int("WEB_THREADS", default=4)
DATABASES["default"].setdefault("TEST", {})["NAME"] = env(
    "TEST_DATABASE_NAME", default="test_portal"
)
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Many clinics ----------------------------------------------------------------
# A new clinic is the template's DDL and data from a pg_dump cached in public per
# state of the template's migrations (portal.schema_clone); "function" is
# django-tenants' clone_schema, whose cost grows with every clinic. PG_DUMP must
# be as new as the server.
CLINIC_CLONE_METHOD = env("CLINIC_CLONE_METHOD", default="dump")
if CLINIC_CLONE_METHOD not in ("dump", "function"):
    raise ImproperlyConfigured("CLINIC_CLONE_METHOD must be 'dump' or 'function'.")
PG_DUMP = env("PG_DUMP", default="pg_dump")
# migrate_schemas leaves out clinics with nothing to apply, found in one query
# (portal.migration_executor); the rest migrate in MIGRATE_PROCESSES processes.
GET_EXECUTOR_FUNCTION = "portal.migration_executor.get_executor"
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int(
    "MIGRATE_PROCESSES", default=len(os.sched_getaffinity(0))
)
TENANT_MULTIPROCESSING_CHUNKS = 4

# --- Redis: cache, Celery broker, channel layer ------------------------------

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="portal"),
    },
    # Sign-in counters: shared by every clinic on purpose (limits per address
    # hold across clinics), so no clinic prefix.
    "auth": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="portal") + "-auth",
    },
}
# Live updates (portal.live, portal.live_hub, calls.consumers; README "Live
# updates"). Each server process joins a clinic's group once (its hub) and
# fans out to its sockets, so `capacity` is the events one process may have
# waiting in Redis: channels-redis drops beyond it silently (100 by default);
# 1,000 absorbs a burst to a busy board. `expiry` is how long an event may
# wait; hubs rejoin hourly, well inside `group_expiry`. A drop shows as a gap
# in seq, filled from the clinic's buffer and counted (portal.live.gap_counts).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 reads with a 5 s timeout by default, the same 5 s a
            # consumer's BZPOPMIN blocks: the read lost that race and the
            # socket died. Reads wait longer than any blocking command.
            "hosts": [
                {
                    "address": env("CHANNEL_LAYER_URL", default=REDIS_URL),
                    "socket_timeout": 30,
                    "socket_connect_timeout": 5,
                }
            ],
            "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=1000),
            "expiry": env.int("CHANNEL_LAYER_EXPIRY_SECONDS", default=60),
            "group_expiry": env.int(
                "CHANNEL_LAYER_GROUP_EXPIRY_SECONDS", default=86400
            ),
        },
    }
}
# Shared by every process of a deployment, like the channel layer's groups.
LIVE_KEY_PREFIX = env("LIVE_KEY_PREFIX", default="portal")
LIVE_BUFFER_EVENTS = env.int("LIVE_BUFFER_EVENTS", default=2000)
LIVE_BUFFER_SECONDS = env.int("LIVE_BUFFER_SECONDS", default=86400)
LIVE_REDIS_TIMEOUT_SECONDS = env.float("LIVE_REDIS_TIMEOUT_SECONDS", default=1.0)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "prune-audit-daily": {
        "task": "clinic.tasks.prune_audit_all",
        "schedule": crontab(hour=3, minute=17),
    },
}

# --- Identity and passwords --------------------------------------------------

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "portal.passwords.PasswordHistoryValidator", "OPTIONS": {"depth": 5}},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
)
PASSWORD_RESET_TIMEOUT = 60 * 60
LOGIN_LOCKOUT_THRESHOLD = 5
LOGIN_LOCKOUT_MINUTES = 15
# Lockout per (email, clinic) through django-axes, used by portal.signin
# directly (no axes backend or middleware: every door answers a lockout
# exactly like a wrong password).
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "auth"
AXES_FAILURE_LIMIT = LOGIN_LOCKOUT_THRESHOLD
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "portal.signin.axes_username"
AXES_CLIENT_IP_CALLABLE = "portal.net.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_VERBOSE = False
# Per client address, across every clinic and door (django-ratelimit).
RATELIMIT_USE_CACHE = "auth"
AUTH_ATTEMPTS_PER_ADDRESS = env("AUTH_ATTEMPTS_PER_ADDRESS", default="30/m")
AUTH_FAILURES_PER_ADDRESS = env("AUTH_FAILURES_PER_ADDRESS", default="10/m")
SILENCED_SYSTEM_CHECKS = [
    "axes.W002",  # no AxesMiddleware: portal.signin answers lockouts itself
    "axes.W003",  # no AxesStandaloneBackend: portal.signin asks axes directly
    "axes.W006",  # lockout per (email, clinic); per address is django-ratelimit's
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Browser security headers (django-csp) -------------------------------------

# No inline script and no <style> element anywhere: the brand colour and the
# calendars' placement are style attributes (all 'unsafe-inline' allows here),
# the visit types' colours a stylesheet (clinic.views.colours).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", *env.list("CSP_EXTRA_IMG_SOURCES", default=[])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- API ---------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.ClinicJWTAuthentication"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.IsClinicMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": (
        "portal.api.negotiation.ClinicContentNegotiation"
    ),
    "DEFAULT_PARSER_CLASSES": ["portal.api.parsers.ClinicJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.ClinicAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(
        minutes=env.int("JWT_ACCESS_MINUTES", default=15)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
    "USER_ID_CLAIM": "user_id",
    "TOKEN_OBTAIN_SERIALIZER": "portal.api.tokens.ClinicTokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "portal.api.tokens.ClinicTokenRefreshSerializer",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic practice portal API",
    "DESCRIPTION": "Partner API of one clinic. Authenticate with /api/v1/auth/token/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Request limits ------------------------------------------------------------
# A body over its limit is refused with 413 before anything parses or stores it
# (portal.limits.RequestBodyLimitMiddleware), with or without Content-Length.
# JSON and form bodies share API_MAX_JSON_BYTES; multipart uploads will get a
# larger limit of their own beside it (e.g. API_MAX_UPLOAD_BYTES).

API_MAX_JSON_BYTES = env.int("API_MAX_JSON_BYTES", default=1024 * 1024)
# Django's own check of bodies it reads into memory (and of multipart fields).
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_JSON_BYTES

# --- Audit trail ---------------------------------------------------------------

AUDITLOG_LOGENTRY_MODEL = "clinic.AuditEntry"
AUDITLOG_DISABLE_REMOTE_ADDR = False
AUDITLOG_STORE_JSON_CHANGES = True
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=6 * 365 + 2)

# --- Static and media files ----------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {
        "BACKEND": env(
            "FILE_STORAGE",
            default="django_tenants.files.storage.TenantFileSystemStorage",
        ),
    },
    # Clinic logos: not PHI, shared by the public and clinic hosts.
    "branding": {
        "BACKEND": env(
            "BRANDING_STORAGE", default="django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": {
            "location": str(MEDIA_ROOT / "branding"),
            "base_url": "/media/branding/",
        },
    },
    # Patients' documents: one folder (or S3 prefix) per clinic, see
    # clinic.document_storage; production sets clinic.document_storage.ClinicS3Storage.
    "documents": {
        "BACKEND": env(
            "DOCUMENT_STORAGE",
            default="clinic.document_storage.ClinicFileSystemStorage",
        ),
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Email ---------------------------------------------------------------------

EMAIL_BACKEND = env(
    "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="portal@localhost")

# --- Twilio (the carrier simulator stands in during development) ---------------

TWILIO_ACCOUNT_SID = env(
    "TWILIO_ACCOUNT_SID", default="ACdevelopment0000000000000000000"
)
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="dev-auth-token")
TWILIO_API_BASE = env("TWILIO_API_BASE", default="http://127.0.0.1:8099")

# --- Reminders and SMS ----------------------------------------------------------
# Webhooks are checked against the public URL (PORTAL_PUBLIC_URL with the
# clinic's subdomain), never the request's own Host. A send is committed to the
# outbox before Twilio is called; a row a dead worker left "sending" is
# reconciled against Twilio's message list once SMS_RECONCILE_AFTER_SECONDS
# have passed, which must be well past the HTTP timeout of a live send.

if ENVIRONMENT == "production" and "TWILIO_API_BASE" not in env:
    TWILIO_API_BASE = "https://api.twilio.com"
TWILIO_HTTP_TIMEOUT_SECONDS = env.float("TWILIO_HTTP_TIMEOUT_SECONDS", default=10.0)
SMS_RECONCILE_AFTER_SECONDS = env.int("SMS_RECONCILE_AFTER_SECONDS", default=120)
if SMS_RECONCILE_AFTER_SECONDS <= 2 * TWILIO_HTTP_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "SMS_RECONCILE_AFTER_SECONDS must be more than twice TWILIO_HTTP_TIMEOUT_SECONDS."
    )
SMS_SEND_THREADS = env.int("SMS_SEND_THREADS", default=8)
SMS_DISPATCH_BATCH = env.int("SMS_DISPATCH_BATCH", default=200)
SMS_DISPATCH_SECONDS = env.int("SMS_DISPATCH_SECONDS", default=50)
SMS_MAX_ATTEMPTS = env.int("SMS_MAX_ATTEMPTS", default=6)
CELERY_BEAT_SCHEDULE["reminders-dispatch"] = {
    "task": "calls.tasks.reminders_dispatch_all",
    "schedule": crontab(minute="*"),
}
CELERY_BEAT_SCHEDULE["sms-housekeeping"] = {
    "task": "calls.tasks.housekeeping_all",
    "schedule": crontab(minute="*/5"),
}

# --- Voice calls ----------------------------------------------------------------
# The speech model is pinned: Twilio's defaults change under a live flow. A call
# the worker started placing but never heard back about (a worker killed
# mid-request) is failed, not placed again, after VOICE_PLACING_STALE_SECONDS.
VOICE_SPEECH_MODEL = env("VOICE_SPEECH_MODEL", default="phone_call")
VOICE_PLACING_STALE_SECONDS = env.int("VOICE_PLACING_STALE_SECONDS", default=120)
CELERY_BEAT_SCHEDULE["voice-dispatch"] = {
    "task": "calls.tasks_voice.voice_beat_all",
    "schedule": crontab(minute="*"),
}

# --- Billing -------------------------------------------------------------------
# Insurance member ids are encrypted at rest with keys of their own (Fernet:
# url-safe base64 of 32 random bytes), never derived from SECRET_KEY. The first
# key encrypts, every key decrypts: rotate by putting a new key first, then run
# `manage.py billing_reencrypt` and drop the old key (README, "Rotating the
# billing key"). Every process checks a stored canary at start-up and refuses to
# run under a key that cannot read it (billing.crypto).
_DEV_BILLING_KEY = "_XsjHQtr1Goj8uE5NGFF0rGuOFYEU9DTGXeBsQXAyvM="
BILLING_ENCRYPTION_KEYS = env.list(
    "BILLING_ENCRYPTION_KEYS", default=[_DEV_BILLING_KEY]
)
if ENVIRONMENT == "production" and _DEV_BILLING_KEY in BILLING_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("BILLING_ENCRYPTION_KEYS must be set in production.")
# ISA15 of exported 837P files: T (test) until the clearinghouse says P.
BILLING_X12_USAGE = env("BILLING_X12_USAGE", default="T")
# The largest 835 remittance file accepted (page upload and API).
BILLING_MAX_835_BYTES = env.int("BILLING_MAX_835_BYTES", default=20 * 1024 * 1024)

# --- Locale and logging ----------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# No PHI in logs: every record loses the request it carries and its exception's
# message (which can quote a row or a form value) before any handler formats it
# (portal.logfilters). Request errors keep their path, status and traceback.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"without_phi": {"()": "portal.logfilters.WithoutPHI"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["without_phi"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
    "loggers": {
        "django.request": {
            "handlers": ["console"],
            "level": "ERROR",
            "propagate": False,
            "filters": ["without_phi"],
        },
        "django.server": {"filters": ["without_phi"]},
        "celery": {"filters": ["without_phi"]},
    },
}

# --- Documents: uploads, extraction, review ------------------------------------

# Largest file accepted (413 past it); a multipart body may be this plus a
# little for its other fields (portal.limits).
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Images with more pixels than this are refused unread (decompression bombs).
DOCUMENT_MAX_PIXELS = env.int("DOCUMENT_MAX_PIXELS", default=40_000_000)
DOCUMENT_MAX_PAGES = env.int("DOCUMENT_MAX_PAGES", default=30)
# Below this confidence (0-100, Tesseract's) a document goes to review.
DOCUMENT_REVIEW_CONFIDENCE = env.float("DOCUMENT_REVIEW_CONFIDENCE", default=75.0)
DOCUMENT_OCR_LANGUAGES = env("DOCUMENT_OCR_LANGUAGES", default="eng+spa")
DOCUMENT_OCR_DPI = env.int("DOCUMENT_OCR_DPI", default=300)
# Document kinds and statuses have names of their own in the API schema.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "DocumentKindEnum": "clinic.models.documents.Document.Kind",
        "DocumentStatusEnum": "clinic.models.documents.Document.Status",
    }
)

# --- Production: every secret set, none left at its development value ------------
# One list, checked after everything above is read. A missing or development
# value stops the process at start-up, naming everything still to set.

PRODUCTION_SECRETS = {
    "SECRET_KEY": _DEV_SECRET,
    "JWT_SIGNING_KEY": _DEV_SECRET,
    "DATABASE_URL": None,
    "REDIS_URL": None,
    "PORTAL_PUBLIC_URL": None,
    "TWILIO_ACCOUNT_SID": "ACdevelopment0000000000000000000",
    "TWILIO_AUTH_TOKEN": "dev-auth-token",
    "BILLING_ENCRYPTION_KEYS": _DEV_BILLING_KEY,
}
if ENVIRONMENT == "production":
    _unset = [
        _name
        for _name, _dev_value in PRODUCTION_SECRETS.items()
        if not (_value := env.str(_name, default=""))
        or (_dev_value is not None and _dev_value in _value.split(","))
    ]
    if _unset:
        # Every one at once, so a deployment is fixed in one go.
        raise ImproperlyConfigured(
            " ".join(f"{_name} must be set in production." for _name in _unset)
        )
