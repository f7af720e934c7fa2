"""Settings shared by every environment; everything that varies comes from the environment."""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.DatabourseAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our own static files (no CDN)
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "audit",
    "accounts",
    "registry",
    "valuation",
    "marketplace",
    "sandbox",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # Idempotency-Key on /api/v1/ POSTs (after authentication: it resolves the caller with the view's authenticators).
    "core.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent ledger appends queue instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
elif env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    # Server-side binding lets psycopg prepare the statements a connection runs often (the webhook path runs the
    # same dozen per event). Off behind PgBouncer in transaction mode, which cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# django-guardian: no anonymous user row; anonymous visitors never get object permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# django-axes: lock an account/IP pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

OTP_TOTP_ISSUER = "Databourse"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Uploaded files are private: they are served only through views that check permissions.
MEDIA_URL = "/media-not-public/"
STORAGES = {
    "default": {"BACKEND": env("DJANGO_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
BUSINESS_LICENCE_MAX_BYTES = env.int("BUSINESS_LICENCE_MAX_BYTES", default=10 * 1024 * 1024)
REGISTRY_MAX_UPLOAD_BYTES = env.int("REGISTRY_MAX_UPLOAD_BYTES", default=2 * 1024**3)
# Lending ceiling of a pledged data asset = value * this ratio, unless a valuation names its own ratio.
VALUATION_PLEDGE_RATIO = env.str("VALUATION_PLEDGE_RATIO", default="0.3")
# Uploads above this size are streamed to a temporary file, never held in memory.
FILE_UPLOAD_TEMP_DIR = env("DJANGO_FILE_UPLOAD_TEMP_DIR", default=None)

MAILERS = {
    "default": {"BACKEND": env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")}
}
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Databourse <noreply@databourse.local>")
INVITATION_TTL_DAYS = 14
SITE_URL = env("DJANGO_SITE_URL", default="http://127.0.0.1:8000")

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    CELERY_BROKER_URL = "memory://"  # never used by eager tasks; keeps kombu from guessing a host
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "expire-contracts": {"task": "marketplace.expire_contracts", "schedule": 15 * 60},
    "rematch-open-demands": {"task": "marketplace.rematch_open_demands", "schedule": 60 * 60},
    "reconcile-payments": {"task": "marketplace.payments_reconcile", "schedule": 10 * 60},
    "verify-ledger": {"task": "audit.ledger_verify", "schedule": 24 * 60 * 60},
    "purge-idempotency-keys": {"task": "core.idempotency_purge", "schedule": 60 * 60},
    "requeue-stalled-webhooks": {"task": "integrations.requeue_stalled", "schedule": 5 * 60},
}

STRIPE_API_KEY = env("STRIPE_API_KEY", default="sk_test_databourse")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:8420")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="whsec_databourse_local")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="pk_test_databourse")
# Stripe.js must come from Stripe (PCI DSS): the one script the app does not serve itself. localstripe serves a
# test copy under its own address, which is the default.
STRIPE_JS_URL = env("STRIPE_JS_URL", default=f"{STRIPE_API_BASE.rstrip('/')}/js.stripe.com/v3/")
# Payouts by Stripe Connect transfers instead of being marked paid by an admin (localstripe has no Connect).
STRIPE_CONNECT_ENABLED = env.bool("STRIPE_CONNECT_ENABLED", default=False)

# The exchange keeps this share of every sale and usage bill; the rest is owed to the merchant.
MARKETPLACE_PLATFORM_FEE_PERCENT = env.str("MARKETPLACE_PLATFORM_FEE_PERCENT", default="5")
# Signed download links work this long after they are handed out.
MARKETPLACE_DOWNLOAD_LINK_SECONDS = env.int("MARKETPLACE_DOWNLOAD_LINK_SECONDS", default=15 * 60)
# Key of the per-contract fingerprints in delivered files; keep it stable, or earlier copies can no longer be traced.
MARKETPLACE_FINGERPRINT_KEY = env.str("MARKETPLACE_FINGERPRINT_KEY", default="")

# Sandbox queries: each runs in a fresh DuckDB with this memory limit, one thread, and is stopped after this long.
# The Parquet build of a dataset uses the same memory limit.
SANDBOX_MEMORY_LIMIT = env.str("SANDBOX_MEMORY_LIMIT", default="512MB")
SANDBOX_MAX_EXECUTION_MS = env.int("SANDBOX_MAX_EXECUTION_MS", default=10_000)

# Outgoing webhooks (integrations app, docs/partners-webhooks.md). Plain http:// and private or loopback addresses
# (http://127.0.0.1:…) are accepted only when INTEGRATIONS_ALLOW_HTTP is on; unset, it follows DEBUG.
INTEGRATIONS_ALLOW_HTTP = env.bool("INTEGRATIONS_ALLOW_HTTP", default=None)
# Each POST waits this long (seconds) to connect, and this long for each read of the answer.
INTEGRATIONS_CONNECT_TIMEOUT = env.float("INTEGRATIONS_CONNECT_TIMEOUT", default=3.0)
INTEGRATIONS_READ_TIMEOUT = env.float("INTEGRATIONS_READ_TIMEOUT", default=5.0)
# A delivery is tried at most this many times, waiting base * 2^(n-1) seconds after the n-th failure
# (defaults: 6 attempts, 1, 2, 4, 8 and 16 minutes apart), then given up.
INTEGRATIONS_MAX_ATTEMPTS = env.int("INTEGRATIONS_MAX_ATTEMPTS", default=6)
INTEGRATIONS_RETRY_BASE_SECONDS = env.int("INTEGRATIONS_RETRY_BASE_SECONDS", default=60)
# An endpoint is disabled (its managers are mailed) when this many deliveries in a row were given up.
INTEGRATIONS_DISABLE_AFTER_GIVEN_UP = env.int("INTEGRATIONS_DISABLE_AFTER_GIVEN_UP", default=5)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env("API_KEY_THROTTLE_RATE", default="120/min")},
    # JSON only: errors are the same `{code, detail}` body whatever the client asks for (no browsable HTML API).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.api.PageNumberPagination",
    "PAGE_SIZE": 20,  # every list, the listings catalogue too (marketplace.api.listings)
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",  # accounts.api.schema.AutoSchema (scopes) and summaries
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# The introduction of the OpenAPI schema (Swagger UI at /api/v1/docs/, ReDoc at /api/v1/redoc/).
API_DESCRIPTION = """
The partner API of Databourse, a data asset registry and exchange: register data products, list them, buy
licences, pay, download or call the data, value assets, and compute in the sandbox. Everything a merchant or a
buyer does in the web UI can be done here. The partner guide (`docs/partners.md`) walks through it step by step.

## Authentication
Send `Authorization: Api-Key <key>` on every request. An owner or admin of a verified organisation issues keys
in the web UI (*API keys* in the menu, `/accounts/api-keys/`); a key acts for that organisation only. The raw
key is shown once, when it is created; only its SHA-256 is stored. Keys may expire and are revoked at once.

Scopes: `read` keys may only read (GET); `write` keys may also create and change; `manage` keys may also do what
an owner or admin does (organisation profile, members, invitations, revoking keys, sandbox export decisions).
A write with a read key, or a manage operation with a write key, is `403 insufficient_scope`. A missing, invalid,
revoked or expired key is `401` (`not_authenticated`, `api_key_missing`, `api_key_invalid`, `api_key_revoked`,
`api_key_expired`, `organization_not_verified`).

## Errors
Every error is JSON with a stable `code` and a `detail` for people; invalid bodies (`400 invalid`) also carry
`fields` (field → messages, `non_field_errors` for the body as a whole). Another organisation's object is
always `404 not_found`, never `403`. A change the object's state does not allow is `409` (`invalid_transition`
and the like). Each operation lists its own codes below.

## Pagination, filtering and ordering
Lists are pages: `{"count", "next", "previous", "results"}`; ask for `?page=2` or follow `next` until it is
null. `?page_size=` takes up to 100 (default 20 on every list). Lists take filters as query parameters, and
`ordering=<field>` (`-<field>` descending) with the fields each list documents.

## Rate limits
Each key may make `API_KEY_THROTTLE_RATE` requests (120 a minute by default); beyond it the answer is
`429 throttled` with `Retry-After` in seconds. The metered data API has its plan's own limits
(`rate_limited`, `quota_exceeded`, also with `Retry-After`).

## Idempotency
Send an `Idempotency-Key` header (any unique string up to 255 characters, e.g. a UUID) with every POST. A retry
with the same key and body within 24 hours gets the first answer back, marked `Idempotent-Replayed: true`,
instead of creating a duplicate. While the first request is still running a retry is
`409 idempotency_in_progress`; the same key on another path or body is `422 idempotency_key_reused`. Server
errors (5xx) and `429` are not kept, so their retry runs again. Keys belong to the API key that sent them.

## Webhooks
Register HTTPS endpoints for events (`product.registered`, `listing.published`, `contract.active`,
`payment.succeeded`, ...) with `/webhook-endpoints/`. Each delivery carries
`Databourse-Signature: t=<unix time>,v1=<hex>`, an HMAC-SHA256 of `<t>.<raw body>` keyed with the endpoint's
secret; `docs/partners-webhooks.md` lists the events and has a verifying snippet.

## Money and time
Amounts are strings in CNY with two decimals (`"48000.00"`); times are ISO 8601 with a time zone.
"""

# `Idempotency-Key` on the API's POSTs (core.idempotency): the first answer to a key is replayed this long, after which
# the key may be used again; a periodic task deletes older records.
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)

SPECTACULAR_SETTINGS = {
    "TITLE": "Databourse API",
    "DESCRIPTION": API_DESCRIPTION.strip(),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "TAGS": [
        {"name": "me", "description": "Who is calling: the signed-in person, or the API key and its organisation."},
        {"name": "organizations", "description": "Your organisations' profiles."},
        {"name": "memberships", "description": "Members of your organisations and their roles."},
        {"name": "invitations", "description": "Invitations to join your organisations, sent by e-mail."},
        {"name": "api-keys", "description": "Your organisations' API keys (issued and revoked by people signed in)."},
        {"name": "products", "description": "Data products: draft, upload versions, add documents, submit."},
        {"name": "versions", "description": "Versions of products: profile, quality, masked sample, progress."},
        {"name": "documents", "description": "The files of products' supporting documents."},
        {"name": "certificates", "description": "Public check of a registration certificate (no key needed)."},
        {"name": "listings", "description": "The catalogue of published listings, and your own listings and plans."},
        {"name": "contracts", "description": "Purchases and sales: request, approve, cancel, terminate, PDF."},
        {"name": "payments", "description": "Paying contracts with Stripe, refunds."},
        {"name": "entitlements", "description": "What you bought: downloads, metered API access, sandbox access."},
        {"name": "downloads", "description": "Files behind signed download links."},
        {"name": "data", "description": "The metered data API: rows of a listing you hold an API plan on."},
        {"name": "demands", "description": "Buyers' data demands and the listings that match them."},
        {"name": "offers", "description": "Merchants' offers answering demands."},
        {"name": "reviews", "description": "Buyers' ratings of listings, with the merchant's reply."},
        {"name": "complaints", "description": "Complaints about purchases and sales, and the regulator's decision."},
        {"name": "settlement", "description": "A merchant's balance, ledger entries and monthly statements."},
        {"name": "payouts", "description": "What the exchange paid out to a merchant."},
        {"name": "valuations", "description": "Valuations of data assets: cost, income and market methods, PDF."},
        {"name": "revaluations", "description": "Revalue many products at once with your latest valuation of each."},
        {"name": "comparables", "description": "Comparable transactions entered by hand, for market valuations."},
        {"name": "sandbox", "description": "Compute on level-4 data without downloading it: datasets, runs, exports."},
        {"name": "webhook-endpoints", "description": "Your endpoints for outgoing webhooks: events, secret, tests."},
        {"name": "webhook-deliveries", "description": "The delivery log of your webhook endpoints; redelivery."},
    ],
    # Swagger UI and ReDoc from drf-spectacular-sidecar's files under STATIC_URL; nothing is loaded off-site
    # (no validator badge either). The pages' CSP: API_DOCS_CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None, "displayOperationId": True},
    "REDOC_UI_SETTINGS": {"expandResponses": "200,201"},
    # After drf-spectacular's own enum hook: the errors of every operation, the Idempotency-Key header and its answers
    # on every POST, and the main flows' examples (core/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.errors_documented",
        "core.openapi.idempotency_documented",
        "core.openapi.examples_attached",
    ],
}

# Content-Security-Policy (Django's built-in middleware): everything is served by the app itself, but Stripe.js
# (loaded on the payment page only) and the Stripe API it talks to.
_STRIPE_JS_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(STRIPE_JS_URL))
_STRIPE_API_ORIGIN = "https://api.stripe.com" if "stripe.com" in _STRIPE_JS_ORIGIN else _STRIPE_JS_ORIGIN
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE, _STRIPE_JS_ORIGIN],
    "frame-src": [_STRIPE_JS_ORIGIN],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF, _STRIPE_API_ORIGIN],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
# The API's documentation pages (/api/v1/docs/, /api/v1/redoc/): their <style> elements carry the page's nonce (ReDoc
# adds its own with it), and ReDoc runs its search in a worker it builds from a blob: URL. The hash is
# perfect-scrollbar's CSS, which ReDoc 2.5 adds before it is given the nonce (without it only the menu's scrollbar is
# unstyled). ReDoc's footer shows Redocly's logo from their CDN: img-src blocks it, so nothing is fetched off-site.
_REDOC_SCROLLBAR_CSS = "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='"
API_DOCS_CSP = {
    **SECURE_CSP,
    "style-src": [CSP.SELF, CSP.NONCE, _REDOC_SCROLLBAR_CSS],
    "worker-src": [CSP.SELF, "blob:"],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}
