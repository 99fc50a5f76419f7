"""Foodies settings: one module, every value from the environment (or `.env`).

`.env.example` lists each setting with a comment. Production is the default: `DEBUG` is
off unless asked for, and then `SECRET_KEY` must be given.
"""

from pathlib import Path

import environ
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

from config import account_settings, api_settings, payment_settings
from config.backing_services import cache_from_env, database_from_env, file_storages_from_env
from config.logging_config import logging_config, sentry_init
from config.periodic import beat_schedule
from config.security_config import content_security_policy

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A real environment variable always wins over the file.
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set it in the environment or in .env "
            "(`make run` writes a .env with a fresh key for local use)."
        )
    # Local development only: a per-checkout key is still better than a shared constant.
    SECRET_KEY = "insecure-dev-only-" + str(BASE_DIR)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "modeltranslation",  # menu names per language (catalog/translation.py); before the admin
    "config.apps.FoodiesAdminConfig",  # django.contrib.admin with the shop's dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "config",
    "accounts",
    "catalog",
    "cart",
    "orders",
    "payments",
    "invoices",
]

MIDDLEWARE = [
    # Outermost: a request id (X-Request-ID in and out) for every log line (config/logs.py).
    "config.logs.RequestIdMiddleware",
    # Latency and database queries per route, for /metrics (config/metrics.py).
    "config.metrics.MetricsMiddleware",
    # Before anything asks who is calling: answers preflights, and marks every
    # answer (the JSON error pages below included) for the allowed origins.
    "corsheaders.middleware.CorsMiddleware",
    "config.middleware.ApiJsonErrorsMiddleware",
    "config.middleware.RejectNulMiddleware",
    "config.middleware.TokenIgnoredHeaderMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (django-csp), see Security below
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the answer from Accept-Language (id or en, else LANGUAGE_CODE); it sets
    # Content-Language and Vary. After sessions, before CommonMiddleware (Django's docs).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # ETags from the body for GETs that have none (304 when unchanged); catalog reads set
    # their own from the catalog version when CATALOG_CACHE is on.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in staff member's own `language` wins in the admin (config/i18n.py).
    "config.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

# --- Database -----------------------------------------------------------------------
DATABASES = {"default": database_from_env(env, base_dir=BASE_DIR)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttle counters and cached menu responses) ----------------------------
CACHES = {"default": cache_from_env(env)}
# Cache anonymous menu responses under the catalog version (see catalog/api/caching.py). The
# version is a database row, so this is safe with any cache, a per-process one included.
CATALOG_CACHE = env.bool("CATALOG_CACHE", default=True)
# How long a browser or proxy may reuse a menu response without asking again.
CATALOG_CACHE_MAX_AGE = env.int("CATALOG_CACHE_MAX_AGE", default=5)
CATALOG_CACHE_TIMEOUT = env.int("CATALOG_CACHE_TIMEOUT", default=300)

# --- Auth ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed password checks (accounts/login_limits.py: API and admin login, password change,
# account deletion), counted in the cache per account and per client address: this many
# failures within the window lock that account or address for LOGIN_LOCKOUT_SECONDS (then
# it ends by itself). Shared across processes only with a shared cache (CACHE_URL=redis://).
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=5)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
for _name in (
    "LOGIN_FAILURES_PER_ACCOUNT",
    "LOGIN_FAILURES_PER_ADDRESS",
    "LOGIN_FAILURE_WINDOW_SECONDS",
    "LOGIN_LOCKOUT_SECONDS",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")

# --- I18N / time --------------------------------------------------------------------
# The shop's language: answers without Accept-Language, mail to users who chose none.
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="id")
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of {', '.join(dict(LANGUAGES))}.")
# One catalog for the project's own messages (README: "Translations").
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
# Menu names and descriptions (catalog/translation.py): `name_ind` is the text of record, an
# empty `name_en` reads as it, whatever LANGUAGE_CODE is.
MODELTRANSLATION_DEFAULT_LANGUAGE = "id"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("id",)
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

# --- Static, media, private files ---------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Invoice and credit note PDFs: outside MEDIA_ROOT, never given a URL; served only by
# views that check who is asking. Swap the "private" backend for an object store (a
# private bucket) by configuration: the code only uses Django's storage API.
PRIVATE_ROOT = Path(env.str("PRIVATE_ROOT", default=str(BASE_DIR / "private")))
# STORAGE_BACKEND=s3: both in an S3-compatible store shared by every instance (config/storage.py;
# buckets made by `manage.py storage_init`, never on the fly).
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")
_file_storages = file_storages_from_env(env, backend=STORAGE_BACKEND)
STORAGES = {
    **_file_storages,
    # Compressed, unhashed names: works with or without `collectstatic` (the only static
    # files are the admin's and Swagger UI's, so cache-busting hashes buy little).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve the admin's static files without a collectstatic step when run locally.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security (on when DEBUG is off; each overridable) ------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers probe the health check over plain HTTP on the internal hop.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$", r"^api/v1/ready/$"]
X_FRAME_OPTIONS = "DENY"
# Staff sessions (the admin) end after this many seconds, not Django's two weeks.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
# Where the admin lives: a path of one's own keeps it out of the scanners' way.
ADMIN_URL = env.str("ADMIN_URL", default="admin/").strip("/") + "/"
if ADMIN_URL == "/" or ADMIN_URL.startswith(("api/", "payments/", "static/", "media/")):
    raise ImproperlyConfigured(f"ADMIN_URL must be a path of its own, such as `admin/`, not {ADMIN_URL!r}.")
# Swagger UI (/api/docs/) and the OpenAPI schema (/api/schema/): a 404 when off.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=DEBUG)
# Content-Security-Policy on every response (django-csp); config/security_config.py says what it allows.
CONTENT_SECURITY_POLICY = content_security_policy(media_url=MEDIA_URL)

# --- Django REST framework ----------------------------------------------------------
REST_FRAMEWORK = api_settings.rest_framework_settings(env)
SIMPLE_JWT = api_settings.simple_jwt_settings(env)
SPECTACULAR_SETTINGS = api_settings.SPECTACULAR

# --- CORS (browser apps on other origins: django-cors-headers) ---------------------
# Scheme, host and port of each web app allowed to call the API from a browser, e.g.
# http://localhost:3000. Empty (the default): no other origin may. Credentials are never
# allowed: shoppers send a Bearer token, and the staff session stays same-origin.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_HEADERS = (*cors_default_headers, "accept-language", "idempotency-key", "if-none-match")
CORS_EXPOSE_HEADERS = [
    "ETag",
    "Idempotent-Replayed",
    "Retry-After",
    "Content-Language",
    "Token-Ignored",
    "X-Shop-Paused-Until",  # busy mode on menu reads (catalog/api/caching.py)
]
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=600)

# A refresh token presented again this soon after its exchange (two tabs refreshing at
# once, a retry after a lost answer) gets the same new pair; later, it is taken as theft.
JWT_REFRESH_GRACE_SECONDS = env.int("JWT_REFRESH_GRACE_SECONDS", default=10)


# --- Domain settings ----------------------------------------------------------------
CURRENCY = "IDR"
CART_MAX_QUANTITY = env.int("CART_MAX_QUANTITY", default=50)
# Limits against hoarding (README, "Limits"): units of one product in a cart whatever the
# options and notes, lines in a cart, and orders awaiting payment per shopper at once.
CART_MAX_UNITS_PER_PRODUCT = env.int("CART_MAX_UNITS_PER_PRODUCT", default=50)
CART_MAX_LINES = env.int("CART_MAX_LINES", default=30)
MAX_UNPAID_ORDERS = env.int("MAX_UNPAID_ORDERS", default=2)
# The Midtrans webhook: the largest body read (a notification is a few kB), and how long
# notifications tied to no payment are kept.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=64 * 1024)
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=90)
ORDER_PAYMENT_TTL_MINUTES = env.int("ORDER_PAYMENT_TTL_MINUTES", default=60)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# A key still "in progress" after this long belongs to a request that died mid-way.
IDEMPOTENCY_LOCK_SECONDS = env.int("IDEMPOTENCY_LOCK_SECONDS", default=60)
# The seller printed on every invoice and credit note (frozen into each at issue).
SHOP_NAME = env.str("SHOP_NAME", default="Foodies")
SHOP_ADDRESS = env.str("SHOP_ADDRESS", default="Jl. Sabang No. 10, Menteng, Jakarta Pusat 10350")
SHOP_TAX_ID = env.str("SHOP_TAX_ID", default="")
# Pickup slots (orders/pickup/): length, how far ahead they can be booked, how many
# orders the kitchen takes per slot unless staff set another number, and the least time
# between checkout and the start of the slot booked.
PICKUP_SLOT_MINUTES = env.int("PICKUP_SLOT_MINUTES", default=15)
PICKUP_DAYS_AHEAD = env.int("PICKUP_DAYS_AHEAD", default=3)
PICKUP_SLOT_CAPACITY = env.int("PICKUP_SLOT_CAPACITY", default=5)
PICKUP_MIN_LEAD_MINUTES = env.int("PICKUP_MIN_LEAD_MINUTES", default=15)
# How long the kitchen needs for an "as soon as possible" order: it is ready in the first
# slot starting at least this long after checkout (plus any delay staff set in busy mode).
KITCHEN_PREP_MINUTES = env.int("KITCHEN_PREP_MINUTES", default=15)
for _name, _least in [
    ("PICKUP_SLOT_MINUTES", 1),
    ("PICKUP_DAYS_AHEAD", 0),
    ("PICKUP_SLOT_CAPACITY", 0),
    ("PICKUP_MIN_LEAD_MINUTES", 0),
    ("KITCHEN_PREP_MINUTES", 0),
    ("CART_MAX_UNITS_PER_PRODUCT", 1),
    ("CART_MAX_LINES", 1),
    ("MAX_UNPAID_ORDERS", 1),
    ("WEBHOOK_MAX_BODY_BYTES", 1024),
    ("WEBHOOK_RETENTION_DAYS", 1),
]:
    if globals()[_name] < _least:
        raise ImproperlyConfigured(f"{_name} must be at least {_least}.")
# --- Payments (DESIGN.md §7): PUBLIC_BASE_URL, MIDTRANS_*, PAYMENT_*, MOCK_GATEWAY_KEY ----
globals().update(payment_settings.payment_settings(env, debug=DEBUG, secret_key=SECRET_KEY))

# --- E-mail (receipts) -------------------------------------------------------------
# EMAIL_URL: smtp://user:password@host:587 (smtp+tls://, smtp+ssl://), consolemail:// (the
# default: printed by `make run`), filemail:////absolute/dir, dummymail://.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
for _key in ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_FILE_PATH"):
    if _email.get(_key) not in (None, ""):
        globals()[_key] = _email[_key]
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
# Seconds an SMTP connection may hang before the send fails (and its task retries).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Foodies <no-reply@foodies.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who is told of low stock (catalog/low_stock.py); empty: the active members of the Manager group.
STAFF_NOTIFY_EMAILS = env.list("STAFF_NOTIFY_EMAILS", default=[])
# A receipt being sent is claimed for this long: a duplicate task leaves it alone meanwhile,
# and if the sender died, the sweep (send_due_receipts) sends it again after that.
RECEIPT_CLAIM_SECONDS = env.int("RECEIPT_CLAIM_SECONDS", default=600)
# How far back the sweep looks for paid orders whose receipt has not gone out.
RECEIPT_SWEEP_HOURS = env.int("RECEIPT_SWEEP_HOURS", default=24)
# Retries of one receipt task (exponential backoff, at most RECEIPT_RETRY_MAX_SECONDS apart).
RECEIPT_MAX_RETRIES = env.int("RECEIPT_MAX_RETRIES", default=5)
RECEIPT_RETRY_MAX_SECONDS = env.int("RECEIPT_RETRY_MAX_SECONDS", default=300)
# Password reset and e-mail verification links, REQUIRE_VERIFIED_EMAIL: config/account_settings.py.
globals().update(account_settings.account_settings(env))

# --- Background work (Celery; config/celery.py, README "Background work") ------------
# Unset: no broker, no worker; each task runs in the app process after its transaction
# commits (config/tasks.py). Set, e.g. redis://127.0.0.1:6379/0: workers run them.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or None
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="foodies")
# Nothing reads task results: every outcome is in the database.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Acknowledge after the task ran, and give a task back when its worker process dies: a task
# lost halfway runs again, which is safe because every task is idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
# Redis hands an unacknowledged task to another worker after this long: keep it above the
# longest task and the longest retry delay.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "celerybeat-schedule")
)
# Periodic jobs (celery beat). Each interval in seconds; each run expires after one
# interval, so a worker that was down does not work through a backlog of stale runs.
SCHEDULE_EXPIRE_ORDERS_SECONDS = env.int("SCHEDULE_EXPIRE_ORDERS_SECONDS", default=60)
SCHEDULE_RECONCILE_PAYMENTS_SECONDS = env.int("SCHEDULE_RECONCILE_PAYMENTS_SECONDS", default=180)
# Reconciliation asks only about attempts at least this old (a fresh one is still with the shopper).
RECONCILE_MIN_AGE_SECONDS = env.int("RECONCILE_MIN_AGE_SECONDS", default=60)
SCHEDULE_SWITCH_PRICES_SECONDS = env.int("SCHEDULE_SWITCH_PRICES_SECONDS", default=60)
SCHEDULE_SEND_DUE_RECEIPTS_SECONDS = env.int("SCHEDULE_SEND_DUE_RECEIPTS_SECONDS", default=300)
# Status e-mails (ready, cancelled, refunded) whose task was lost: the receipts' claim and window.
SCHEDULE_SEND_DUE_STATUS_EMAILS_SECONDS = env.int("SCHEDULE_SEND_DUE_STATUS_EMAILS_SECONDS", default=300)
SCHEDULE_PURGE_IDEMPOTENCY_KEYS_SECONDS = env.int("SCHEDULE_PURGE_IDEMPOTENCY_KEYS_SECONDS", default=86400)
# Makes the pickup slot rows of the booking window and the day after (a listing only reads).
SCHEDULE_MAKE_PICKUP_SLOTS_SECONDS = env.int("SCHEDULE_MAKE_PICKUP_SLOTS_SECONDS", default=3600)
SCHEDULE_PURGE_NOTIFICATIONS_SECONDS = env.int("SCHEDULE_PURGE_NOTIFICATIONS_SECONDS", default=86400)
_periodic = {
    "expire-due-orders": ("payments.tasks.expire_due_orders", SCHEDULE_EXPIRE_ORDERS_SECONDS),
    "reconcile-payments": ("payments.tasks.reconcile_payments", SCHEDULE_RECONCILE_PAYMENTS_SECONDS),
    "switch-due-prices": ("catalog.tasks.switch_due_prices", SCHEDULE_SWITCH_PRICES_SECONDS),
    "send-due-receipts": ("invoices.tasks.send_due_receipts", SCHEDULE_SEND_DUE_RECEIPTS_SECONDS),
    "send-due-status-emails": (
        "orders.tasks.send_due_status_emails",
        SCHEDULE_SEND_DUE_STATUS_EMAILS_SECONDS,
    ),
    "purge-idempotency-keys": (
        "orders.tasks.purge_idempotency_keys",
        SCHEDULE_PURGE_IDEMPOTENCY_KEYS_SECONDS,
    ),
    "make-pickup-slots": ("orders.tasks.make_pickup_slots", SCHEDULE_MAKE_PICKUP_SLOTS_SECONDS),
    "purge-notifications": ("payments.tasks.purge_notifications", SCHEDULE_PURGE_NOTIFICATIONS_SECONDS),
}
CELERY_BEAT_SCHEDULE = beat_schedule(_periodic)

# `/metrics` (Prometheus) answers only `Authorization: Bearer <this>`; unset: a 404 for all.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Seconds each dependency gets to answer `ready/` (config/readiness.py).
READY_CHECK_TIMEOUT = env.float("READY_CHECK_TIMEOUT", default=2.0)

# Shown by `seed` and `make run`; only ever created while DEBUG is on.
DEMO_PASSWORD = "foodies-demo-123"

# Routes `/_bench/bare`, the reference view of `bench/run.py`. Only the benchmark sets it.
BENCH_ROUTES = env.bool("BENCH_ROUTES", default=False)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# `text` (the default) or `json`: one JSON object per line with the request id (config/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be `text` or `json`.")
# A worker logs through this configuration too (its lines in the same format, with ids).
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)

# Error reports to Sentry (or a compatible service) when SENTRY_DSN is set; off without it.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    sentry_init(env, dsn=SENTRY_DSN)
