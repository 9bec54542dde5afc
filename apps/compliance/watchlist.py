"""The watch lists the relative/neighbour and VIP rules read, edited by
compliance officers and hospital administrators, audited."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.exceptions import DomainError, NotFoundError
from apps.patients.models import Patient
from apps.privacy.services import audit_record
from apps.tenancy.context import current_hospital_id
from apps.tenancy.models import Membership

from .models import PatientWatch, StaffProfile


def _hours(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 24:
        raise DomainError(_("Hours are whole numbers from 0 to 24."), code="invalid", fields={name: [str(value)]})
    return value


def patient_watch_set(*, patient_id: int, vip: bool, address_area: str = "", reason: str = "",
                      actor, role: str) -> PatientWatch:
    if not Patient.objects.filter(pk=patient_id).exists():
        raise NotFoundError(_("No such patient at this hospital."), code="patient_not_found")
    with transaction.atomic():
        watch, _created = PatientWatch.objects.update_or_create(
            hospital_id=current_hospital_id(), patient_id=patient_id,
            defaults={"vip": vip, "address_area": address_area[:64], "reason": reason[:200]})
        audit_record(action="compliance.patient_watch_set", actor=actor, role=role, object_type="patient_watch",
                     object_id=watch.pk, patient_id=patient_id, detail={"vip": vip, "address_area": address_area})
    return watch


def staff_profile_set(*, user_id: int, surname: str = "", address_area: str = "", work_start_hour=None,
                      work_end_hour=None, actor, role: str) -> StaffProfile:
    hospital_id = current_hospital_id()
    if not Membership.objects.filter(user_id=user_id, hospital_id=hospital_id).exists():
        raise NotFoundError(_("No such staff member at this hospital."), code="staff_not_found")
    start, end = _hours(work_start_hour, "work_start_hour"), _hours(work_end_hour, "work_end_hour")
    # A start after the end is a shift over midnight (20 to 8); equal hours say nothing.
    if (start is None) != (end is None) or (start is not None and start == end):
        raise DomainError(_("Give both working hours, and a start different from the end (a night shift may end "
                            "the next morning, e.g. 20 to 8)."), code="invalid", fields={"work_end_hour": [str(end)]})
    with transaction.atomic():
        profile, _created = StaffProfile.objects.update_or_create(
            hospital_id=hospital_id, user=get_user_model().objects.get(pk=user_id),
            defaults={"surname": surname[:20], "address_area": address_area[:64], "work_start_hour": start,
                      "work_end_hour": end})
        audit_record(action="compliance.staff_profile_set", actor=actor, role=role, object_type="staff_profile",
                     object_id=profile.pk, detail={"user_id": user_id, "address_area": address_area,
                                                   "working_hours": [start, end]})
    return profile
