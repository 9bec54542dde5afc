"""Request signing between partners (both directions use the same rule).

    signature = HMAC-SHA256(key, timestamp "\\n" nonce "\\n" idempotency key "\\n" body)

sent as `X-Signature: v1=<hex>` with `X-Partner-Id`, `X-Timestamp` (Unix seconds),
`X-Nonce` (16 random bytes, hex) and `Idempotency-Key` (the share id). The key is
32 random bytes per partner, exchanged out of band as base64url. Every attempt is
signed afresh (new timestamp and nonce) while the Idempotency-Key stays the same:
the nonce refuses a replayed request, the key makes a retried share land once."""

import base64
import binascii
import hashlib
import hmac
import re
import secrets

SIGNATURE_VERSION = "v1"
NONCE_PATTERN = re.compile(r"^[0-9a-f]{32}$")
HEADER_PARTNER = "X-Partner-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"
HEADER_IDEMPOTENCY = "Idempotency-Key"


def key_generate() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def key_decode(encoded: str) -> bytes:
    """The raw key; ValueError when it is not base64url of at least 32 bytes."""
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("the key is not base64url") from error
    if len(raw) < 32:
        raise ValueError("the key must be at least 32 bytes")
    return raw


def key_fingerprint(encoded: str) -> str:
    """Shown instead of the key: enough to compare with the partner's, useless to sign."""
    return hashlib.sha256(key_decode(encoded)).hexdigest()[:16]


def signature_compute(key: bytes, *, timestamp: str, nonce: str, idempotency_key: str, body: bytes) -> str:
    message = f"{timestamp}\n{nonce}\n{idempotency_key}\n".encode() + body
    return f"{SIGNATURE_VERSION}={hmac.new(key, message, hashlib.sha256).hexdigest()}"


def signature_valid(key: bytes, signature: str, *, timestamp: str, nonce: str, idempotency_key: str,
                    body: bytes) -> bool:
    expected = signature_compute(key, timestamp=timestamp, nonce=nonce, idempotency_key=idempotency_key, body=body)
    return hmac.compare_digest(expected.encode(), (signature or "").encode())


def signed_headers(*, key: bytes, partner_id: str, idempotency_key: str, body: bytes, timestamp: int,
                   nonce: str | None = None) -> dict[str, str]:
    nonce = nonce or secrets.token_hex(16)
    stamp = str(int(timestamp))
    return {
        HEADER_PARTNER: partner_id,
        HEADER_TIMESTAMP: stamp,
        HEADER_NONCE: nonce,
        HEADER_IDEMPOTENCY: idempotency_key,
        HEADER_SIGNATURE: signature_compute(key, timestamp=stamp, nonce=nonce, idempotency_key=idempotency_key,
                                            body=body),
        "Content-Type": "application/fhir+json",
    }
