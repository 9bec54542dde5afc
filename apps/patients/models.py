from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.privacy.fields import BlindIndexField, EncryptedTextField
from apps.tenancy.models import TenantOwnedModel


class Patient(TenantOwnedModel):
    """A patient's record at one hospital. Identifiers are encrypted at rest and
    found through blind indexes; `user` links the patient's own (mini-program)
    account when they have one."""

    class Sex(models.TextChoices):
        FEMALE = "F", _("female")
        MALE = "M", _("male")
        UNKNOWN = "U", _("unknown")

    name = models.CharField(_("name"), max_length=100)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    national_id = EncryptedTextField(_("national ID number"), blank=True)
    national_id_index = BlindIndexField(source="national_id", kind="national_id")
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_index = BlindIndexField(source="phone", kind="phone")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="patient_records")
    medical_record_number = models.CharField(_("medical record number"), max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["hospital", "medical_record_number"],
                                               name="patient_mrn_unique_per_hospital")]
        indexes = [models.Index(fields=["hospital", "-created_at", "-id"], name="patient_hospital_recent")]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")

    def __str__(self):
        return f"{self.name} ({self.medical_record_number})"
