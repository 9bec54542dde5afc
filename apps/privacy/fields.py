"""Model fields for encrypted identifiers.

    national_id = EncryptedTextField(blank=True)
    national_id_index = BlindIndexField(source="national_id", kind="national_id")

Find a row by value with `filter(national_id_index=blind_index(value, kind="national_id"))`.
The encrypted field refuses lookups: a random nonce makes them meaningless, and a
silent empty result would be a bug.
"""

from django.core.exceptions import FieldError
from django.db import models

from .encryption import blind_index, key_ring


class EncryptedTextField(models.TextField):
    description = "Text encrypted with AES-256-GCM under the key ring"

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only)
        self.encryption_context = f"{cls._meta.app_label}.{cls._meta.model_name}.{name}"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return key_ring().decrypt(value, context=self.encryption_context)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return key_ring().encrypt(str(value), context=self.encryption_context)

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(f"{self.name} is encrypted: look it up through its blind index instead")


class BlindIndexField(models.CharField):
    """Keyed HMAC of another field's value, computed on save."""

    def __init__(self, *args, source: str, kind: str, **kwargs):
        self.source = source
        self.kind = kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, kind=self.kind)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.source)
        digest = blind_index(value, kind=self.kind) if value else ""
        setattr(model_instance, self.attname, digest)
        return digest
