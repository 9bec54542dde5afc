"""The rare-case registry: the rare-disease catalogue (platform-wide) and the cases
this platform found rare (owned by the hospital that saw them).

A RareCase points at the diagnosis that made it rare; everything that leaves the
hospital (search across hospitals, partner shares) is built from it de-identified.
The sharing side (apps.partners) reads `patient`, `diagnosis`, `icd10_code`,
`category` and `retrieval_feature`; keep those names stable."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import TenantOwnedModel


class RareDisease(models.Model):
    """One entry of a rare-disease catalogue (China's national list, Orphanet).
    Platform-wide reference data, not tenant-owned."""

    class Source(models.TextChoices):
        CCRD = "ccrd", _("China national rare disease list")
        ORPHANET = "orphanet", _("Orphanet")

    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    code = models.CharField(_("code"), max_length=32)  # CCRD number or ORPHA code
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    name_en = models.CharField(_("English name"), max_length=300, blank=True)
    icd10_codes = models.JSONField(_("ICD-10 codes"), default=list, blank=True)
    cross_references = models.JSONField(_("cross references"), default=dict, blank=True)  # {"orpha": [...], "omim": [...]}

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "code"], name="rare_disease_once")]
        ordering = ["source", "code"]
        verbose_name = _("rare disease")
        verbose_name_plural = _("rare diseases")

    def __str__(self):
        return f"{self.name_zh or self.name_en} ({self.source}:{self.code})"


class RareCase(TenantOwnedModel):
    """A case whose diagnosis is rarer than the platform's preset incidence rate,
    or on a rare-disease catalogue."""

    class Status(models.TextChoices):
        REGISTERED = "registered", _("registered")
        SHARED = "shared", _("shared")
        RETIRED = "retired", _("retired")

    diagnosis = models.ForeignKey("patients.Diagnosis", on_delete=models.PROTECT, related_name="rare_cases",
                                  verbose_name=_("diagnosis"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="rare_cases",
                                verbose_name=_("patient"))
    icd10_code = models.CharField(_("ICD-10 code"), max_length=10)
    diagnosis_text = models.CharField(_("diagnosis"), max_length=200)
    category = models.CharField(_("category"), max_length=80, blank=True)  # ICD-10 chapter/block
    incidence = models.FloatField(_("incidence"))  # cases per patient over the window, platform-wide
    rare_feature = models.FloatField(_("rare feature"), default=0.0)  # how hot the case's field is
    catalogue_entry = models.ForeignKey(RareDisease, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="cases", verbose_name=_("catalogue entry"))
    # The effective feature set used for retrieval and partner matching:
    # {"codes": [...], "entities": {...}, "findings": [...], "category": "...", "rare_feature": 0.3}
    retrieval_feature = models.JSONField(_("retrieval feature"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.REGISTERED)
    first_prediction_index = models.FloatField(_("first prediction index"), null=True, blank=True)
    second_prediction_index = models.FloatField(_("second prediction index"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["incidence", "-created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["hospital", "diagnosis"], name="rare_case_per_diagnosis")]
        indexes = [models.Index(fields=["hospital", "icd10_code"], name="rare_case_code"),
                   models.Index(fields=["hospital", "status", "incidence"], name="rare_case_status")]
        verbose_name = _("rare case")
        verbose_name_plural = _("rare cases")

    def __str__(self):
        return f"{self.icd10_code} {self.diagnosis_text}"
