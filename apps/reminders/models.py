"""Medication plans, their doses, the per-dose history ledger and family access.

Times are wall-clock times in the plan's time zone (Asia/Shanghai unless the plan
says otherwise); each dose stores the UTC instant it is due, computed once with
zoneinfo when the dose is materialised (see schedule.py), so nothing later depends
on the server's TIME_ZONE.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import TenantOwnedModel

SHANGHAI = "Asia/Shanghai"


class MedicationPlan(TenantOwnedModel):
    class Kind(models.TextChoices):
        RECURRING = "recurring", _("recurring")
        ONCE = "once", _("one-off")

    class Source(models.TextChoices):
        MANUAL = "manual", _("entered by hand")
        PRESCRIPTION = "prescription", _("from a prescription")

    class Channel(models.TextChoices):
        WECHAT = "wechat", _("WeChat and in-app")
        IN_APP_NO_QUOTA = "in_app_no_quota", _("in-app only: no WeChat subscription quota left")
        IN_APP_NO_ACCOUNT = "in_app_no_account", _("in-app only: no WeChat account linked")

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="medication_plans",
                                verbose_name=_("patient"))
    drug_name = models.CharField(_("drug"), max_length=100)
    dose = models.CharField(_("dose"), max_length=50, help_text=_("For example: 1 tablet, 5 ml."))
    times = models.JSONField(_("times of day"), default=list)  # ["08:00", "20:00"], sorted, local wall time
    timezone = models.CharField(_("time zone"), max_length=64, default=SHANGHAI)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.RECURRING)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.MANUAL)
    prescription_reference = models.CharField(_("prescription reference"), max_length=64, blank=True)
    units_per_dose = models.PositiveSmallIntegerField(_("units per dose"), default=1)
    supply_remaining = models.PositiveIntegerField(_("units remaining"), null=True, blank=True)
    refill_reminded_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # How reminders reach the patient, as the last dispatch found out (the plan "says so").
    reminder_channel = models.CharField(_("reminder channel"), max_length=24, choices=Channel.choices,
                                        default=Channel.WECHAT)
    reminder_channel_since = models.DateTimeField(null=True, blank=True)
    materialised_until = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["hospital", "patient", "active"], name="plan_patient_active")]
        constraints = [models.CheckConstraint(condition=models.Q(end_date__isnull=True)
                                              | models.Q(end_date__gte=models.F("start_date")),
                                              name="plan_ends_after_start")]
        verbose_name = _("medication plan")
        verbose_name_plural = _("medication plans")

    def __str__(self):
        return f"{self.drug_name} {self.dose}"


class Dose(TenantOwnedModel):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        TAKEN = "taken", _("taken")
        TAKEN_LATE = "taken_late", _("taken late")
        SKIPPED = "skipped", _("skipped")
        MISSED = "missed", _("missed")

    class Dispatch(models.TextChoices):
        PENDING = "pending", _("waiting")
        SENDING = "sending", _("being sent")
        SENT = "sent", _("sent")
        CANCELLED = "cancelled", _("not sent")

    class WeChatResult(models.TextChoices):
        NONE = "", _("not tried")
        SENT = "sent", _("delivered")
        NO_QUOTA = "no_quota", _("no subscription quota")
        NO_ACCOUNT = "no_account", _("no WeChat account")
        UNAVAILABLE = "unavailable", _("WeChat unavailable")
        REFUSED = "refused", _("refused by WeChat")
        # The worker died between claiming the dose and recording WeChat's answer: the
        # message may or may not have gone out, and it is not sent again.
        UNKNOWN = "unknown", _("unknown (worker stopped mid-send)")

    # Every index on this table is rewritten twice per reminder (pending -> sending ->
    # sent), 100,000 times a minute at peak: no single-column index where a composite one
    # already leads with the column (hospital: dose_patient_time; plan: dose_once_per_time).
    hospital = models.ForeignKey("tenancy.Hospital", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("hospital"), db_index=False)
    plan = models.ForeignKey(MedicationPlan, on_delete=models.CASCADE, related_name="doses", db_index=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    scheduled_at = models.DateTimeField(_("due at"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    marked_at = models.DateTimeField(null=True, blank=True)
    # Dispatch: when to remind next (the due time, or later after a snooze), and the
    # round (0 = the first reminder, n = after the n-th snooze). A round is sent once.
    remind_at = models.DateTimeField()
    reminder_round = models.PositiveSmallIntegerField(default=0)
    dispatch_state = models.CharField(max_length=12, choices=Dispatch.choices, default=Dispatch.PENDING)
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    wechat_result = models.CharField(max_length=16, choices=WeChatResult.choices, blank=True, default="")
    snooze_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scheduled_at", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "scheduled_at"], name="dose_once_per_time")]
        indexes = [
            models.Index(fields=["dispatch_state", "remind_at"], name="dose_due"),
            models.Index(fields=["hospital", "patient", "scheduled_at"], name="dose_patient_time"),
            models.Index(fields=["status", "scheduled_at"], name="dose_status_time"),
        ]
        verbose_name = _("dose")
        verbose_name_plural = _("doses")


class DoseEvent(TenantOwnedModel):
    """The history ledger: one row per thing that happened to a dose. Append-only
    (the application role may not UPDATE or DELETE it)."""

    append_only = True

    class Kind(models.TextChoices):
        REMINDED = "reminded", _("reminded")
        SNOOZED = "snoozed", _("snoozed")
        TAKEN = "taken", _("taken")
        TAKEN_LATE = "taken_late", _("taken late")
        SKIPPED = "skipped", _("skipped")
        MISSED = "missed", _("missed")
        REFILLED = "refilled", _("refilled")
        REFILL_DUE = "refill_due", _("refill reminder")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # One row per reminder at peak: dose_event_plan_time leads with the hospital, so no
    # index of its own.
    hospital = models.ForeignKey("tenancy.Hospital", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("hospital"), db_index=False)
    # PROTECT: history is never deleted with what it is about (and the application role
    # may not DELETE from this table); only doses without history are ever removed.
    plan = models.ForeignKey(MedicationPlan, on_delete=models.PROTECT, related_name="events")
    dose = models.ForeignKey(Dose, null=True, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"))
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["hospital", "plan", "-occurred_at"], name="dose_event_plan_time")]


class FamilyAccess(TenantOwnedModel):
    """A family member the patient invited to view their plans and adherence.
    The invitation code is shown once; only its hash is kept."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="family_accesses")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    label = models.CharField(_("relationship"), max_length=40, blank=True)
    code_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["hospital", "member", "revoked_at"], name="family_member")]
