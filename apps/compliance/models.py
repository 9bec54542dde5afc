from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import TenantOwnedModel


class Severity(models.TextChoices):
    LOW = "low", _("low")
    MEDIUM = "medium", _("medium")
    HIGH = "high", _("high")
    CRITICAL = "critical", _("critical")


class ViolationCase(TenantOwnedModel):
    """A suspected violation found by a rule (or the autoencoder), worked by
    compliance officers: open -> investigating -> resolved (justified or confirmed).

    `dedup_key` makes detection idempotent: re-reading events (the detector reads
    with an overlap) finds the case it already opened instead of a second one."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        INVESTIGATING = "investigating", _("investigating")
        RESOLVED = "resolved", _("resolved")

    class Resolution(models.TextChoices):
        JUSTIFIED = "justified", _("justified")
        VIOLATION_CONFIRMED = "violation_confirmed", _("violation confirmed")

    rule = models.CharField(_("rule"), max_length=48, db_index=True)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(_("resolution"), max_length=24, choices=Resolution.choices, blank=True)
    summary = models.CharField(_("summary"), max_length=300)
    subject_user_id = models.BigIntegerField(_("staff member"), null=True, blank=True, db_index=True)
    subject_username = models.CharField(max_length=150, blank=True)
    patient_id = models.BigIntegerField(_("patient"), null=True, blank=True)
    evidence = models.JSONField(default=dict)
    event_ids = models.JSONField(default=list)
    dedup_key = models.CharField(max_length=200)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("assignee"))
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    first_event_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["hospital", "dedup_key"], name="case_dedup_per_hospital")]
        indexes = [models.Index(fields=["hospital", "status", "-opened_at"], name="case_status_recent")]
        verbose_name = _("violation case")
        verbose_name_plural = _("violation cases")

    def __str__(self):
        return f"{self.rule} #{self.pk} ({self.status})"


class CaseNote(TenantOwnedModel):
    case = models.ForeignKey(ViolationCase, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("note"), max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class ConsentPurpose(models.TextChoices):
    CARE = "care", _("care")
    RESEARCH = "research", _("research")
    PARTNER_SHARING = "partner_sharing", _("sharing with partners")
    MODEL_TRAINING = "model_training", _("training models")


class ConsentRecord(TenantOwnedModel):
    """One grant or withdrawal. Never edited: the newest record per (patient,
    purpose) is the patient's current decision, and the rows are its history."""

    class Decision(models.TextChoices):
        GRANTED = "granted", _("granted")
        WITHDRAWN = "withdrawn", _("withdrawn")

    class Channel(models.TextChoices):
        WECHAT = "wechat", _("WeChat mini program")
        PAPER = "paper", _("signed paper form")
        WEB = "web", _("web admin, recorded by staff")
        VERBAL = "verbal", _("verbal, witnessed")

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(_("purpose"), max_length=24, choices=ConsentPurpose.choices)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    recorded_at = models.DateTimeField(_("recorded at"), db_index=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["hospital", "patient", "purpose", "-recorded_at"], name="consent_latest")]


class StaffProfile(TenantOwnedModel):
    """What the rules need to know about a staff member beyond the membership:
    surname and home address area (for the relative/neighbour rule) and their own
    working hours when they differ from the hospital's."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    surname = models.CharField(_("surname"), max_length=20, blank=True)
    address_area = models.CharField(_("address area"), max_length=64, blank=True,
                                    help_text=_("Administrative area code or district name."))
    work_start_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    work_end_hour = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hospital", "user"], name="staff_profile_unique")]


class PatientWatch(TenantOwnedModel):
    """A patient on the watch list: VIP-sensitive records, and the address area the
    relative/neighbour rule compares with staff."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    vip = models.BooleanField(_("VIP-sensitive"), default=False)
    address_area = models.CharField(_("address area"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hospital", "patient"], name="patient_watch_unique")]


class DetectionCursor(TenantOwnedModel):
    """How far the rules have read this hospital's audit events."""

    last_occurred_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hospital"], name="detection_cursor_unique")]


class AuditExport(TenantOwnedModel):
    """A signed manifest of one CSV export of audit events. The manifest (with the
    chain heads at export time) also leaves with the file, so the heads live
    outside the database too: a later rewrite of the chain no longer matches them."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    filters = models.JSONField(default=dict)
    row_count = models.PositiveIntegerField()
    file_sha256 = models.CharField(max_length=64)
    manifest = models.JSONField()
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at", "-id"]
