import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import TenantOwnedModel

_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


def report_file_path(report: "LabReport", _filename: str) -> str:
    """A random name per upload: the patient's file name never reaches the disk, and
    one hospital's files sit in their own folder."""
    return f"lab-reports/{report.hospital_id}/{uuid.uuid4().hex}{_EXTENSIONS.get(report.content_type, '')}"


class LabReport(TenantOwnedModel):
    """One uploaded lab report and what the analysis made of it. Results stay
    preliminary until a doctor signs them off."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        PROCESSING = "processing", _("processing")
        PRELIMINARY = "preliminary", _("preliminary")
        FINAL = "final", _("final")
        FAILED = "failed", _("failed")

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="lab_reports",
                                verbose_name=_("patient"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("uploaded by"))
    uploaded_role = models.CharField(max_length=32, blank=True)
    file = models.FileField(_("file"), upload_to=report_file_path, max_length=200)
    content_type = models.CharField(_("content type"), max_length=64)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    failure_code = models.CharField(_("failure code"), max_length=32, blank=True)
    failure_reason = models.TextField(_("failure reason"), blank=True)
    # Bumped by every (re)queue; a task only writes results for the attempt it was queued for.
    attempt = models.PositiveIntegerField(default=1)
    runs = models.PositiveIntegerField(default=0)  # task starts for this attempt (worker crashes redeliver)
    engine = models.CharField(_("OCR engine"), max_length=32, blank=True)
    engine_version = models.CharField(max_length=64, blank=True)
    model_versions = models.JSONField(default=dict, blank=True)
    timings_ms = models.JSONField(default=dict, blank=True)
    rotation = models.PositiveSmallIntegerField(_("rotation"), null=True, blank=True)
    page_count = models.PositiveSmallIntegerField(_("pages"), default=1)
    pages_analysed = models.PositiveSmallIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    text_lines = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    analysed_at = models.DateTimeField(_("analysed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["hospital", "-created_at", "-id"], name="labreport_hospital_recent"),
                   models.Index(fields=["hospital", "patient", "-created_at"], name="labreport_patient_recent"),
                   models.Index(fields=["hospital", "status"], name="labreport_status")]
        verbose_name = _("lab report")
        verbose_name_plural = _("lab reports")

    def __str__(self):
        return f"{self._meta.verbose_name} {self.pk}"


class LabItem(TenantOwnedModel):
    """One indicator as read from the report (and as corrected at sign-off)."""

    class Flag(models.TextChoices):
        HIGH = "H", _("high")
        LOW = "L", _("low")
        NORMAL = "N", _("normal")
        UNKNOWN = "", _("no range")

    report = models.ForeignKey(LabReport, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("name as printed"), max_length=100)
    value = models.FloatField(_("value"), null=True, blank=True)
    value_text = models.CharField(_("result as printed"), max_length=64, blank=True)
    unit = models.CharField(_("unit"), max_length=32, blank=True)
    range_low = models.FloatField(null=True, blank=True)
    range_high = models.FloatField(null=True, blank=True)
    range_source = models.CharField(max_length=16, blank=True)
    flag = models.CharField(_("flag"), max_length=1, choices=Flag.choices, blank=True)
    confidence = models.FloatField(default=0.0)

    class Meta:
        ordering = ["report", "position"]
        constraints = [models.UniqueConstraint(fields=["report", "position"], name="labitem_position_unique")]
        verbose_name = _("lab item")
        verbose_name_plural = _("lab items")


class ReportInterpretation(TenantOwnedModel):
    """The plain-language interpretation (ml.labreport.types.Interpretation as JSON)."""

    report = models.OneToOneField(LabReport, on_delete=models.CASCADE, related_name="interpretation")
    content = models.JSONField()
    urgency = models.CharField(_("urgency"), max_length=16)
    model_version = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("interpretation")
        verbose_name_plural = _("interpretations")


class SignOff(TenantOwnedModel):
    """A doctor's sign-off, with every change they made as a diff
    (`{"items": [{"id", "code", "changes": {field: [before, after]}}], "interpretation": {...}}`)."""

    report = models.OneToOneField(LabReport, on_delete=models.CASCADE, related_name="sign_off")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("signed by"))
    signed_at = models.DateTimeField(_("signed at"), auto_now_add=True)
    edits = models.JSONField(default=dict, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("sign-off")
        verbose_name_plural = _("sign-offs")
