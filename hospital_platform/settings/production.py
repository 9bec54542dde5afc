"""Production: everything from the environment, and refuse to start without it."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from . import base

for required in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_ACTIVE_KEY_ID",
                 "BLIND_INDEX_KEY", "AUDIT_HMAC_KEY", "REDIS_URL"):
    if not getattr(base, required):
        raise ImproperlyConfigured(f"{required} must be set in the environment for production.")
if base.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production runs on PostgreSQL: set DATABASE_URL.")

DEBUG = False
CELERY_TASK_ALWAYS_EAGER = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
