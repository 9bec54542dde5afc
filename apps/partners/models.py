"""Sharing partners (other platforms), the decisions to share rare cases with them,
the outbound shares, and the cases partners shared with us.

Platform-wide (managed by platform admins, no hospital): SharingPartner,
ExternalRareCase (what partners sent us, already de-identified by them) and
InboundNonce (replay protection). Owned by the hospital whose case it is:
ShareDecision, OutboundShare, ShareAttempt."""

import json
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.privacy.fields import EncryptedTextField
from apps.tenancy.models import TenantOwnedModel


class DataCategory(models.TextChoices):
    """What a share may carry; a partner's tag says which it accepts, and a share
    carries no more than that."""

    CONDITION = "condition", _("diagnosis (Condition)")
    OBSERVATION = "observation", _("lab results (Observation)")
    DIAGNOSTIC_REPORT = "diagnostic_report", _("lab reports (DiagnosticReport)")


class SharingPartner(models.Model):
    """Another medical data sharing platform (another deployment of this platform or
    any system speaking the same API).

    `code` is the id the partner sends in `X-Partner-Id` when it calls us;
    `our_id_at_partner` is the id we send when we call it. Both directions are
    signed with `hmac_key`. The key and our id are encrypted at rest (AES-GCM under
    the field-encryption key ring); only a fingerprint of the key is ever shown."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        REVOKED = "revoked", _("revoked")

    name = models.CharField(_("name"), max_length=200)
    code = models.SlugField(_("partner id"), max_length=64, unique=True,
                            help_text=_("The id this partner sends when it shares with us."))
    endpoint_url = models.URLField(_("endpoint base URL"), max_length=300)
    hmac_key = EncryptedTextField(_("signing key"))
    key_fingerprint = models.CharField(_("key fingerprint"), max_length=16, editable=False)
    our_id_at_partner = EncryptedTextField(_("our id at the partner"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    interconnected = models.BooleanField(_("interconnected"), default=False,
                                         help_text=_("The link is agreed and tested; only then are cases sent."))
    # The feature tag is built from these attributes (see feature_tags.py).
    communication = models.JSONField(_("communication attributes"), default=dict, blank=True)
    research_focus = models.JSONField(_("research focus"), default=list, blank=True)
    data_categories = models.JSONField(_("data categories accepted"), default=list, blank=True)
    feature_tag = models.CharField(_("feature tag"), max_length=1000, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("sharing partner")
        verbose_name_plural = _("sharing partners")

    def __str__(self):
        return f"{self.name} ({self.code})"


class ShareDecision(TenantOwnedModel):
    """Why a case was or was not shared: the inputs (both indexes, the preset range,
    the settings in force), which index decided, the partners that matched, the
    outcome and its reasons. Written once, never edited."""

    append_only = True

    class Trigger(models.TextChoices):
        INDEXES_READY = "indexes_ready", _("prediction indexes ready")
        MANUAL = "manual", _("requested by staff")
        CASE_UPDATED = "case_updated", _("a shared case was refreshed")

    class DecidedBy(models.TextChoices):
        FIRST = "first", _("first prediction index")
        SECOND = "second", _("second prediction index")
        NONE = "none", _("neither index in range")
        UPDATE = "update", _("update of a delivered case")

    class Outcome(models.TextChoices):
        NOT_IN_RANGE = "not_in_range", _("neither index in the preset range")
        NO_MATCHING_PARTNER = "no_matching_partner", _("no partner matches the case")
        NO_CONSENT = "no_consent", _("no consent for partner sharing")
        K_ANONYMITY_BLOCKED = "k_anonymity_blocked", _("blocked: would single the patient out")
        AWAITING_APPROVAL = "awaiting_approval", _("awaiting a compliance officer's approval")
        QUEUED = "queued", _("queued for delivery")
        ALREADY_SHARED = "already_shared", _("already shared with every matching partner")
        REFUSED = "refused", _("refused by the de-identification service")

    case = models.ForeignKey("rarecases.RareCase", on_delete=models.PROTECT, related_name="share_decisions",
                             verbose_name=_("rare case"))
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    first_index = models.FloatField(_("first prediction index"), null=True, blank=True)
    second_index = models.FloatField(_("second prediction index"), null=True, blank=True)
    range_low = models.FloatField(_("range low"))
    range_high = models.FloatField(_("range high"))
    decided_by = models.CharField(_("decided by"), max_length=8, choices=DecidedBy.choices)
    matched_partners = models.JSONField(_("matched partners"), default=list, blank=True)  # [{id, code, name, why}]
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)  # [{code, message, partner?}]
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)  # settings in force, k found, consent, ...
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["hospital", "-created_at", "-id"], name="share_decision_recent"),
                   models.Index(fields=["hospital", "case", "-created_at"], name="share_decision_case")]
        verbose_name = _("share decision")
        verbose_name_plural = _("share decisions")

    def __str__(self):
        return f"decision {self.pk}: case {self.case_id} {self.outcome}"


class OutboundShare(TenantOwnedModel):
    """One version of one case going to one partner.

    The first version (`version` 1, no `origin`) is the case's first share to the
    partner; its `share_id` is the id the partner knows the case by: Bundle.identifier
    and the Idempotency-Key of every attempt of every version, so a retry never makes
    a second copy there. An update of a delivered case is a new row with the next
    `version` (Bundle.meta.versionId) and `origin` pointing at the first version; the
    partner replaces its copy with it and refuses an older version.

    awaiting_approval -> queued (approved, or no approval needed) -> sending ->
    delivered | failed; awaiting_approval -> rejected; awaiting_approval, queued,
    retrying -> cancelled (consent withdrawn, partner revoked, a newer version)."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("awaiting approval")
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        RETRYING = "retrying", _("waiting to retry")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")
        REJECTED = "rejected", _("rejected")
        CANCELLED = "cancelled", _("cancelled")

    OPEN_STATUSES = (Status.AWAITING_APPROVAL, Status.QUEUED, Status.SENDING, Status.RETRYING)
    CANCELLABLE_STATUSES = (Status.AWAITING_APPROVAL, Status.QUEUED, Status.RETRYING)

    share_id = models.UUIDField(_("share id"), default=uuid.uuid4, unique=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1)
    origin = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="updates",
                               verbose_name=_("update of"))
    decision = models.ForeignKey(ShareDecision, on_delete=models.PROTECT, related_name="shares")
    case = models.ForeignKey("rarecases.RareCase", on_delete=models.PROTECT, related_name="outbound_shares",
                             verbose_name=_("rare case"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey(SharingPartner, on_delete=models.PROTECT, related_name="outbound_shares",
                                verbose_name=_("partner"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    approval_required = models.BooleanField(_("approval required"), default=False)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.CharField(_("review note"), max_length=500, blank=True)
    # The de-identified FHIR Bundle exactly as sent (set when released), and its digest.
    payload = models.TextField(_("payload"), blank=True)
    payload_sha256 = models.CharField(max_length=64, blank=True)
    # What an update is measured by: the digest of the clinical content the version
    # carries (services.share_content_digest); empty on shares made before updates.
    content_sha256 = models.CharField(max_length=64, blank=True)
    data_categories = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    status_reason = models.CharField(_("reason"), max_length=64, blank=True)
    partner_record_id = models.CharField(_("record at partner"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open or delivered first share per case and partner: a new decision never
            # sends a case twice; after a rejection, cancellation or failure it may.
            models.UniqueConstraint(
                fields=["hospital", "case", "partner"], name="one_live_first_share_per_case_and_partner",
                condition=models.Q(version=1,
                                   status__in=["awaiting_approval", "queued", "sending", "retrying", "delivered"])),
            # One version on its way per case and partner, so versions reach the partner in order.
            models.UniqueConstraint(
                fields=["hospital", "case", "partner"], name="one_open_share_per_case_and_partner",
                condition=models.Q(status__in=["awaiting_approval", "queued", "sending", "retrying"])),
            models.UniqueConstraint(fields=["origin", "version"], name="one_share_per_version"),
            models.CheckConstraint(condition=models.Q(origin__isnull=True, version=1)
                                   | models.Q(origin__isnull=False, version__gt=1), name="share_version_has_origin"),
        ]
        indexes = [models.Index(fields=["hospital", "-created_at", "-id"], name="share_recent"),
                   models.Index(fields=["hospital", "status"], name="share_status"),
                   models.Index(fields=["hospital", "patient", "status"], name="share_patient_status")]
        verbose_name = _("outbound share")
        verbose_name_plural = _("outbound shares")

    def __str__(self):
        return f"share {self.share_id} -> {self.partner_id} ({self.status})"

    @property
    def payload_json(self):
        return json.loads(self.payload) if self.payload else None

    @property
    def partner_share_id(self) -> uuid.UUID:
        """The id the partner knows the case by: the first version's share id."""
        return self.origin.share_id if self.origin_id else self.share_id


class ShareAttempt(TenantOwnedModel):
    """One delivery attempt: when, how long, what the partner answered."""

    append_only = True

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", _("delivered")
        DUPLICATE = "duplicate", _("already there (idempotent repeat)")
        RETRY = "retry", _("failed, will retry")
        FAILED = "failed", _("failed for good")

    share = models.ForeignKey(OutboundShare, on_delete=models.PROTECT, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)

    class Meta:
        ordering = ["share", "number", "id"]


class ExternalRareCase(models.Model):
    """A rare case a partner shared with us: the validated FHIR Bundle as received,
    plus the few fields staff search by. Platform-wide (it was sent to the platform,
    de-identified, not to one hospital); (partner, share_id) is unique, so a
    partner's retry returns the stored record instead of a second copy, and a newer
    version (Bundle.meta.versionId) replaces the stored one in place."""

    partner = models.ForeignKey(SharingPartner, on_delete=models.PROTECT, related_name="external_cases",
                                verbose_name=_("partner"))
    share_id = models.UUIDField(_("share id"))
    version = models.PositiveIntegerField(_("version"), default=1)
    body_sha256 = models.CharField(max_length=64)
    bundle = models.JSONField()
    pseudonym = models.CharField(_("pseudonym"), max_length=64, blank=True)
    sex = models.CharField(_("sex"), max_length=8, blank=True)
    age_band = models.CharField(_("age band"), max_length=16, blank=True)
    region = models.CharField(_("region"), max_length=16, blank=True)
    icd10_code = models.CharField(_("ICD-10 code"), max_length=10, db_index=True)
    diagnosis_text = models.CharField(_("diagnosis"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=80, blank=True)
    observations = models.PositiveIntegerField(_("lab results"), default=0)
    matches_our_focus = models.BooleanField(_("matches our research focus"), default=False)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["partner", "share_id"], name="external_case_once_per_share")]
        verbose_name = _("external rare case")
        verbose_name_plural = _("external rare cases")

    def __str__(self):
        return f"{self.icd10_code} from {self.partner_id}"


class InboundNonce(models.Model):
    """Nonces partners used, kept until their timestamp can no longer pass the window
    check; the unique constraint refuses a replay even when two arrive at once."""

    partner = models.ForeignKey(SharingPartner, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "nonce"], name="inbound_nonce_once")]
