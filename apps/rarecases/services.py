"""Writes of the rare-case registry: indexing a case (step 3), recording clicks and
usage (step 4), the access periods, following cases. The rarity analysis is in
rarity.py, the trend model in trend.py, keeping cases alive in keepalive.py.

`case_access_record(case=..., kind=..., actor=..., parent=..., channel=...)` is the
one entry other apps use (the partners app records its shares through it)."""

import datetime
import logging
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.compliance.deidentify import deidentify_record
from apps.configuration.selectors import setting_value
from apps.core.exceptions import DomainError, PermissionDeniedError
from apps.privacy.services import audit_record
from apps.realtime.publish import publish
from apps.tenancy.context import current_hospital_id
from apps.tenancy.models import Membership
from apps.tenancy.roles import STAFF_ROLES, Role

from .declared_settings import FIRST_PERIOD_BASE_DAYS, FIRST_PERIOD_BOUNDS_HOURS, FIRST_PERIOD_REFERENCE_VISITS
from .models import AccessKind, AccessPeriod, CaseAccess, CaseFollow, RareCase, RareCaseIndexEntry

logger = logging.getLogger(__name__)

INDEX_PURPOSE = "rare_case_index"
FINDINGS_DAYS = 30  # lab findings within this many days of the diagnosis are the case's key findings
MAX_PER_LABEL = 20
FOLLOW_ROLES = frozenset({Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN})


# --- step 3: retrieval feature and the de-identified index -----------------------------


def _entities(encounter, *, structure: bool) -> dict[str, list[str]]:
    from apps.nlp.models import EncounterStructuring, RecordEntity

    if structure and encounter.record_text.strip() and not EncounterStructuring.objects.filter(
            encounter_id=encounter.pk).exists():
        from apps.nlp.services import encounter_structure

        encounter_structure(encounter_id=encounter.pk)
    found: dict[str, list[str]] = {}
    for label, text in RecordEntity.objects.filter(encounter_id=encounter.pk).order_by("start").values_list(
            "label", "text"):
        texts = found.setdefault(label, [])
        if text not in texts and len(texts) < MAX_PER_LABEL:
            texts.append(text)
    return found


def _findings(case: RareCase) -> list[dict]:
    """Abnormal lab items (high or low) of the patient's analysed reports near the diagnosis."""
    from apps.reports.models import LabItem, LabReport

    around = case.diagnosis.diagnosed_at
    items = (LabItem.objects.filter(report__patient_id=case.patient_id, flag__in=(LabItem.Flag.HIGH, LabItem.Flag.LOW),
                                    report__status__in=(LabReport.Status.PRELIMINARY, LabReport.Status.FINAL),
                                    report__created_at__gte=around - datetime.timedelta(days=FINDINGS_DAYS),
                                    report__created_at__lte=around + datetime.timedelta(days=FINDINGS_DAYS))
             .order_by("-report__created_at", "position").values("code", "name", "flag", "value", "unit"))
    seen, findings = set(), []
    for item in items:
        if item["code"] in seen:
            continue
        seen.add(item["code"])
        findings.append({"code": item["code"], "name": item["name"], "flag": item["flag"], "value": item["value"],
                         "unit": item["unit"]})
    return findings


def _medication(case: RareCase) -> list[str]:
    """The drugs the patient was on around the diagnosis (medication plans, from a
    prescription or entered by hand), without doses: what matters for finding cases
    like it is the treatment, not the schedule."""
    from apps.reminders.models import MedicationPlan

    around = timezone.localtime(case.diagnosis.diagnosed_at).date()
    window = datetime.timedelta(days=FINDINGS_DAYS)
    names = (MedicationPlan.objects.filter(patient_id=case.patient_id, start_date__lte=around + window)
             .exclude(end_date__lt=around - window).order_by("start_date", "id").values_list("drug_name", flat=True))
    return list(dict.fromkeys(name.strip() for name in names if name.strip()))[:MAX_PER_LABEL]


def _follow_up(case: RareCase) -> dict:
    """How the patient was followed after the diagnosis: later encounters by kind
    (counts only: dates would identify)."""
    from apps.patients.models import Encounter

    later = (Encounter.objects.filter(patient_id=case.patient_id, started_at__gt=case.diagnosis.diagnosed_at)
             .exclude(pk=case.diagnosis.encounter_id).values_list("kind", flat=True))
    counts: dict[str, int] = {}
    for kind in later:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def retrieval_feature_build(*, case: RareCase, structure: bool = True) -> dict:
    """The case's effective feature set: codes, clinical entities, key findings,
    category and rare feature (and the catalogue entry, when on one)."""
    diagnosis = case.diagnosis
    codes = [case.icd10_code] + sorted({code for code in diagnosis.encounter.diagnoses.values_list(
        "icd10_code", flat=True) if code != case.icd10_code})
    feature = {"codes": codes, "entities": _entities(diagnosis.encounter, structure=structure),
               "findings": _findings(case), "medication": _medication(case), "follow_up": _follow_up(case),
               "category": case.category, "rare_feature": case.rare_feature}
    if case.catalogue_entry_id:
        entry = case.catalogue_entry
        feature["catalogue"] = {"source": entry.source, "code": entry.code, "name": entry.name_zh or entry.name_en}
    return feature


def _age_on(birth_date, day) -> int | None:
    if birth_date is None:
        return None
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _search_text(entry: RareCaseIndexEntry, feature: dict) -> str:
    parts = [*entry.codes, entry.diagnosis_text, entry.category]
    parts += [text for texts in entry.entities.values() for text in texts]
    findings = [finding for finding in entry.findings if isinstance(finding, dict)]
    parts += [finding.get("name") for finding in findings] + [finding.get("code") for finding in findings]
    parts += feature.get("medication", [])
    if feature.get("catalogue"):
        parts += [feature["catalogue"]["code"], feature["catalogue"]["name"]]
    return " ".join(str(part) for part in parts if part).lower()


def index_entry_upsert(*, case: RareCase) -> RareCaseIndexEntry:
    """Write the case's de-identified index entry from its retrieval feature: a
    pseudonym (keyed, per purpose), age band, generalised region, diagnosis month,
    masked diagnosis text; no name, identifier or exact date."""
    patient, diagnosis = case.patient, case.diagnosis
    diagnosed_on = timezone.localtime(diagnosis.diagnosed_at).date()
    record = {"patient_id": case.patient_id, "age": _age_on(patient.birth_date, diagnosed_on), "sex": patient.sex,
              "region": setting_value("hospital.region_code") or None, "diagnosed_at": diagnosed_on,
              "text": case.diagnosis_text}
    public = deidentify_record(record, purpose=INDEX_PURPOSE, mode="pseudonymise", hospital_id=case.hospital_id)
    feature = case.retrieval_feature or {}
    values = {
        "hospital_id": case.hospital_id, "pseudonym": public["pseudonym"], "icd10_code": case.icd10_code,
        "diagnosis_text": public["text"][:200], "category": case.category, "incidence": case.incidence,
        "rare_feature": case.rare_feature, "catalogue_entry_id": case.catalogue_entry_id,
        "codes": feature.get("codes", [case.icd10_code]), "entities": feature.get("entities", {}),
        "findings": feature.get("findings", []), "sex": public["sex"] or "",
        "age_band": public["age"] or "", "region": public["region"] or "",
        "diagnosed_month": public["diagnosed_at"] or "", "listed": case.status != RareCase.Status.RETIRED,
    }
    entry, _created = RareCaseIndexEntry.objects.update_or_create(case=case, defaults=values)
    entry.search_text = _search_text(entry, feature)
    entry.save(update_fields=["search_text"])
    return entry


def rare_case_index(*, case_id: int, structure: bool = True, actor=None) -> RareCase | None:
    """Step 3 for one case of the current hospital: build its retrieval feature
    (running the clinical NER over the encounter's text if it has not been) and
    write its de-identified index entry. None when there is no such case here."""
    case = (RareCase.objects.select_related("patient", "diagnosis__encounter", "catalogue_entry")
            .filter(pk=case_id).first())
    if case is None:
        return None
    feature = retrieval_feature_build(case=case, structure=structure)
    with transaction.atomic():
        case = (RareCase.objects.select_for_update(of=("self",))
                .select_related("patient", "diagnosis", "catalogue_entry").get(pk=case_id))
        case.retrieval_feature = feature
        case.indexed_at = timezone.now()
        case.save(update_fields=["retrieval_feature", "indexed_at", "updated_at"])
        entry = index_entry_upsert(case=case)
        audit_record(action="rarecases.case_index", actor=actor, hospital_id=case.hospital_id, object_type="rare_case",
                     object_id=case.pk, patient_id=case.patient_id,
                     detail={"entry": str(entry.pk), "codes": feature["codes"],
                             "entities": sum(len(v) for v in feature["entities"].values()),
                             "findings": len(feature["findings"])})
    return case


def cases_to_index(*, limit: int = 500) -> list[int]:
    return list(RareCase.objects.filter(indexed_at__isnull=True).exclude(status=RareCase.Status.RETIRED)
                .order_by("pk").values_list("pk", flat=True)[:limit])


# --- step 4: clicks and usage, and the first preset period ------------------------------


def first_period_length(visits: int) -> datetime.timedelta:
    """Inversely proportional to the visits of the period before, within bounds:
    base * reference / visits, so twice the visits halve the period."""
    base_hours = float(setting_value(FIRST_PERIOD_BASE_DAYS)) * 24
    reference = int(setting_value(FIRST_PERIOD_REFERENCE_VISITS))
    low, high = setting_value(FIRST_PERIOD_BOUNDS_HOURS)
    hours = high if visits <= 0 else base_hours * reference / visits
    return datetime.timedelta(hours=min(max(hours, low), high))


def _period_open(*, number: int, starts: datetime.datetime, visits: int) -> AccessPeriod:
    """Create period `number`; when a concurrent caller created it first, theirs."""
    length = first_period_length(visits)
    try:
        with transaction.atomic():
            return AccessPeriod.objects.create(number=number, starts_at=starts, ends_at=starts + length,
                                               length_days=length.total_seconds() / 86400, visits_basis=visits)
    except IntegrityError:
        return AccessPeriod.objects.get(number=number)


def access_period_current(*, now: datetime.datetime | None = None) -> AccessPeriod:
    """The first preset period that contains `now`, opening the next ones as they
    come. A period's length is fixed when it opens, from the visits of the one before;
    after a gap longer than the longest period the next one starts now."""
    now = now or timezone.now()
    with transaction.atomic():
        last = AccessPeriod.objects.select_for_update().order_by("-number").first()
        if last is None:
            longest = first_period_length(0)
            visits = CaseAccess.objects.filter(occurred_at__gte=now - longest, occurred_at__lt=now).count()
            return _period_open(number=1, starts=now, visits=visits)
        while last.ends_at <= now:
            visits = CaseAccess.objects.filter(occurred_at__gte=last.starts_at, occurred_at__lt=last.ends_at).count()
            starts = last.ends_at if now - last.ends_at < first_period_length(0) else now
            last = _period_open(number=last.number + 1, starts=starts, visits=visits)
        return last


def _parent_access(entry: RareCaseIndexEntry, parent) -> CaseAccess | None:
    if parent in (None, ""):
        return None
    if isinstance(parent, CaseAccess):
        found = parent
    else:
        try:
            found = CaseAccess.objects.filter(pk=uuid.UUID(str(parent))).first()
        except ValueError:
            found = None
    if found is None or found.entry_id != entry.pk:
        raise DomainError(_("The access this one came through is not of the same case."), code="invalid",
                          fields={"parent": [str(parent)]})
    return found


def _reached(kind: str, actor, channel: str, recipient: str) -> str:
    """Who a transmission reached, for the propagation index: the recipient of a
    forward, the downloader, the channel (partner) of a share."""
    if recipient:
        return recipient[:64]
    if kind == AccessKind.DOWNLOAD and actor is not None:
        return f"user:{actor.pk}"
    if kind == AccessKind.SHARE:
        return (channel or "share")[:64]
    return ""


def index_access_record(*, entry: RareCaseIndexEntry, kind: str, actor=None, parent=None, channel: str = "",
                        role: str = "", recipient: str = "") -> CaseAccess:
    """Record one view or use of an index entry by `actor` (acting for the current
    hospital, which may not be the case's). Audited on the actor's hospital chain."""
    if kind not in AccessKind.values:
        raise DomainError(_("Unknown kind of access; use one of: %(kinds)s.") % {"kinds": ", ".join(AccessKind.values)},
                          code="invalid", fields={"kind": [str(kind)]})
    actor = actor if getattr(actor, "is_authenticated", False) else None
    channel = str(channel or "")[:40]
    with transaction.atomic():
        access = CaseAccess.objects.create(
            entry=entry, kind=kind, actor=actor, actor_hospital_id=current_hospital_id(),
            parent=_parent_access(entry, parent), channel=channel, recipient=_reached(kind, actor, channel, recipient),
            occurred_at=timezone.now())
        audit_record(action=f"rarecases.case_{kind}", actor=actor, role=role, object_type="rare_case_index",
                     object_id=entry.pk, detail={"access": str(access.pk), "channel": access.channel,
                                                 "parent": str(access.parent_id) if access.parent_id else None,
                                                 "case_hospital": entry.hospital_id})
    return access


def case_access_record(*, case: RareCase, kind: str, actor=None, parent=None, channel: str = "",
                       role: str = "", recipient: str = "") -> CaseAccess:
    """Record a view or use (download, citation, forward, share) of a case of the
    current hospital; `parent` is the access (or its id) it came through. The case
    gets its index entry first if it has none yet."""
    entry = RareCaseIndexEntry.objects.filter(case_id=case.pk).first()
    if entry is None:
        with transaction.atomic():
            entry = index_entry_upsert(case=case)
    return index_access_record(entry=entry, kind=kind, actor=actor, parent=parent, channel=channel, role=role,
                               recipient=recipient)


def case_forward(*, entry: RareCaseIndexEntry, actor, role: str, recipient_id: int, parent=None,
                 note: str = "") -> CaseAccess:
    """Forward a case to another staff member of the platform: a `forward` access,
    and an event to the recipient carrying it, so their view links back to it."""
    recipient = (Membership.objects.filter(user_id=recipient_id, active=True, role__in=STAFF_ROLES,
                                           hospital__active=True).select_related("user").first())
    if recipient is None:
        raise DomainError(_("Forward to a staff member of a hospital on this platform."), code="invalid",
                          fields={"to_user": [str(recipient_id)]})
    access = index_access_record(entry=entry, kind=AccessKind.FORWARD, actor=actor, parent=parent,
                                 channel="forward", role=role, recipient=f"user:{recipient.user_id}")
    publish("rare_case.forwarded", {"entry": str(entry.pk), "via": str(access.pk), "icd10_code": entry.icd10_code,
                                    "diagnosis": entry.diagnosis_text, "from": actor.get_username(),
                                    "note": note[:500]}, user_ids=[recipient.user_id])
    return access


# --- following -----------------------------------------------------------------------


def case_follow(*, case: RareCase, user, role: str) -> CaseFollow:
    if role not in FOLLOW_ROLES:
        raise PermissionDeniedError(_("Doctors and administrators follow cases."))
    with transaction.atomic():
        follow, created = CaseFollow.objects.get_or_create(case=case, user=user,
                                                           defaults={"hospital_id": case.hospital_id})
        if created:
            audit_record(action="rarecases.case_follow", actor=user, role=role, object_type="rare_case",
                         object_id=case.pk, patient_id=case.patient_id)
    return follow


def case_unfollow(*, case: RareCase, user, role: str) -> bool:
    with transaction.atomic():
        deleted, _rows = CaseFollow.objects.filter(case=case, user=user).delete()
        if deleted:
            audit_record(action="rarecases.case_unfollow", actor=user, role=role, object_type="rare_case",
                         object_id=case.pk, patient_id=case.patient_id)
    return bool(deleted)

