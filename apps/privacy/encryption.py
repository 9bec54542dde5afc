"""AES-256-GCM for personal identifiers, under a key ring, plus keyed blind indexes.

Stored form: ``enc:v1:<key id>:<base64url(nonce || ciphertext || tag)>``. The key id
travels with the ciphertext, so after a rotation old rows stay readable until
`manage.py rotate_encryption_keys` re-encrypts them under the active key. Each value
is bound to its column by the AES-GCM associated data, so a ciphertext copied into
another column does not decrypt.

Blind index: HMAC-SHA256 under a separate key over a normalised value, so equal
identifiers can be found without decrypting anything and without the index
revealing the value.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc:v1:"
_NONCE_BYTES = 12


class DecryptionError(Exception):
    pass


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode())


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]
    active_key_id: str

    @classmethod
    def parse(cls, spec: str, active_key_id: str) -> "KeyRing":
        keys = {}
        for entry in filter(None, (part.strip() for part in spec.split(","))):
            key_id, _, encoded = entry.partition(":")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", key_id):
                raise ImproperlyConfigured(f"Bad encryption key id {key_id!r}")
            try:
                key = _b64decode(encoded)
            except (binascii.Error, ValueError) as error:
                raise ImproperlyConfigured(f"Encryption key {key_id!r} is not base64") from error
            if len(key) != 32:
                raise ImproperlyConfigured(f"Encryption key {key_id!r} must be 32 bytes (AES-256)")
            keys[key_id] = key
        if not keys:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
        active = active_key_id or list(keys)[-1]
        if active not in keys:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_ACTIVE_KEY_ID {active!r} is not in the key ring")
        return cls(keys=keys, active_key_id=active)

    def cipher(self, key_id: str) -> AESGCM:
        """One AESGCM per key, made once: its key set-up cost more than decrypting an
        identifier, which bulk readers (100,000 reminder openids a minute) do per row."""
        ciphers = self.__dict__.setdefault("_ciphers", {})
        if key_id not in ciphers:
            ciphers[key_id] = AESGCM(self.keys[key_id])
        return ciphers[key_id]

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self.cipher(self.active_key_id).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{PREFIX}{self.active_key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def decrypt(self, stored: str, *, context: str) -> str:
        key_id = key_id_of(stored)
        if key_id not in self.keys:
            raise DecryptionError(f"Unknown key id {key_id!r}: is a key missing from the ring?")
        try:
            blob = _b64decode(stored.split(":", 3)[3])
            plaintext = self.cipher(key_id).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError, binascii.Error, IndexError) as error:
            raise DecryptionError("Ciphertext is corrupt or belongs to another column") from error
        return plaintext.decode()


def key_id_of(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise DecryptionError("Value is not in the encrypted format")
    return stored[len(PREFIX):].split(":", 1)[0]


@lru_cache(maxsize=8)
def _key_ring(spec: str, active: str) -> KeyRing:
    return KeyRing.parse(spec, active)


def key_ring() -> KeyRing:
    # Cached per settings value, so tests that override the keys get a fresh ring.
    return _key_ring(settings.FIELD_ENCRYPTION_KEYS, settings.FIELD_ENCRYPTION_ACTIVE_KEY_ID)


def normalize_identifier(value: str) -> str:
    """National ID numbers, phones, openids: case and separators do not matter."""
    return re.sub(r"[\s\-()+]", "", value).upper()


def blind_index(value: str, *, kind: str) -> str:
    """The keyed lookup digest of `value`. `kind` separates domains (a phone number
    and a national ID with the same digits index differently)."""
    if not settings.BLIND_INDEX_KEY:
        raise ImproperlyConfigured("BLIND_INDEX_KEY is not set")
    key = _b64decode(settings.BLIND_INDEX_KEY)
    message = f"{kind}\x00{normalize_identifier(value)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
