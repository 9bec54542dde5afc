"""Consent per patient and purpose: recorded, checked by every path out, withdrawn.

`consent_check(patient, purpose)` is what sharing, export and training-set code
calls (or `consent_require`, which raises). Withdrawal sends `consent_withdrawn`
after commit; apps with pending work for the patient (partner shares queued in
apps/partners, training-set builds) connect to it and stop that work:

    from apps.compliance.consent import consent_withdrawn
    consent_withdrawn.connect(cancel_pending_shares)   # kwargs: hospital_id, patient_id, purpose
"""

from datetime import datetime

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.exceptions import DomainError, NotFoundError, PermissionDeniedError
from apps.privacy.services import audit_record
from apps.tenancy.context import hospital_scope

from .models import ConsentPurpose, ConsentRecord

consent_withdrawn = Signal()


class ConsentRequiredError(PermissionDeniedError):
    code = "consent_required"


def _patient_in_hospital(hospital_id: int, patient_id: int):
    from apps.patients.models import Patient

    with hospital_scope(hospital_id):
        # The scoped manager sees this hospital's patients only: another hospital's id is "not found".
        patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise NotFoundError(_("No such patient at this hospital."), code="patient_not_found",
                            fields={"patient": [_("Unknown patient.")]})
    return patient


def consent_record(*, hospital_id: int, patient_id: int, purpose: str, decision: str, channel: str,
                   actor=None, role: str = "", note: str = "", recorded_at: datetime | None = None) -> ConsentRecord:
    """Record a grant or a withdrawal (a new row; history is never edited)."""
    if purpose not in ConsentPurpose.values:
        raise DomainError(_("Unknown consent purpose."), code="invalid", fields={"purpose": [purpose]})
    if decision not in ConsentRecord.Decision.values:
        raise DomainError(_("A decision is granted or withdrawn."), code="invalid", fields={"decision": [decision]})
    if channel not in ConsentRecord.Channel.values:
        raise DomainError(_("Unknown consent channel."), code="invalid", fields={"channel": [channel]})
    patient = _patient_in_hospital(hospital_id, patient_id)
    with hospital_scope(hospital_id), transaction.atomic():
        record = ConsentRecord.objects.create(
            hospital_id=hospital_id, patient=patient, purpose=purpose, decision=decision, channel=channel,
            recorded_at=recorded_at or timezone.now(), recorded_by=actor if getattr(actor, "pk", None) else None,
            note=note)
        audit_record(action=f"compliance.consent_{decision}", actor=actor, role=role, hospital_id=hospital_id,
                     object_type="consent", object_id=record.pk, patient_id=patient.pk,
                     detail={"purpose": purpose, "channel": channel})
        if decision == ConsentRecord.Decision.WITHDRAWN:
            transaction.on_commit(lambda: consent_withdrawn.send(
                sender=ConsentRecord, hospital_id=hospital_id, patient_id=patient.pk, purpose=purpose))
    return record


def consent_state(*, patient_id: int, purpose: str, at: datetime | None = None) -> ConsentRecord | None:
    """The decision in force at `at` (now by default), in the current hospital."""
    queryset = ConsentRecord.objects.filter(patient_id=patient_id, purpose=purpose)
    if at is not None:
        queryset = queryset.filter(recorded_at__lte=at)
    return queryset.order_by("-recorded_at", "-id").first()


def consent_check(patient, purpose: str, *, at: datetime | None = None) -> bool:
    """True when the patient's decision in force for `purpose` is a grant. Care is
    presumed (treatment is why the record exists) until the patient withdraws it;
    every other purpose needs an explicit grant."""
    patient_id = getattr(patient, "pk", patient)
    state = consent_state(patient_id=patient_id, purpose=purpose, at=at)
    if state is None:
        return purpose == ConsentPurpose.CARE
    return state.decision == ConsentRecord.Decision.GRANTED


def consent_require(patients, purpose: str) -> None:
    """Raise ConsentRequiredError (403 consent_required) naming every patient who has
    not granted `purpose`."""
    missing = [getattr(p, "pk", p) for p in patients if not consent_check(p, purpose)]
    if missing:
        raise ConsentRequiredError(_("Some patients have not consented to this purpose."),
                                   fields={"patients": [str(pid) for pid in missing[:100]]})


def consent_history(*, patient_id: int):
    return ConsentRecord.objects.filter(patient_id=patient_id).order_by("-recorded_at", "-id")
