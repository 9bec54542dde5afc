"""Settings shared by every environment.

Every secret and every service address comes from the environment. The embedded
default (no DATABASE_URL, no REDIS_URL) is SQLite, the in-memory channel layer and
eager Celery, so `make run` needs nothing installed beyond Python and Tesseract.
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "channels",
    "django_celery_beat",
    "apps.core",
    "apps.tenancy",
    "apps.accounts",
    "apps.privacy",
    "apps.patients",
    "apps.realtime",
    "apps.configuration",
    "apps.booking",
    "apps.compliance",
    "apps.reminders",
    "apps.tips",
    "apps.rarecases",
    "apps.partners",
    "apps.nlp",
    "apps.imaging",
    "apps.reports",
    "apps.webadmin",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.accounts.middleware.BearerTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: everything a view does runs inside the request's tenant context.
    "apps.tenancy.middleware.TenantMiddleware",
]

ROOT_URLCONF = "hospital_platform.urls"
WSGI_APPLICATION = "hospital_platform.wsgi.application"
ASGI_APPLICATION = "hospital_platform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.webadmin.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# DATABASE_URL selects PostgreSQL (production, CI); without it the embedded SQLite.
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
# The role application traffic runs as on PostgreSQL. It has no BYPASSRLS and owns
# no table, so row-level security always applies to it. In production the web and
# worker processes log in as this role; where DATABASE_URL names the owner (dev, CI)
# each tenant transaction drops to it with SET LOCAL ROLE.
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "hospital_app")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Redis, Celery, Channels -----------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")


def redis_db_url(database: int) -> str:
    """The REDIS_URL with its database number replaced, so uses do not collide."""
    base = REDIS_URL.rstrip("/")
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{database}"


if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_db_url(1),
            "KEY_PREFIX": "hp",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "apps.realtime.layers.ChannelLayer",  # channels-redis, see there why
            "CONFIG": {"hosts": [redis_db_url(2)], "prefix": "hp-channels"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Monitoring figures (task latency, heartbeats, connections) live in Redis database 3
# unless MONITORING_REDIS_URL says otherwise. /metrics asks for METRICS_TOKEN when set.
MONITORING_REDIS_URL = os.environ.get("MONITORING_REDIS_URL", "")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or (redis_db_url(0) if REDIS_URL else "memory://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_NAMES = ("default", "ml")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Auth ---------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "webadmin:login"
LOGIN_REDIRECT_URL = "webadmin:dashboard"
LOGOUT_REDIRECT_URL = "webadmin:login"
ANONYMOUS_USER_NAME = None  # django-guardian: no anonymous object permissions.

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# API tokens: staff tokens are short-lived; mini-program (patient) tokens last longer
# because the patient re-logs in through WeChat silently.
API_TOKEN_TTL_SECONDS = int(os.environ.get("API_TOKEN_TTL_SECONDS", str(12 * 3600)))
API_TOKEN_TTL_PATIENT_SECONDS = int(os.environ.get("API_TOKEN_TTL_PATIENT_SECONDS", str(7 * 24 * 3600)))
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))

# WeChat mini program. The base URL is configurable so tests (and a proxy) can
# stand in for api.weixin.qq.com.
WECHAT_API_BASE_URL = os.environ.get("WECHAT_API_BASE_URL", "https://api.weixin.qq.com")
WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "")
WECHAT_TIMEOUT_SECONDS = float(os.environ.get("WECHAT_TIMEOUT_SECONDS", "5"))
# "formal" in production; "developer" or "trial" sends to those builds of the mini program.
WECHAT_MINIPROGRAM_STATE = os.environ.get("WECHAT_MINIPROGRAM_STATE", "formal")

# --- Encryption and audit keys ---------------------------------------------
# FIELD_ENCRYPTION_KEYS: "keyid:base64key,keyid:base64key" (AES-256-GCM keys);
# the active one encrypts, all of them decrypt, so keys can rotate.
FIELD_ENCRYPTION_KEYS = os.environ.get("FIELD_ENCRYPTION_KEYS", "")
FIELD_ENCRYPTION_ACTIVE_KEY_ID = os.environ.get("FIELD_ENCRYPTION_ACTIVE_KEY_ID", "")
BLIND_INDEX_KEY = os.environ.get("BLIND_INDEX_KEY", "")
AUDIT_HMAC_KEY = os.environ.get("AUDIT_HMAC_KEY", "")
# Independent audit chains per hospital, so concurrent requests do not all queue on
# one chain head. Changing it later is safe: existing chains stay verifiable.
AUDIT_CHAIN_SHARDS = int(os.environ.get("AUDIT_CHAIN_SHARDS", "8"))

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": os.environ.get("LOGIN_THROTTLE_RATE", "20/min"),
        # inbound partner shares, per partner id and address: a backlog drains at a few a second
        "partner_inbound": os.environ.get("PARTNER_INBOUND_THROTTLE_RATE", "600/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Hospital platform API",
    "DESCRIPTION": "Multi-tenant hospital platform: tenancy, identity, audit, lab reports, imaging, ...",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "SECURITY": [{"bearerAuth": []}],
    # Swagger UI from the installed sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Internationalisation ----------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Trained model artifacts (shared storage that every ML worker mounts). Registered
# artifacts must live under it.
MODEL_STORAGE_ROOT = Path(os.environ.get("MODEL_STORAGE_ROOT", VAR_DIR / "models"))
# Lab-report uploads: the largest file accepted (bytes); pixel limits are in
# ml.labreport.images.ImageLimits.
LAB_REPORT_MAX_UPLOAD_BYTES = int(os.environ.get("LAB_REPORT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
