"""Writes of the partners app: partners, the decision to share (step 7), release
and approval, cancellation, delivery bookkeeping and inbound shares.

The path of a case out of the hospital:

    prediction_indexes_ready ──> rare_case_share_decide ──> ShareDecision (always)
        │ first index in range? else second? ──> partners_matching_case
        │ consent for partner_sharing? ──> k-anonymity over the platform's population?
        ▼
    OutboundShare per partner: awaiting_approval ──share_approve──> _share_release
                               (no approval needed) ───────────────> _share_release
    _share_release: data_release (consent, de-identification with the partner's own
                    pseudonyms, egress audit) ─> FHIR Bundle
                    ─> queued ─> on commit: partners.deliver_share (Celery, retries with backoff)

    case_refreshed (step 8) ──> rare_case_share_update: per partner holding a delivered
        share, has the content it carries changed? ──> ShareDecision ──> the next version
        of that share, through the same consent, k-anonymity, approval and _share_release

Nothing is released before the consent check and, where the hospital asks for it,
an officer's approval; the payload stored on the share is the de-identified Bundle
exactly as signed and sent.
"""

import datetime
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.compliance.consent import consent_check
from apps.compliance.deidentify import age_band, generalise_region
from apps.compliance.models import ConsentPurpose
from apps.compliance.release import data_release
from apps.configuration.selectors import setting_value
from apps.core.exceptions import ConflictError, DomainError, NotFoundError, PermissionDeniedError
from apps.privacy.services import audit_record
from apps.rarecases.services import case_access_record
from apps.realtime.publish import publish
from apps.tenancy.context import hospital_scope, unscoped
from apps.tenancy.roles import Role

from . import signing
from .feature_tags import DEFAULT_PROTOCOL, FeatureTag, categories_to_send, normalise_code, normalise_focus_term, \
    partner_tag, split_list
from .fhir import BundleInvalid, parse_json_body, share_bundle_build, share_bundle_validate
from .models import DataCategory, ExternalRareCase, InboundNonce, OutboundShare, ShareAttempt, ShareDecision, \
    SharingPartner
from .selectors import age_on, hospitals_in_region, our_focus_covers, partners_matching_case, \
    population_with_quasi_identifiers

logger = logging.getLogger(__name__)


REASON_MESSAGES = {
    "not_in_range": gettext_lazy("Neither prediction index is inside the preset range."),
    "range_invalid": gettext_lazy("The preset range is empty (low above high); ask a platform admin to fix it."),
    "no_index": gettext_lazy("The case has no prediction index yet."),
    "no_matching_partner": gettext_lazy("No active, interconnected partner's feature tag matches the case."),
    "no_consent": gettext_lazy("The patient has not consented to sharing with partners."),
    "consent_required": gettext_lazy("The patient has not consented to sharing with partners."),
    "k_anonymity_blocked": gettext_lazy("Too few patients on the platform share the case's sex, age band and "
                                        "region: the share would single the patient out."),
    "k_anonymity_not_met": gettext_lazy("The de-identification service found the record too rare to release."),
    "awaiting_approval": gettext_lazy("The hospital asks a compliance officer to approve each share."),
    "already_shared": gettext_lazy("The case is already shared (or on its way) to this partner."),
    "queued": gettext_lazy("Released de-identified and queued for delivery."),
    "update_in_flight": gettext_lazy("The previous version is being sent to this partner right now; the change "
                                     "goes with the next refresh of the case."),
}
RETRYABLE_CODES = {"replay", "timestamp_stale"}  # a fresh signature on the next attempt cures them

# --- partners (platform admins) --------------------------------------------------------------


def _require_platform_admin(role: str) -> None:
    if role != Role.PLATFORM_ADMIN:
        raise PermissionDeniedError(_("Only platform administrators manage sharing partners."))


def _tag_attributes(*, protocols, fhir_version, research_focus, data_categories) -> tuple[dict, list, list, FeatureTag]:
    focus = [normalise_focus_term(t) for t in split_list(research_focus)]
    categories = [c for c in split_list(data_categories)]
    unknown = [c for c in categories if c not in DataCategory.values]
    if unknown:
        raise DomainError(_("Unknown data categories."), code="invalid", fields={"data_categories": unknown})
    if DataCategory.CONDITION not in categories:
        raise DomainError(_("A partner must accept at least the diagnosis (condition)."), code="invalid",
                          fields={"data_categories": [_("condition is required")]})
    if not focus:
        raise DomainError(_("Give the partner's research focus (ICD-10 prefixes, ranges, categories or *)."),
                          code="invalid", fields={"research_focus": [_("This field is required.")]})
    communication = {"protocols": split_list(protocols) or [DEFAULT_PROTOCOL]}
    if fhir_version:
        communication["fhir_version"] = str(fhir_version)[:16]
    tag = FeatureTag.build(protocols=communication["protocols"], fhir_version=communication.get("fhir_version"),
                           research_focus=focus, data_categories=categories)
    return communication, list(tag.research_focus), list(tag.data_categories), tag


def _endpoint_checked(url: str) -> str:
    if not str(url).lower().startswith(("http://", "https://")):
        raise DomainError(_("The endpoint must be an http(s) URL."), code="invalid", fields={"endpoint_url": [url]})
    return url


def _key_checked(key: str) -> str:
    try:
        signing.key_decode(key)
    except ValueError as error:
        raise DomainError(_("The signing key must be base64url of at least 32 random bytes."), code="invalid",
                          fields={"hmac_key": [str(error)]}) from None
    return key


@dataclass(frozen=True)
class PartnerCreated:
    partner: SharingPartner
    key: str  # shown once, to hand to the partner out of band


def partner_create(*, name: str, code: str, endpoint_url: str, our_id_at_partner: str, research_focus,
                   data_categories, protocols=(DEFAULT_PROTOCOL,), fhir_version: str = "", interconnected: bool = False,
                   hmac_key: str = "", actor=None, role: str) -> PartnerCreated:
    """Register a partner. Without `hmac_key` a fresh key is generated and returned once."""
    _require_platform_admin(role)
    key = _key_checked(hmac_key) if hmac_key else signing.key_generate()
    communication, focus, categories, tag = _tag_attributes(protocols=protocols, fhir_version=fhir_version,
                                                            research_focus=research_focus,
                                                            data_categories=data_categories)
    _endpoint_checked(endpoint_url)
    with transaction.atomic():
        try:
            with transaction.atomic():
                partner = SharingPartner.objects.create(
                    name=name, code=code, endpoint_url=endpoint_url, hmac_key=key,
                    key_fingerprint=signing.key_fingerprint(key), our_id_at_partner=our_id_at_partner,
                    interconnected=interconnected, communication=communication, research_focus=focus,
                    data_categories=categories, feature_tag=tag.text, status_changed_at=timezone.now())
        except IntegrityError:  # the unique partner id decides, also between two admins at once
            raise ConflictError(_("A partner with this id exists."), code="partner_exists",
                                fields={"code": [code]}) from None
        audit_record(action="partners.partner_create", actor=actor, role=role, hospital_id=None,
                     object_type="sharing_partner", object_id=partner.pk,
                     detail={"code": code, "endpoint": endpoint_url, "feature_tag": tag.text,
                             "key_fingerprint": partner.key_fingerprint})
    return PartnerCreated(partner=partner, key=key)


_UPDATABLE = ("name", "endpoint_url", "our_id_at_partner", "interconnected")


def partner_update(*, partner_id: int, actor=None, role: str, **changes) -> SharingPartner:
    """Change a partner's attributes; the feature tag is rebuilt from them."""
    _require_platform_admin(role)
    with transaction.atomic():
        partner = SharingPartner.objects.select_for_update().filter(pk=partner_id).first()
        if partner is None:
            raise NotFoundError(_("No such partner."), code="partner_not_found")
        before = {"feature_tag": partner.feature_tag, "interconnected": partner.interconnected,
                  "endpoint_url": partner.endpoint_url, "name": partner.name}
        if changes.get("endpoint_url") is not None:
            _endpoint_checked(changes["endpoint_url"])
        for name in _UPDATABLE:
            if name in changes and changes[name] is not None:
                setattr(partner, name, changes[name])
        tag_keys = ("protocols", "fhir_version", "research_focus", "data_categories")
        if any(changes.get(k) is not None for k in tag_keys):
            communication = partner.communication or {}
            partner.communication, partner.research_focus, partner.data_categories, tag = _tag_attributes(
                protocols=changes.get("protocols") if changes.get("protocols") is not None
                else communication.get("protocols"),
                fhir_version=changes.get("fhir_version") if changes.get("fhir_version") is not None
                else communication.get("fhir_version", ""),
                research_focus=changes.get("research_focus") if changes.get("research_focus") is not None
                else partner.research_focus,
                data_categories=changes.get("data_categories") if changes.get("data_categories") is not None
                else partner.data_categories)
            partner.feature_tag = tag.text
        partner.save()
        audit_record(action="partners.partner_update", actor=actor, role=role, hospital_id=None,
                     object_type="sharing_partner", object_id=partner.pk,
                     detail={"before": before, "after": {"feature_tag": partner.feature_tag,
                                                         "interconnected": partner.interconnected,
                                                         "endpoint_url": partner.endpoint_url, "name": partner.name},
                             "our_id_changed": changes.get("our_id_at_partner") is not None})
    return partner


_STATUS_STEPS = {
    SharingPartner.Status.ACTIVE: {SharingPartner.Status.SUSPENDED, SharingPartner.Status.REVOKED},
    SharingPartner.Status.SUSPENDED: {SharingPartner.Status.ACTIVE, SharingPartner.Status.REVOKED},
    SharingPartner.Status.REVOKED: set(),  # final: register the partner anew with a new key
}


def partner_set_status(*, partner_id: int, status: str, actor=None, role: str, note: str = "") -> SharingPartner:
    """Suspend, reactivate or revoke. Revoking cancels every open share to the
    partner, in every hospital; a suspended partner's shares wait."""
    _require_platform_admin(role)
    if status not in SharingPartner.Status.values:
        raise DomainError(_("Unknown partner status."), code="invalid", fields={"status": [status]})
    with transaction.atomic():
        partner = SharingPartner.objects.select_for_update().filter(pk=partner_id).first()
        if partner is None:
            raise NotFoundError(_("No such partner."), code="partner_not_found")
        if status == partner.status:
            return partner
        if status not in _STATUS_STEPS[partner.status]:
            raise ConflictError(_("A revoked partner stays revoked; register it again with a new key."),
                                code="partner_status_invalid")
        previous, partner.status, partner.status_changed_at = partner.status, status, timezone.now()
        partner.save(update_fields=["status", "status_changed_at", "updated_at"])
        audit_record(action="partners.partner_status", actor=actor, role=role, hospital_id=None,
                     object_type="sharing_partner", object_id=partner.pk,
                     detail={"from": previous, "to": status, "note": note[:300]})
        if status == SharingPartner.Status.REVOKED:
            _shares_cancel_for_partner(partner, actor=actor, role=role)
    return partner


def _shares_cancel_for_partner(partner: SharingPartner, *, actor, role) -> int:
    """Cancel open shares to a revoked partner in every hospital (one audited
    platform-wide update), with one audit event per hospital."""
    now = timezone.now()
    with unscoped(reason=f"partners: cancel open shares to revoked partner {partner.code}", actor=actor):
        shares = list(OutboundShare.unscoped_objects.select_for_update()
                      .filter(partner=partner, status__in=OutboundShare.CANCELLABLE_STATUSES)
                      .values_list("pk", "hospital_id", "patient_id"))
        OutboundShare.unscoped_objects.filter(pk__in=[pk for pk, _h, _p in shares]).update(
            status=OutboundShare.Status.CANCELLED, status_reason="partner_revoked", closed_at=now)
    per_hospital: dict[int, list[int]] = {}
    for pk, hospital_id, _patient in shares:
        per_hospital.setdefault(hospital_id, []).append(pk)
    for hospital_id, pks in per_hospital.items():
        audit_record(action="partners.shares_cancelled", actor=actor, role=role, hospital_id=hospital_id,
                     object_type="sharing_partner", object_id=partner.pk,
                     detail={"reason": "partner_revoked", "share_ids": pks[:1000]})
    return len(shares)


def partner_rotate_key(*, partner_id: int, actor=None, role: str, hmac_key: str = "") -> PartnerCreated:
    """A new signing key (given, or generated and returned once)."""
    _require_platform_admin(role)
    key = _key_checked(hmac_key) if hmac_key else signing.key_generate()
    with transaction.atomic():
        partner = SharingPartner.objects.select_for_update().filter(pk=partner_id).first()
        if partner is None:
            raise NotFoundError(_("No such partner."), code="partner_not_found")
        previous = partner.key_fingerprint
        partner.hmac_key, partner.key_fingerprint = key, signing.key_fingerprint(key)
        partner.save(update_fields=["hmac_key", "key_fingerprint", "updated_at"])
        audit_record(action="partners.partner_key_rotate", actor=actor, role=role, hospital_id=None,
                     object_type="sharing_partner", object_id=partner.pk,
                     detail={"from": previous, "to": partner.key_fingerprint})
    return PartnerCreated(partner=partner, key=key)


# --- the decision (step 7) -------------------------------------------------------------------


@dataclass(frozen=True)
class QuasiIdentifierCheck:
    k_required: int
    population: int
    sex: str
    age_band: str | None
    region: str | None

    @property
    def passed(self) -> bool:
        return self.population >= self.k_required

    def as_dict(self) -> dict:
        return {"k_required": self.k_required, "population": self.population, "sex": self.sex,
                "age_band": self.age_band, "region": self.region, "passed": self.passed}


def quasi_identifier_check(*, patient, mode: str) -> QuasiIdentifierCheck:
    """k-anonymity of what a share would say about the patient (sex, age band,
    region, generalised as the release will generalise them), counted over every
    patient of the platform in one aggregate query."""
    band = age_band(age_on(patient.birth_date, timezone.localdate()), mode) if patient.birth_date else None
    own_region = setting_value("hospital.region_code")
    region = generalise_region(own_region, mode) if own_region else None
    region_hospitals = hospitals_in_region(region=region, generalise=lambda code: generalise_region(code, mode)) \
        if region else None
    population = population_with_quasi_identifiers(sex=patient.sex, age_band=band,
                                                   region_hospital_ids=region_hospitals)
    return QuasiIdentifierCheck(k_required=int(setting_value("partners.k_anonymity")), population=population,
                                sex=patient.sex, age_band=band, region=region)


def _reason(code: str, **extra) -> dict:
    return {"code": code, **extra}


def _in_range(value, low: float, high: float) -> bool:
    return value is not None and low <= value <= high


def _case_locked(case_id: int):
    """The rare case of the current hospital, locked so two decisions on one case
    cannot both create shares; 404 rare_case_not_found when there is none."""
    from apps.rarecases.models import RareCase

    case = (RareCase.objects.select_related("patient", "diagnosis", "catalogue_entry")
            .select_for_update(of=("self",)).filter(pk=case_id).first())
    if case is None:
        raise NotFoundError(_("No such rare case."), code="rare_case_not_found")
    return case


def _decision_basis(case, *, trigger: str, actor, role: str) -> tuple[tuple, dict]:
    """The hospital's sharing policy as it stands ((index low, index high, approval
    required, de-identification mode)) and the fields every ShareDecision on `case`
    records, its `inputs` included, so each decision says what it was made on."""
    low, high = float(setting_value("partners.share_index_low")), float(setting_value("partners.share_index_high"))
    approval_required = bool(setting_value("partners.approval_required"))
    mode = setting_value("partners.deidentify_mode")
    inputs = {"settings": {"share_index_low": low, "share_index_high": high,
                           "approval_required": approval_required, "deidentify_mode": mode,
                           "k_anonymity": setting_value("partners.k_anonymity")},
              "icd10_code": case.icd10_code, "category": case.category}
    record = {"case": case, "trigger": trigger, "actor": actor, "role": role,
              "first_index": case.first_prediction_index, "second_index": case.second_prediction_index,
              "range_low": low, "range_high": high, "inputs": inputs}
    return (low, high, approval_required, mode), record


def rare_case_share_decide(*, case_id: int, trigger: str = ShareDecision.Trigger.INDEXES_READY, actor=None,
                           role: str = "") -> ShareDecision:
    """Step 7 for one case of the current hospital: if the first prediction index is
    inside the preset range find the matching partners and share; else check the
    second index the same way. Always records a ShareDecision with its inputs."""

    with transaction.atomic():
        case = _case_locked(case_id)
        (low, high, approval_required, mode), record = _decision_basis(case, trigger=trigger, actor=actor, role=role)
        inputs = record["inputs"]

        if low > high:
            return _decision_create(**record, decided_by=ShareDecision.DecidedBy.NONE,
                                    outcome=ShareDecision.Outcome.NOT_IN_RANGE, reasons=[_reason("range_invalid")])
        if _in_range(case.first_prediction_index, low, high):
            decided_by = ShareDecision.DecidedBy.FIRST
        elif _in_range(case.second_prediction_index, low, high):
            decided_by = ShareDecision.DecidedBy.SECOND
        else:
            no_index = case.first_prediction_index is None and case.second_prediction_index is None
            return _decision_create(**record, decided_by=ShareDecision.DecidedBy.NONE,
                                    outcome=ShareDecision.Outcome.NOT_IN_RANGE,
                                    reasons=[_reason("no_index" if no_index else "not_in_range")])

        matches = partners_matching_case(case=case)
        record.update(decided_by=decided_by, matched_partners=[m.as_record() for m in matches])
        if not matches:
            return _decision_create(**record, outcome=ShareDecision.Outcome.NO_MATCHING_PARTNER,
                                    reasons=[_reason("no_matching_partner")])
        consented = consent_check(case.patient, ConsentPurpose.PARTNER_SHARING)
        inputs["consent"] = consented
        if not consented:
            return _decision_create(**record, outcome=ShareDecision.Outcome.NO_CONSENT, reasons=[_reason("no_consent")])
        check = quasi_identifier_check(patient=case.patient, mode=mode)
        inputs["k_anonymity"] = check.as_dict()
        if not check.passed:
            return _decision_create(**record, outcome=ShareDecision.Outcome.K_ANONYMITY_BLOCKED,
                                    reasons=[_reason("k_anonymity_blocked", population=check.population,
                                                     k=check.k_required)])

        live = set(OutboundShare.objects.filter(case=case, status__in=[*OutboundShare.OPEN_STATUSES,
                                                                        OutboundShare.Status.DELIVERED])
                   .values_list("partner_id", flat=True))
        fresh = [m for m in matches if m.partner.pk not in live]
        reasons = [_reason("already_shared", partner=m.partner.code) for m in matches if m.partner.pk in live]
        reasons += [_reason("awaiting_approval" if approval_required else "queued", partner=m.partner.code)
                    for m in fresh]
        if not fresh:
            outcome = ShareDecision.Outcome.ALREADY_SHARED
        else:
            outcome = ShareDecision.Outcome.AWAITING_APPROVAL if approval_required else ShareDecision.Outcome.QUEUED
        try:
            with transaction.atomic():
                decision = _decision_create(**record, outcome=outcome, reasons=reasons)
                for match in fresh:
                    share = OutboundShare.objects.create(
                        hospital_id=case.hospital_id, decision=decision, case=case, patient_id=case.patient_id,
                        partner=match.partner, approval_required=approval_required,
                        data_categories=list(match.categories),
                        status=OutboundShare.Status.AWAITING_APPROVAL)
                    if not approval_required:
                        _share_release(share, actor=actor, role=role, check=check)
                if approval_required and fresh:
                    publish("partners.share_awaiting_approval",
                            {"decision": decision.pk, "case": case.pk, "partners": [m.partner.code for m in fresh]},
                            hospital_id=case.hospital_id, roles=[Role.COMPLIANCE_OFFICER])
        except DomainError as error:
            # The release refused (consent gone, too rare to release): nothing was
            # shared, and the decision says why.
            return _decision_create(**record, outcome=ShareDecision.Outcome.REFUSED,
                                    reasons=[_reason(error.code, message=error.message)])
        return decision


def _decision_create(*, case, trigger, actor, role, first_index, second_index, range_low, range_high, decided_by,
                     outcome, reasons, inputs, matched_partners=()) -> ShareDecision:
    decision = ShareDecision.objects.create(
        hospital_id=case.hospital_id, case=case, trigger=trigger, actor=actor if getattr(actor, "pk", None) else None,
        first_index=first_index, second_index=second_index, range_low=range_low, range_high=range_high,
        decided_by=decided_by, matched_partners=list(matched_partners), outcome=outcome, reasons=reasons,
        inputs=inputs)
    audit_record(action="partners.share_decided", actor=actor, role=role, hospital_id=case.hospital_id,
                 object_type="share_decision", object_id=decision.pk, patient_id=case.patient_id,
                 detail={"case": case.pk, "outcome": outcome, "decided_by": decided_by, "trigger": trigger,
                         "partners": [m["code"] for m in matched_partners]})
    return decision


# --- release, approval, cancellation ----------------------------------------------------------


def _share_records(case, *, categories: list[str]) -> list[dict]:
    """The case as records for `data_release`: the case itself, its findings as
    free text (masked by the release), and the patient's recent lab items when the
    partner accepts them. Identifiers stay in: the release drops or pseudonymises them."""
    patient = case.patient
    feature = case.retrieval_feature if isinstance(case.retrieval_feature, dict) else {}
    record = {"patient_id": patient.pk, "record": "case", "sex": patient.sex, "icd10_code": case.icd10_code,
              "diagnosis": case.diagnosis_text, "category": case.category,
              "diagnosed_at": case.diagnosis.diagnosed_at, "rare_feature": case.rare_feature,
              "incidence": case.incidence}
    if patient.birth_date:
        record["age"] = age_on(patient.birth_date, timezone.localdate())
    region = setting_value("hospital.region_code")
    if region:
        record["region"] = region
    if case.catalogue_entry_id:
        record.update(catalogue_source=case.catalogue_entry.source, catalogue_code=case.catalogue_entry.code)
    related = [str(c) for c in feature.get("codes") or [] if isinstance(c, str)]
    record["related_codes"] = [c for c in related if normalise_code(c) != normalise_code(case.icd10_code)][:20]
    records = [record]
    records += [{"patient_id": patient.pk, "record": "finding", "text": _without_own_identifiers(text, patient)}
                for text in map(_finding_text, (feature.get("findings") or [])[:20]) if text]
    if DataCategory.OBSERVATION in categories or DataCategory.DIAGNOSTIC_REPORT in categories:
        records += _lab_records(patient_id=patient.pk, limit=int(setting_value("partners.max_lab_reports")))
    return records


def _finding_text(finding) -> str:
    """One key finding as a line of text: the registry stores abnormal lab items as
    {"code", "name", "value", "unit", "flag"}; older or hand-made features hold text."""
    if isinstance(finding, dict):
        parts = [finding.get("name") or "", f"({finding['code']})" if finding.get("code") else "",
                 "" if finding.get("value") is None else str(finding["value"]), finding.get("unit") or "",
                 finding.get("flag") or ""]
        return " ".join(part for part in parts if part)
    return str(finding) if isinstance(finding, str | int | float) else ""


def _without_own_identifiers(text: str, patient) -> str:
    """The release masks identifier patterns (ID numbers, phones, addresses) and,
    once the clinical NER registers its masker, names. The patient's own name and
    record number are known here: masked before the release, so free text never
    carries them even without the NER."""
    for value, label in ((patient.name, "[NAME]"), (patient.medical_record_number, "[MRN]")):
        if value and len(value) >= 2:
            text = text.replace(value, label)
    return text


def _lab_records(*, patient_id: int, limit: int) -> list[dict]:
    # Read here rather than through apps.reports' selectors: those answer for a user
    # at a hospital, and a share is the platform acting for the hospital.
    from apps.reports.models import LabReport

    if limit <= 0:
        return []
    reports = (LabReport.objects.filter(patient_id=patient_id,
                                        status__in=[LabReport.Status.FINAL, LabReport.Status.PRELIMINARY])
               .prefetch_related("items").order_by("-created_at", "-id")[:limit])
    records = []
    for position, report in enumerate(reports, start=1):
        for item in report.items.all():
            records.append({"patient_id": patient_id, "record": "lab_item", "report_ref": position,
                            "report_status": report.status, "collected_at": report.created_at, "code": item.code,
                            "item_name": item.name, "value": item.value, "value_text": item.value_text,
                            "unit": item.unit, "range_low": item.range_low, "range_high": item.range_high,
                            "flag": item.flag})
    return records


def share_recipient(partner: SharingPartner) -> str:
    """Who a share's pseudonyms belong to: the partner's code, unique and never
    changed after registration (the display name can be edited). Each partner so
    gets its own pseudonym for a patient, the same on every share to it, and two
    partners cannot join their copies."""
    return f"partner:{partner.code}"


# What a share carries that is not its clinical content: the patient's demographics
# (generalised anyway, and the exact age moves every birthday) and the registry's
# rarity figures (recomputed by every daily analysis). A change in them alone sends
# no update; an update that goes for another reason carries their current values.
_NOT_CONTENT = frozenset({"patient_id", "sex", "age", "region", "rare_feature", "incidence"})


def share_content_digest(records: list[dict], *, categories: list[str]) -> str:
    """SHA-256 of the clinical content of a share (the diagnosis, its codes and
    catalogue entry, the findings, the lab items, and which categories the partner
    takes), computed on the records before the release. An update is sent when this
    differs from the version the partner holds or is about to receive."""
    content = [{key: value for key, value in record.items() if key not in _NOT_CONTENT} for record in records]
    text = json.dumps({"categories": sorted(categories), "records": content}, sort_keys=True, default=str,
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _share_release(share: OutboundShare, *, actor, role: str, check: QuasiIdentifierCheck | None = None) -> None:
    """Release the case for this share (any version) through the one guarded path out,
    build the Bundle, store it on the share and queue the delivery after commit.
    `check`: the k-anonymity check the same transaction just made (an approval later
    checks anew)."""
    from .tasks import share_deliver_task

    case = share.case
    mode = setting_value("partners.deidentify_mode")
    check = check or quasi_identifier_check(patient=case.patient, mode=mode)
    if not check.passed:
        raise ConflictError(str(REASON_MESSAGES["k_anonymity_blocked"]), code="k_anonymity_blocked",
                            fields={"population": [str(check.population)], "k": [str(check.k_required)]})
    records = _share_records(case, categories=share.data_categories)
    # k=1 here: a share is one case, so the release's set-level k is meaningless; the
    # population check above is the k-anonymity test that counts.
    released = data_release(hospital_id=case.hospital_id, records=records, purpose=ConsentPurpose.PARTNER_SHARING,
                            mode=mode, k=1, recipient=share_recipient(share.partner), actor=actor, role=role,
                            action="partners.share.release")
    payload = share_bundle_build(records=released.records, share_id=str(share.partner_share_id), mode=mode,
                                 categories=share.data_categories, version=share.version,
                                 platform_code=setting_value("partners.platform_code"), platform_name="")
    now = timezone.now()
    share.payload, share.payload_sha256 = payload, hashlib.sha256(payload.encode()).hexdigest()
    share.content_sha256 = share_content_digest(records, categories=share.data_categories)
    share.status, share.queued_at, share.next_attempt_at = OutboundShare.Status.QUEUED, now, now
    share.save(update_fields=["payload", "payload_sha256", "content_sha256", "status", "queued_at",
                              "next_attempt_at"])
    audit_record(action="partners.share_queued", actor=actor, role=role, hospital_id=case.hospital_id,
                 object_type="outbound_share", object_id=share.pk, patient_id=case.patient_id,
                 detail={"share_id": str(share.share_id), "partner": share.partner.code, "k": check.as_dict(),
                         "categories": share.data_categories, "payload_sha256": share.payload_sha256,
                         "version": share.version, "partner_share_id": str(share.partner_share_id)})
    hospital_id, share_pk = case.hospital_id, share.pk
    transaction.on_commit(lambda: share_deliver_task.apply_async(kwargs={"hospital_id": hospital_id,
                                                                         "share_pk": share_pk}))


# --- updates of delivered cases (after step 8) -------------------------------------------------


@dataclass(frozen=True)
class _UpdatePlan:
    first: OutboundShare  # the delivered first version: the partner holds the case under its id
    categories: list[str]
    digest: str
    version: int  # the next version
    superseded: OutboundShare | None  # an open version not sent yet, replaced by this one


def _update_plan(first: OutboundShare, records_for) -> _UpdatePlan | str | None:
    """What to send the partner holding `first`: a plan, a reason code when the change
    has to wait, or None when the partner is up to date (or may not receive it)."""
    partner = first.partner
    if partner.status == SharingPartner.Status.REVOKED:
        return None
    categories = categories_to_send(partner_tag(partner))
    if DataCategory.CONDITION not in categories:
        return None
    versions = list(OutboundShare.objects.filter(Q(pk=first.pk) | Q(origin=first)).order_by("-version"))
    # The version the partner holds or is about to hold, or that an officer turned down:
    # the content it carries needs no new version. Failed and cancelled ones do not count.
    settled = (*OutboundShare.OPEN_STATUSES, OutboundShare.Status.DELIVERED, OutboundShare.Status.REJECTED)
    current = next(share for share in versions if share.status in settled)
    digest = share_content_digest(records_for(categories), categories=categories)
    if current.content_sha256 == digest:
        return None
    if current.status == OutboundShare.Status.SENDING:
        return "update_in_flight"
    superseded = current if current.status in OutboundShare.CANCELLABLE_STATUSES else None
    return _UpdatePlan(first=first, categories=categories, digest=digest, version=versions[0].version + 1,
                       superseded=superseded)


def rare_case_share_update(*, case_id: int, trigger: str = ShareDecision.Trigger.CASE_UPDATED, actor=None,
                           role: str = "") -> ShareDecision | None:
    """A case of the current hospital was refreshed (step 8): every partner that holds a
    delivered share of it and would now receive different clinical content gets the
    next version of that share, released through the same path as the first one
    (consent, k-anonymity over the platform's population, the hospital's approval rule,
    `data_release` with the partner's own pseudonym and the egress event) and delivered
    by the same task. A version not sent yet is replaced by the newer one.

    Returns the decision, or None when no partner needs an update (nothing written)."""

    with transaction.atomic():
        case = _case_locked(case_id)
        firsts = list(OutboundShare.objects.select_related("partner")
                      .filter(case=case, version=1, status=OutboundShare.Status.DELIVERED).order_by("partner_id"))
        if not firsts:
            return None
        records: dict[tuple, list[dict]] = {}

        def records_for(categories: list[str]) -> list[dict]:
            key = tuple(categories)
            if key not in records:
                records[key] = _share_records(case, categories=categories)
            return records[key]

        plans, waiting = [], []
        for first in firsts:
            plan = _update_plan(first, records_for)
            if isinstance(plan, _UpdatePlan):
                plans.append(plan)
            elif plan:
                waiting.append(_reason(plan, partner=first.partner.code))
        if not plans and not waiting:
            return None

        (_low, _high, approval_required, mode), record = _decision_basis(case, trigger=trigger, actor=actor, role=role)
        inputs = record["inputs"]
        inputs["versions"] = {plan.first.partner.code: plan.version for plan in plans}
        record.update(decided_by=ShareDecision.DecidedBy.UPDATE,
                      matched_partners=[{"id": plan.first.partner.pk, "code": plan.first.partner.code,
                                         "name": plan.first.partner.name, "categories": plan.categories,
                                         "why": [f"holds:{plan.first.share_id}"]} for plan in plans])
        if not plans:
            return _decision_create(**record, outcome=ShareDecision.Outcome.ALREADY_SHARED, reasons=waiting)
        consented = consent_check(case.patient, ConsentPurpose.PARTNER_SHARING)
        inputs["consent"] = consented
        if not consented:
            return _decision_create(**record, outcome=ShareDecision.Outcome.NO_CONSENT,
                                    reasons=[_reason("no_consent"), *waiting])
        check = quasi_identifier_check(patient=case.patient, mode=mode)
        inputs["k_anonymity"] = check.as_dict()
        if not check.passed:
            return _decision_create(**record, outcome=ShareDecision.Outcome.K_ANONYMITY_BLOCKED,
                                    reasons=[_reason("k_anonymity_blocked", population=check.population,
                                                     k=check.k_required), *waiting])
        outcome = ShareDecision.Outcome.AWAITING_APPROVAL if approval_required else ShareDecision.Outcome.QUEUED
        reasons = [_reason(outcome.value, partner=plan.first.partner.code, version=plan.version) for plan in plans]
        try:
            with transaction.atomic():
                for plan in plans:
                    if plan.superseded is not None:
                        _share_close(plan.superseded, status=OutboundShare.Status.CANCELLED, reason="superseded")
                decision = _decision_create(**record, outcome=outcome, reasons=reasons + waiting)
                for plan in plans:
                    share = OutboundShare.objects.create(
                        hospital_id=case.hospital_id, decision=decision, case=case, patient_id=case.patient_id,
                        partner=plan.first.partner, origin=plan.first, version=plan.version,
                        approval_required=approval_required, data_categories=plan.categories,
                        content_sha256=plan.digest, status=OutboundShare.Status.AWAITING_APPROVAL)
                    if not approval_required:
                        _share_release(share, actor=actor, role=role, check=check)
                if approval_required:
                    publish("partners.share_awaiting_approval",
                            {"decision": decision.pk, "case": case.pk, "update": True,
                             "partners": [plan.first.partner.code for plan in plans]},
                            hospital_id=case.hospital_id, roles=[Role.COMPLIANCE_OFFICER])
        except DomainError as error:
            return _decision_create(**record, outcome=ShareDecision.Outcome.REFUSED,
                                    reasons=[_reason(error.code, message=error.message), *waiting])
        return decision


def _share_for_review(share_pk) -> OutboundShare:
    share = (OutboundShare.objects.select_for_update(of=("self",)).select_related("case__patient", "partner")
             .filter(pk=share_pk).first()) if str(share_pk).isdigit() else None
    if share is None:
        raise NotFoundError(_("No such share."), code="share_not_found")
    if share.status != OutboundShare.Status.AWAITING_APPROVAL:
        raise ConflictError(_("This share is not awaiting approval (it is %(status)s).")
                            % {"status": share.get_status_display()}, code="share_not_awaiting_approval")
    return share


def share_approve(*, share_pk, actor, role: str, note: str = "") -> OutboundShare:
    """A compliance officer approves: the case is released (consent checked again)
    and queued. A refusal of the release leaves the share awaiting approval."""
    if role != Role.COMPLIANCE_OFFICER:
        raise PermissionDeniedError(_("Only compliance officers approve shares."))
    with transaction.atomic():
        share = _share_for_review(share_pk)
        partner = share.partner
        if partner.status != SharingPartner.Status.ACTIVE or not partner.interconnected:
            raise ConflictError(_("The partner is not active and interconnected; it cannot receive shares now."),
                                code="partner_unavailable")
        share.reviewed_by, share.reviewed_at, share.review_note = actor, timezone.now(), note[:500]
        share.save(update_fields=["reviewed_by", "reviewed_at", "review_note"])
        _share_release(share, actor=actor, role=role)
        audit_record(action="partners.share_approved", actor=actor, role=role, object_type="outbound_share",
                     object_id=share.pk, patient_id=share.patient_id,
                     detail={"share_id": str(share.share_id), "partner": partner.code, "note": note[:300]})
    return share


def share_reject(*, share_pk, actor, role: str, note: str) -> OutboundShare:
    if role != Role.COMPLIANCE_OFFICER:
        raise PermissionDeniedError(_("Only compliance officers reject shares."))
    if not (note or "").strip():
        raise DomainError(_("Say why the share is rejected."), code="invalid",
                          fields={"note": [_("This field is required.")]})
    with transaction.atomic():
        share = _share_for_review(share_pk)
        now = timezone.now()
        share.status, share.status_reason, share.closed_at = OutboundShare.Status.REJECTED, "rejected", now
        share.reviewed_by, share.reviewed_at, share.review_note = actor, now, note[:500]
        share.save(update_fields=["status", "status_reason", "closed_at", "reviewed_by", "reviewed_at", "review_note"])
        audit_record(action="partners.share_rejected", actor=actor, role=role, object_type="outbound_share",
                     object_id=share.pk, patient_id=share.patient_id,
                     detail={"share_id": str(share.share_id), "partner": share.partner.code, "note": note[:300]})
    return share


def shares_cancel_for_patient(*, hospital_id: int, patient_id: int, reason: str = "consent_withdrawn",
                              actor=None) -> int:
    """Cancel the patient's shares that have not left (awaiting approval, queued,
    waiting to retry). A share in flight at this moment finishes its one attempt;
    the delivery checks consent again before every attempt."""
    with hospital_scope(hospital_id), transaction.atomic():
        shares = list(OutboundShare.objects.select_for_update().select_related("partner")
                      .filter(patient_id=patient_id, status__in=OutboundShare.CANCELLABLE_STATUSES))
        now = timezone.now()
        for share in shares:
            share.status, share.status_reason, share.closed_at = OutboundShare.Status.CANCELLED, reason, now
            share.save(update_fields=["status", "status_reason", "closed_at"])
            audit_record(action="partners.share_cancelled", actor=actor, hospital_id=hospital_id,
                         object_type="outbound_share", object_id=share.pk, patient_id=patient_id,
                         detail={"share_id": str(share.share_id), "partner": share.partner.code, "reason": reason})
    return len(shares)


# --- delivery bookkeeping (the Celery task calls these around the HTTP request) -------------------


@dataclass(frozen=True)
class DeliveryPlan:
    url: str
    body: bytes
    key: bytes
    partner_id: str
    share_id: str
    attempt: int
    timeout: float


@dataclass(frozen=True)
class DeliveryWait:
    seconds: float
    reason: str


def inbound_url(endpoint_url: str) -> str:
    return endpoint_url.rstrip("/") + "/api/v1/partners/inbound/"


def share_delivery_begin(*, share_pk: int) -> DeliveryPlan | DeliveryWait | None:
    """Claim the share for one attempt, in the current hospital. None: nothing to
    send (delivered, cancelled, ...). A wait: the partner is suspended."""
    with transaction.atomic():
        share = (OutboundShare.objects.select_for_update(of=("self",)).select_related("partner", "case", "origin")
                 .filter(pk=share_pk).first())
        if share is None or share.status not in (OutboundShare.Status.QUEUED, OutboundShare.Status.RETRYING,
                                                 OutboundShare.Status.SENDING):
            return None
        partner = share.partner
        if partner.status == SharingPartner.Status.REVOKED:
            _share_close(share, status=OutboundShare.Status.CANCELLED, reason="partner_revoked")
            return None
        if not consent_check(share.patient_id, ConsentPurpose.PARTNER_SHARING):
            _share_close(share, status=OutboundShare.Status.CANCELLED, reason="consent_withdrawn")
            return None
        if partner.status != SharingPartner.Status.ACTIVE or not partner.interconnected:
            wait = float(setting_value("partners.retry_max_seconds"))
            share.status, share.status_reason = OutboundShare.Status.RETRYING, "partner_unavailable"
            share.next_attempt_at = timezone.now() + datetime.timedelta(seconds=wait)
            share.save(update_fields=["status", "status_reason", "next_attempt_at"])
            return DeliveryWait(seconds=wait, reason="partner_unavailable")
        share.status, share.attempts = OutboundShare.Status.SENDING, share.attempts + 1
        share.save(update_fields=["status", "attempts"])
        return DeliveryPlan(url=inbound_url(partner.endpoint_url), body=share.payload.encode(),
                            key=signing.key_decode(partner.hmac_key), partner_id=partner.our_id_at_partner,
                            share_id=str(share.partner_share_id), attempt=share.attempts,
                            timeout=float(setting_value("partners.timeout_seconds")))


def _share_close(share: OutboundShare, *, status: str, reason: str) -> None:
    share.status, share.status_reason, share.closed_at = status, reason, timezone.now()
    share.save(update_fields=["status", "status_reason", "closed_at"])
    audit_record(action="partners.share_cancelled" if status == OutboundShare.Status.CANCELLED
                 else "partners.share_failed", hospital_id=share.hospital_id, object_type="outbound_share",
                 object_id=share.pk, patient_id=share.patient_id,
                 detail={"share_id": str(share.share_id), "partner": share.partner.code, "reason": reason,
                         "attempts": share.attempts})


@dataclass(frozen=True)
class DeliveryResult:
    started_at: datetime.datetime
    duration_ms: float
    status_code: int | None  # None: no answer (refused, reset, timed out)
    error_code: str = ""
    record_id: str = ""
    duplicate: bool = False


def retry_delay(attempt: int) -> float:
    """Exponential backoff: base, 2 base, 4 base, ... capped."""
    base, cap = float(setting_value("partners.retry_base_seconds")), float(setting_value("partners.retry_max_seconds"))
    return min(cap, base * 2 ** max(0, attempt - 1))


def share_delivery_finish(*, share_pk: int, attempt: int, result: DeliveryResult) -> float | None:
    """Record the attempt and move the share on. Returns the seconds to wait before
    the next attempt, or None when the share is settled."""
    from apps.rarecases.models import RareCase

    with transaction.atomic():
        share = (OutboundShare.objects.select_for_update(of=("self",)).select_related("partner")
                 .filter(pk=share_pk).first())
        if share is None:
            return None
        code = result.status_code
        if code is not None and 200 <= code < 300:
            outcome = ShareAttempt.Outcome.DUPLICATE if result.duplicate else ShareAttempt.Outcome.DELIVERED
        elif code is None or code in (408, 425, 429) or code >= 500 or result.error_code in RETRYABLE_CODES:
            outcome = ShareAttempt.Outcome.RETRY if share.attempts < int(setting_value("partners.max_attempts")) \
                else ShareAttempt.Outcome.FAILED
        else:
            outcome = ShareAttempt.Outcome.FAILED
        ShareAttempt.objects.create(hospital_id=share.hospital_id, share=share, number=attempt,
                                    started_at=result.started_at, duration_ms=result.duration_ms, status_code=code,
                                    error_code=result.error_code[:64], outcome=outcome)
        share.last_status_code, share.last_error = code, result.error_code[:300]
        if share.status != OutboundShare.Status.SENDING:
            share.save(update_fields=["last_status_code", "last_error"])
            return None  # settled meanwhile (e.g. by a redelivered copy of the task)
        if outcome in (ShareAttempt.Outcome.DELIVERED, ShareAttempt.Outcome.DUPLICATE):
            now = timezone.now()
            share.status, share.status_reason = OutboundShare.Status.DELIVERED, outcome
            share.delivered_at, share.closed_at, share.partner_record_id = now, now, result.record_id[:64]
            share.save(update_fields=["status", "status_reason", "delivered_at", "closed_at", "partner_record_id",
                                      "last_status_code", "last_error"])
            RareCase.objects.filter(pk=share.case_id, status=RareCase.Status.REGISTERED).update(
                status=RareCase.Status.SHARED)
            audit_record(action="partners.share_delivered", hospital_id=share.hospital_id,
                         object_type="outbound_share", object_id=share.pk, patient_id=share.patient_id,
                         detail={"share_id": str(share.share_id), "partner": share.partner.code,
                                 "version": share.version, "attempts": share.attempts,
                                 "record_at_partner": share.partner_record_id})
            if share.version == 1:
                # The case reached one more party: a use for the propagation index. An
                # update reaches the same party again and is not counted.
                case_access_record(case=share.case, kind="share", channel=f"partner:{share.partner.code}")
            return None
        if outcome == ShareAttempt.Outcome.RETRY:
            delay = retry_delay(share.attempts)
            share.status, share.status_reason = OutboundShare.Status.RETRYING, result.error_code or f"http_{code}"
            share.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
            share.save(update_fields=["status", "status_reason", "next_attempt_at", "last_status_code", "last_error"])
            return delay
        share.save(update_fields=["last_status_code", "last_error"])
        reason = "attempts_exhausted" if (code is None or code >= 500 or code in (408, 425, 429)) \
            else (result.error_code or f"http_{code}")
        _share_close(share, status=OutboundShare.Status.FAILED, reason=reason[:64])
        return None


def shares_requeue_stalled(*, hospital_id: int, older_than: datetime.timedelta) -> int:
    """Queue again shares whose next attempt is long overdue (their task was lost:
    a broker flushed, a worker killed before acknowledging). The partner's
    idempotency makes a second delivery of one share harmless."""
    from .tasks import share_deliver_task

    cutoff = timezone.now() - older_than
    with hospital_scope(hospital_id):
        pks = list(OutboundShare.objects.filter(status__in=[OutboundShare.Status.QUEUED,
                                                            OutboundShare.Status.RETRYING],
                                                next_attempt_at__lt=cutoff).values_list("pk", flat=True)[:1000])
    for pk in pks:
        share_deliver_task.apply_async(kwargs={"hospital_id": hospital_id, "share_pk": pk})
    return len(pks)


# --- inbound ----------------------------------------------------------------------------------


class InboundRefused(DomainError):
    """An inbound share we refuse; `status_code` and `code` tell the partner why."""

    def __init__(self, status_code: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message, code=code, fields=fields)
        self.status_code = status_code


@dataclass(frozen=True)
class InboundResult:
    case: ExternalRareCase
    outcome: str  # stored (a new case), updated (a newer version replaced it), duplicate (already held)
    partner: SharingPartner

    @property
    def created(self) -> bool:
        return self.outcome == "stored"


def _header(headers, name: str) -> str:
    return (headers.get(name) or "").strip()


def inbound_partner_verify(*, headers, body: bytes) -> tuple[SharingPartner, str, str]:
    """Who is calling, and is the request theirs and fresh? Returns (partner, nonce,
    share id). Raises InboundRefused. Reads only; the nonce is stored by the receive."""
    partner_code = _header(headers, signing.HEADER_PARTNER)
    partner = SharingPartner.objects.filter(code=partner_code).first() if partner_code else None
    if partner is None:
        raise InboundRefused(401, "partner_unknown", _("Unknown partner: send the id this platform gave you in "
                                                       "X-Partner-Id."))
    if partner.status == SharingPartner.Status.REVOKED:
        raise InboundRefused(403, "partner_revoked", _("This partner's access has been revoked."))
    if partner.status == SharingPartner.Status.SUSPENDED:
        raise InboundRefused(403, "partner_suspended", _("This partner is suspended; try again later."))
    timestamp, nonce = _header(headers, signing.HEADER_TIMESTAMP), _header(headers, signing.HEADER_NONCE)
    signature, share_id = _header(headers, signing.HEADER_SIGNATURE), _header(headers, signing.HEADER_IDEMPOTENCY)
    if not (timestamp and nonce and signature and share_id):
        raise InboundRefused(401, "signature_missing", _("Send X-Timestamp, X-Nonce, Idempotency-Key and "
                                                         "X-Signature."))
    if not timestamp.isdigit():
        raise InboundRefused(400, "timestamp_invalid", _("X-Timestamp must be Unix seconds."))
    window = int(setting_value("partners.timestamp_window_seconds"))
    if abs(timezone.now().timestamp() - int(timestamp)) > window:
        raise InboundRefused(401, "timestamp_stale", _("X-Timestamp is outside the accepted window; check the "
                                                       "clock and sign again."))
    if not signing.NONCE_PATTERN.match(nonce):
        raise InboundRefused(400, "nonce_invalid", _("X-Nonce must be 32 lower-case hex digits."))
    try:
        share_id = str(uuid.UUID(share_id))
    except ValueError:
        raise InboundRefused(400, "idempotency_key_invalid", _("Idempotency-Key must be the share's UUID.")) from None
    if not signing.signature_valid(signing.key_decode(partner.hmac_key), signature, timestamp=timestamp,
                                   nonce=nonce, idempotency_key=_header(headers, signing.HEADER_IDEMPOTENCY),
                                   body=body):
        raise InboundRefused(401, "signature_invalid", _("The signature does not match; sign timestamp, nonce, "
                                                         "Idempotency-Key and body with the shared key."))
    return partner, nonce, share_id


def _bundle_received(body: bytes, *, share_id: str):
    try:
        data = parse_json_body(body)
        return data, share_bundle_validate(data, share_id=share_id)
    except BundleInvalid as invalid:
        raise InboundRefused(400, "bundle_invalid", invalid.message, invalid.fields) from None


def _received_fields(received, data) -> dict:
    return {"bundle": data, "version": received.version, "pseudonym": received.pseudonym, "sex": received.sex,
            "age_band": received.age_band, "region": received.region, "icd10_code": received.icd10_code,
            "diagnosis_text": received.diagnosis_text, "category": received.category,
            "observations": received.observations,
            "matches_our_focus": our_focus_covers(icd10_code=received.icd10_code, category=received.category,
                                                  related_codes=received.related_codes)}


def _external_case_apply(case: ExternalRareCase, *, data, received, digest: str) -> str:
    """A version of a case we hold (the row locked): the same body is a repeat, a newer
    version replaces the stored data in place, the same or an older version with
    another body is refused."""
    if case.body_sha256 == digest:
        return "duplicate"
    if received.version == case.version:
        raise InboundRefused(409, "idempotency_conflict", _("This share id and version were used for another body; "
                                                            "send a change as the next version."),
                             {"meta.versionId": [str(received.version)]})
    if received.version < case.version:
        raise InboundRefused(409, "version_outdated", _("A newer version of this share is stored here; an older "
                                                        "one never replaces it."),
                             {"meta.versionId": [str(received.version)], "stored_version": [str(case.version)]})
    for name, value in _received_fields(received, data).items():
        setattr(case, name, value)
    case.body_sha256, case.updated_at = digest, timezone.now()
    case.save()
    return "updated"


def inbound_share_receive(*, headers, body: bytes) -> InboundResult:
    """Verify, refuse a replay, validate the Bundle and store it, all or nothing.

    One record per partner and share id: a new share id is stored; the same body
    again (the partner retried) returns the stored record; a higher
    Bundle.meta.versionId replaces the stored case's data in place (an update); the
    same version with another body, or an older version, is a 409 and changes nothing."""
    partner, nonce, share_id = inbound_partner_verify(headers=headers, body=body)
    digest = hashlib.sha256(body).hexdigest()
    window = int(setting_value("partners.timestamp_window_seconds"))
    with transaction.atomic():
        try:
            with transaction.atomic():
                InboundNonce.objects.create(partner=partner, nonce=nonce,
                                            expires_at=timezone.now() + datetime.timedelta(seconds=2 * window))
        except IntegrityError:
            raise InboundRefused(409, "replay", _("This nonce was used already: a request is never accepted twice; "
                                                  "sign a new one.")) from None
        # Locked: two versions of one share arriving at once are applied one after the other.
        held = ExternalRareCase.objects.select_for_update().filter(partner=partner, share_id=share_id)
        case = held.first()
        previous_version = case.version if case is not None else None
        if case is not None and case.body_sha256 == digest:
            outcome = "duplicate"
        else:
            data, received = _bundle_received(body, share_id=share_id)
            if case is None:
                try:
                    with transaction.atomic():
                        case = ExternalRareCase.objects.create(partner=partner, share_id=share_id,
                                                               body_sha256=digest, **_received_fields(received, data))
                    outcome = "stored"
                except IntegrityError:  # the same share arriving twice at once
                    case = held.get()
                    previous_version = case.version
                    outcome = _external_case_apply(case, data=data, received=received, digest=digest)
            else:
                outcome = _external_case_apply(case, data=data, received=received, digest=digest)
        SharingPartner.objects.filter(pk=partner.pk).update(last_inbound_at=timezone.now())
        detail = {"partner": partner.code, "share_id": share_id, "icd10_code": case.icd10_code, "sha256": digest,
                  "version": case.version}
        if outcome == "updated":
            detail["previous_version"] = previous_version
        audit_record(action={"stored": "partners.inbound_received", "updated": "partners.inbound_updated",
                             "duplicate": "partners.inbound_repeated"}[outcome],
                     hospital_id=None, object_type="external_rare_case", object_id=case.pk, detail=detail)
    return InboundResult(case=case, outcome=outcome, partner=partner)


def inbound_nonces_purge() -> int:
    deleted, _detail = InboundNonce.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
