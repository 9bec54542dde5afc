from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import TenantOwnedModel


class ImagingStudy(TenantOwnedModel):
    """One uploaded radiograph. `dicom_metadata` is the header as received (it may name
    the patient: staff only); `deidentified_metadata` is the copy that may be shared.
    `display_file` packs the modality values into a 16-bit greyscale carried in the red
    (high byte) and green (low byte) channels of a PNG, so the viewer can window/level
    at full depth on a canvas."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("uploaded")
        PRELIMINARY = "preliminary", _("preliminary (awaiting review)")
        SIGNED_OFF = "signed_off", _("signed off")
        REJECTED = "rejected", _("rejected")
        FAILED = "failed", _("analysis failed")

    class Modality(models.TextChoices):
        DX = "DX", _("digital radiography")
        CR = "CR", _("computed radiography")
        OT = "OT", _("other")

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="imaging_studies",
                                verbose_name=_("patient"))
    modality = models.CharField(_("modality"), max_length=4, choices=Modality.choices, default=Modality.DX)
    body_part = models.CharField(_("body part"), max_length=32, default="CHEST")
    source_file = models.FileField(_("source file"), upload_to="imaging/source/%Y/%m/")
    source_kind = models.CharField(max_length=8)
    source_sha256 = models.CharField(max_length=64)
    display_file = models.FileField(upload_to="imaging/display/%Y/%m/")
    heatmap_file = models.FileField(upload_to="imaging/heatmap/%Y/%m/", blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    value_min = models.FloatField()
    value_max = models.FloatField()
    window_center = models.FloatField()
    window_width = models.FloatField()
    dicom_metadata = models.JSONField(default=dict, blank=True)
    deidentified_metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.UPLOADED)
    error_code = models.CharField(max_length=64, blank=True)
    lesion_probability = models.FloatField(null=True, blank=True)
    lesion_threshold = models.FloatField(null=True, blank=True)
    classifier_model = models.CharField(max_length=120, blank=True)
    detector_model = models.CharField(max_length=120, blank=True)
    embedding = models.JSONField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    analysed_at = models.DateTimeField(null=True, blank=True)
    signed_off_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["hospital", "status", "-created_at"], name="imaging_study_status_recent"),
                   models.Index(fields=["hospital", "patient", "-created_at"], name="imaging_study_patient_recent")]
        verbose_name = _("imaging study")
        verbose_name_plural = _("imaging studies")

    def __str__(self):
        return f"{self.modality} {self.body_part} #{self.pk}"


class Finding(TenantOwnedModel):
    """A box on a study: found by a model (with its name, version and confidence) or
    added by the reviewer. Stays preliminary until the study is signed off; the model's
    original box is kept when a reviewer edits it, for retraining."""

    class Verdict(models.TextChoices):
        PENDING = "pending", _("pending review")
        CONFIRMED = "confirmed", _("confirmed")
        EDITED = "edited", _("edited")
        REJECTED = "rejected", _("rejected")
        ADDED = "added", _("added by reviewer")

    study = models.ForeignKey(ImagingStudy, on_delete=models.CASCADE, related_name="findings")
    label = models.CharField(_("finding"), max_length=32)
    x1 = models.FloatField()
    y1 = models.FloatField()
    x2 = models.FloatField()
    y2 = models.FloatField()
    confidence = models.FloatField(null=True, blank=True)
    model_name = models.CharField(max_length=80, blank=True)
    model_version = models.CharField(max_length=40, blank=True)
    original = models.JSONField(null=True, blank=True)
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices, default=Verdict.PENDING)
    reason = models.TextField(_("reason"), blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-confidence", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(x2__gt=models.F("x1")) & models.Q(y2__gt=models.F("y1")),
                                              name="finding_box_not_empty")]
        verbose_name = _("finding")
        verbose_name_plural = _("findings")

    @property
    def box(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]


class Review(TenantOwnedModel):
    """A radiologist's decision on a study, with the verdict and reason for every finding
    (what was overridden and why is kept as training signal)."""

    class Decision(models.TextChoices):
        SIGN_OFF = "sign_off", _("signed off")
        REJECT = "reject", _("rejected")

    study = models.ForeignKey(ImagingStudy, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    comment = models.TextField(_("comment"), blank=True)
    changes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
