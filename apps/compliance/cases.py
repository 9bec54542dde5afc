"""The case workflow: open -> investigating -> resolved (justified / violation
confirmed), with notes and an assignee. Every step is audited; a step the case's
state does not allow is refused (409 case_transition_invalid) and changes nothing."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.privacy.services import audit_record
from apps.tenancy.models import Membership
from apps.tenancy.roles import Role

from .models import CaseNote, ViolationCase

Status = ViolationCase.Status


class CaseTransitionError(ConflictError):
    code = "case_transition_invalid"


def case_get_for_update(*, case_id) -> ViolationCase:
    case = ViolationCase.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise NotFoundError(_("No such case at this hospital."))
    return case


def _audit(case, action, actor, role, **detail):
    audit_record(action=f"compliance.case_{action}", actor=actor, role=role, object_type="violation_case",
                 object_id=case.pk, patient_id=case.patient_id, detail=detail)


def case_assign(*, case_id, assignee_id: int, actor, role: str) -> ViolationCase:
    with transaction.atomic():
        case = case_get_for_update(case_id=case_id)
        if case.status == Status.RESOLVED:
            raise CaseTransitionError(_("A resolved case cannot be reassigned."))
        officer = Membership.objects.filter(user_id=assignee_id, hospital_id=case.hospital_id, active=True,
                                            role=Role.COMPLIANCE_OFFICER).exists()
        if not officer:
            raise DomainError(_("Cases are assigned to this hospital's compliance officers."), code="invalid",
                              fields={"assignee": [str(assignee_id)]})
        previous = case.assignee_id
        case.assignee = get_user_model().objects.get(pk=assignee_id)
        case.save(update_fields=["assignee"])
        _audit(case, "assigned", actor, role, old=previous, new=assignee_id)
    return case


def case_start_investigation(*, case_id, actor, role: str) -> ViolationCase:
    with transaction.atomic():
        case = case_get_for_update(case_id=case_id)
        if case.status != Status.OPEN:
            raise CaseTransitionError(_("Only an open case can be taken into investigation."))
        case.status = Status.INVESTIGATING
        if case.assignee_id is None and getattr(actor, "pk", None):
            case.assignee = actor
        case.save(update_fields=["status", "assignee"])
        _audit(case, "investigating", actor, role)
    return case


def case_resolve(*, case_id, resolution: str, note: str, actor, role: str) -> ViolationCase:
    if resolution not in ViolationCase.Resolution.values:
        raise DomainError(_("Resolve as justified or violation confirmed."), code="invalid",
                          fields={"resolution": [resolution]})
    if not note.strip():
        raise DomainError(_("Say why when resolving a case."), code="invalid", fields={"note": [_("Required.")]})
    with transaction.atomic():
        case = case_get_for_update(case_id=case_id)
        if case.status != Status.INVESTIGATING:
            raise CaseTransitionError(_("Only a case under investigation can be resolved."))
        case.status, case.resolution, case.resolved_at = Status.RESOLVED, resolution, timezone.now()
        case.save(update_fields=["status", "resolution", "resolved_at"])
        CaseNote.objects.create(hospital_id=case.hospital_id, case=case, author=actor, text=note)
        _audit(case, "resolved", actor, role, resolution=resolution)
    return case


def case_note_add(*, case_id, text: str, actor, role: str) -> CaseNote:
    if not text.strip():
        raise DomainError(_("A note needs text."), code="invalid", fields={"text": [_("Required.")]})
    with transaction.atomic():
        case = case_get_for_update(case_id=case_id)
        note = CaseNote.objects.create(hospital_id=case.hospital_id, case=case, author=actor, text=text[:4000])
        _audit(case, "note_added", actor, role, note_id=note.pk)
    return note
