from django.db.models import QuerySet

from apps.privacy.encryption import blind_index
from apps.tenancy.roles import Role
from apps.tenancy.selectors import TenantAccess

from .models import Diagnosis, Encounter, Patient


def patient_list_for(*, user, tenant: TenantAccess | None, national_id: str | None = None) -> QuerySet[Patient]:
    """Patients the caller may see at the current hospital: staff see the hospital's
    records, a patient sees their own, anyone else nothing."""
    if tenant is None:
        return Patient.objects.none()
    queryset = Patient.objects.all()
    if tenant.role == Role.PATIENT:
        queryset = queryset.filter(user=user)
    elif tenant.role not in (Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN):
        return Patient.objects.none()
    if national_id:
        queryset = queryset.filter(national_id_index=blind_index(national_id, kind="national_id"))
    return queryset


def _clinical_records_for(model, *, user, tenant: TenantAccess | None) -> QuerySet:
    if tenant is None:
        return model.objects.none()
    queryset = model.objects.select_related("patient")
    if tenant.role == Role.PATIENT:
        return queryset.filter(patient__user=user)
    if tenant.role in (Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN):
        return queryset
    return model.objects.none()


def encounter_list_for(*, user, tenant: TenantAccess | None) -> QuerySet[Encounter]:
    """Staff: the hospital's encounters; a patient: their own; anyone else: none."""
    return _clinical_records_for(Encounter, user=user, tenant=tenant).select_related("department", "attending")


def diagnosis_list_for(*, user, tenant: TenantAccess | None) -> QuerySet[Diagnosis]:
    """Staff: the hospital's diagnoses; a patient: their own; anyone else: none."""
    return _clinical_records_for(Diagnosis, user=user, tenant=tenant)
