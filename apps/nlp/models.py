"""Entities found in encounters' clinical text, and which text/model produced them."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import TenantOwnedModel


class EntityLabel(models.TextChoices):
    # codes are stable (API, database); the names are the CCKS 2019 type names
    DISEASE = "DIS", _("disease or diagnosis")
    SURGERY = "OPE", _("surgery")
    DRUG = "DRU", _("drug")
    ANATOMY = "ANA", _("anatomical site")
    IMAGING = "IMA", _("imaging examination")
    LAB_TEST = "LAB", _("laboratory test")


class EncounterStructuring(TenantOwnedModel):
    """The last structuring of one encounter's text: which model ran over which
    text (by checksum), so a repeated task for unchanged text does nothing."""

    encounter = models.OneToOneField("patients.Encounter", on_delete=models.CASCADE, related_name="structuring",
                                     verbose_name=_("encounter"))
    text_sha256 = models.CharField(max_length=64)
    model_version = models.CharField(_("model version"), max_length=160)
    entity_count = models.PositiveIntegerField(default=0)
    milliseconds = models.FloatField(default=0)
    structured_at = models.DateTimeField(_("structured at"), auto_now=True)

    class Meta:
        verbose_name = _("encounter structuring")
        verbose_name_plural = _("encounter structurings")


class RecordEntity(TenantOwnedModel):
    """One entity span in an encounter's `record_text` (end exclusive). Results
    are preliminary: they come from a model, not from a clinician."""

    encounter = models.ForeignKey("patients.Encounter", on_delete=models.CASCADE, related_name="entities",
                                  verbose_name=_("encounter"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("patient"))
    label = models.CharField(_("type"), max_length=3, choices=EntityLabel.choices)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.CharField(_("text"), max_length=200)
    model_version = models.CharField(_("model version"), max_length=160)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["encounter_id", "start"]
        indexes = [
            models.Index(fields=["hospital", "label", "text"], name="nlp_entity_label_text"),
            models.Index(fields=["hospital", "encounter", "start"], name="nlp_entity_encounter"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="nlp_entity_span")]
        verbose_name = _("record entity")
        verbose_name_plural = _("record entities")
