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


class Encounter(TenantOwnedModel):
    """One visit or stay: outpatient visit, admission, emergency or check-up. The
    clinical text (admission note, discharge summary, ...) is free text written by
    the doctor; the clinical NLP structures it after the encounter is recorded."""

    class Kind(models.TextChoices):
        OUTPATIENT = "outpatient", _("outpatient visit")
        INPATIENT = "inpatient", _("inpatient stay")
        EMERGENCY = "emergency", _("emergency visit")
        CHECKUP = "checkup", _("health check-up")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters",
                                verbose_name=_("patient"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OUTPATIENT)
    department = models.ForeignKey("tenancy.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("department"))
    attending = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("attending doctor"))
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    record_text = models.TextField(_("clinical record"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["hospital", "patient", "-started_at"], name="encounter_patient_recent")]
        constraints = [models.CheckConstraint(condition=models.Q(ended_at__isnull=True)
                                              | models.Q(ended_at__gte=models.F("started_at")),
                                              name="encounter_ends_after_start")]
        verbose_name = _("encounter")
        verbose_name_plural = _("encounters")

    def __str__(self):
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d}"


class Diagnosis(TenantOwnedModel):
    """A diagnosis made in an encounter, coded in ICD-10 (e.g. E11.9) with its text."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="diagnoses",
                                  verbose_name=_("encounter"))
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="diagnoses",
                                verbose_name=_("patient"))
    icd10_code = models.CharField(_("ICD-10 code"), max_length=10)
    text = models.CharField(_("diagnosis"), max_length=200)
    is_primary = models.BooleanField(_("primary diagnosis"), default=False)
    diagnosed_at = models.DateTimeField(_("diagnosed at"))

    class Meta:
        ordering = ["-diagnosed_at", "-id"]
        indexes = [models.Index(fields=["hospital", "icd10_code", "diagnosed_at"], name="diagnosis_code_time"),
                   models.Index(fields=["hospital", "patient"], name="diagnosis_patient")]
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")

    def __str__(self):
        return f"{self.icd10_code} {self.text}"
