"""The embedded default used by `make run`: SQLite, in-memory channel layer, eager
Celery, keys generated on first run into the git-ignored local-keys.env."""

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, VAR_DIR
from .keys import load_or_create_local_keys

DEBUG = True
VAR_DIR.mkdir(parents=True, exist_ok=True)

_keys = load_or_create_local_keys(BASE_DIR / "local-keys.env")
SECRET_KEY = _keys["DJANGO_SECRET_KEY"]
FIELD_ENCRYPTION_KEYS = _keys["FIELD_ENCRYPTION_KEYS"]
FIELD_ENCRYPTION_ACTIVE_KEY_ID = _keys["FIELD_ENCRYPTION_ACTIVE_KEY_ID"]
BLIND_INDEX_KEY = _keys["BLIND_INDEX_KEY"]
AUDIT_HMAC_KEY = _keys["AUDIT_HMAC_KEY"]
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
