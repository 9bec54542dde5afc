"""Test settings: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI
always sets them), otherwise the embedded SQLite and in-memory layers. Keys are fixed
test keys so tests are repeatable; nothing here is a production secret."""

from .base import *  # noqa: F401,F403
import os
from pathlib import Path

from .base import VAR_DIR

VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnop"
FIELD_ENCRYPTION_KEYS = "test1:dGVzdC1rZXktb25lLTAxMjM0NTY3ODlhYmNkZWYwMTI="
FIELD_ENCRYPTION_ACTIVE_KEY_ID = "test1"
BLIND_INDEX_KEY = "dGVzdC1ibGluZC1pbmRleC1rZXktMDEyMzQ1Njc4OWE="
AUDIT_HMAC_KEY = "dGVzdC1hdWRpdC1obWFjLWtleS0wMTIzNDU2Nzg5YWI="

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["*"]
# Tests start their own real worker where they need one; everything else is eager. A
# worker whose tasks retry through the broker is started with CELERY_TASK_ALWAYS_EAGER=0
# (an eager worker would run a retry inline at once, without its countdown).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)  # noqa: F405
# A worker process started by a test is told the test's media folder through the environment.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "test-media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the finders (no collectstatic before tests).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# Each test run its own cache key prefix, so parallel suites on one Redis cannot clear
# or read each other's keys.
if REDIS_URL:  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"  # noqa: F405
