"""The keyed hash that links audit events into a tamper-evident chain."""

import base64
import hashlib
import hmac
import json
from json.encoder import encode_basestring as encode_string

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


# json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
# builds this encoder on every call; one instance gives the same bytes, faster.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_content(values: dict) -> bytes:
    """The bytes an event's hash covers: its HASHED_FIELDS as sorted, compact JSON,
    `occurred_at` (a datetime) to the microsecond. `values` maps each field name to
    its value and is not changed."""
    content = dict(values)
    content["occurred_at"] = content["occurred_at"].isoformat(timespec="microseconds")
    return encode_content(content)


def encode_content(content: dict) -> bytes:
    """canonical_content with `occurred_at` already ISO text."""
    return _ENCODER.encode(content).encode()


def _text(value) -> str:
    return "null" if value is None else encode_string(value)


def _number(value) -> str:
    return "null" if value is None else str(value)


def encode_stored_row(row) -> bytes:
    """encode_content for one row as the audit table returns it: HASHED_FIELDS in that
    order (anything after them is ignored), text columns str or None, bigint columns
    int or None, detail decoded JSON, occurred_at ISO text. The same bytes as the JSON
    encoder, written out in sorted key order instead of building and sorting a dict
    per event: the verifier's hot path. The verifier re-checks a mismatch with
    encode_content before reporting it."""
    (chain, sequence, occurred_at, actor_id, actor_username, role, hospital_id, action, object_type, object_id,
     patient_id, ip, user_agent, request_id, outcome, detail) = row[:16]
    return (
        f'{{"action":{_text(action)},"actor_id":{_number(actor_id)},"actor_username":{_text(actor_username)},'
        f'"chain":{_text(chain)},"detail":{"{}" if detail == {} else _ENCODER.encode(detail)},'
        f'"hospital_id":{_number(hospital_id)},"ip":{_text(ip)},"object_id":{_text(object_id)},'
        f'"object_type":{_text(object_type)},"occurred_at":{_text(occurred_at)},"outcome":{_text(outcome)},'
        f'"patient_id":{_number(patient_id)},"request_id":{_text(request_id)},"role":{_text(role)},'
        f'"sequence":{_number(sequence)},"user_agent":{_text(user_agent)}}}'
    ).encode()


# encode_stored_row unpacks HASHED_FIELDS by position and writes them in sorted order.
if HASHED_FIELDS != ("chain", "sequence", "occurred_at", "actor_id", "actor_username", "role", "hospital_id",
                     "action", "object_type", "object_id", "patient_id", "ip", "user_agent", "request_id", "outcome",
                     "detail"):
    raise RuntimeError("HASHED_FIELDS changed: update encode_stored_row to match")


def _canonical(event) -> bytes:
    return canonical_content({name: getattr(event, name) for name in HASHED_FIELDS})


def audit_key() -> bytes:
    if not settings.AUDIT_HMAC_KEY:
        raise ImproperlyConfigured("AUDIT_HMAC_KEY is not set")
    return base64.urlsafe_b64decode(settings.AUDIT_HMAC_KEY + "=" * (-len(settings.AUDIT_HMAC_KEY) % 4))


def link_hash(key: bytes, previous_hash: str, content: bytes) -> str:
    """HMAC-SHA256(key, previous hash, newline, canonical content), in hex."""
    return hmac.digest(key, previous_hash.encode() + b"\n" + content, "sha256").hex()


def event_hash(event, previous_hash: str) -> str:
    return link_hash(audit_key(), previous_hash, _canonical(event))
