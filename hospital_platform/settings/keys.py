"""Local key material for the embedded default and for tests.

Production reads every key from the environment. For `make run` the keys are made
on first run and kept in `local-keys.env` (git-ignored), so the local database stays
readable across restarts and no key is ever committed.
"""

import base64
import os
import secrets
from pathlib import Path

KEY_NAMES = ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_ACTIVE_KEY_ID", "BLIND_INDEX_KEY", "AUDIT_HMAC_KEY")


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def generate_key_set() -> dict[str, str]:
    key_id = "local1"
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": f"{key_id}:{new_key()}",
        "FIELD_ENCRYPTION_ACTIVE_KEY_ID": key_id,
        "BLIND_INDEX_KEY": new_key(),
        "AUDIT_HMAC_KEY": new_key(),
    }


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def load_or_create_local_keys(path: Path) -> dict[str, str]:
    """Keys from the environment win; missing ones come from (or go to) `path`."""
    if not path.exists():
        keys = generate_key_set()
        path.write_text("# Local development keys, made on first run. Never commit.\n"
                        + "".join(f"{name}={value}\n" for name, value in keys.items()))
        path.chmod(0o600)
    stored = read_env_file(path)
    return {name: os.environ.get(name) or stored.get(name, "") for name in KEY_NAMES}
