"""The keyed hash that links audit events into a tamper-evident chain."""

import base64
import hashlib
import hmac
import json

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "chain", "sequence", "occurred_at", "actor_id", "actor_username", "role", "hospital_id", "action",
    "object_type", "object_id", "patient_id", "ip", "user_agent", "request_id", "outcome", "detail",
)


def chain_name(hospital_id: int | None, shard: int = 0) -> str:
    """Each hospital's log is spread over AUDIT_CHAIN_SHARDS independent chains
    ("hospital:3/0" ... "hospital:3/7"; "platform/0" ... for events of no hospital).
    An append locks its chain's head until the request commits; with one chain a
    busy hospital's requests would queue behind each other's commits."""
    owner = f"hospital:{hospital_id}" if hospital_id is not None else "platform"
    return f"{owner}/{shard}"


def chain_owner(chain: str) -> str:
    return chain.rsplit("/", 1)[0]


def _canonical(event) -> bytes:
    content = {}
    for name in HASHED_FIELDS:
        value = getattr(event, name)
        if name == "occurred_at":
            value = value.isoformat(timespec="microseconds")
        content[name] = value
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(event, previous_hash: str) -> str:
    if not settings.AUDIT_HMAC_KEY:
        raise ImproperlyConfigured("AUDIT_HMAC_KEY is not set")
    key = base64.urlsafe_b64decode(settings.AUDIT_HMAC_KEY + "=" * (-len(settings.AUDIT_HMAC_KEY) % 4))
    return hmac.new(key, previous_hash.encode() + b"\n" + _canonical(event), hashlib.sha256).hexdigest()
