"""Keys the compliance app derives from the field-encryption key ring.

Manifest signatures and pseudonyms need keys that rotate with the ring and that
never equal a key used for something else: each is HMAC(ring key, label). The key
id travels with what it signed, so a manifest signed before a rotation still
verifies while its key is in the ring. COMPLIANCE_MANIFEST_KEY, when set, signs
manifests instead (a key held apart from the database host)."""

import base64
import hashlib
import hmac

from django.conf import settings

from apps.privacy.encryption import key_ring


def derived_key(label: str, *, key_id: str | None = None) -> tuple[str, bytes]:
    override = getattr(settings, "COMPLIANCE_MANIFEST_KEY", "")
    if label == "manifest" and override:
        raw = base64.urlsafe_b64decode(override + "=" * (-len(override) % 4))
        return "settings", raw
    ring = key_ring()
    key_id = key_id or ring.active_key_id
    if key_id not in ring.keys:
        raise KeyError(key_id)
    return key_id, hmac.new(ring.keys[key_id], f"compliance:{label}".encode(), hashlib.sha256).digest()
