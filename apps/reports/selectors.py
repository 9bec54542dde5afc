from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from apps.configuration.selectors import setting_value
from apps.core.exceptions import NotFoundError
from apps.patients.models import Patient
from apps.tenancy.roles import Role
from apps.tenancy.selectors import TenantAccess

from .models import LabReport

# Staff who read and upload reports. Compliance officers audit access; they do not read results.
CLINICAL_ROLES = (Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN)
UPLOAD_ROLES = (*CLINICAL_ROLES, Role.PATIENT)


def patients_see_preliminary() -> bool:
    return bool(setting_value("reports.patients_see_preliminary"))


def report_content_visible_to_patient(report: LabReport) -> bool:
    """Results reach a patient after sign-off, or once analysed where the hospital allows it."""
    if report.status == LabReport.Status.FINAL:
        return True
    return report.status == LabReport.Status.PRELIMINARY and patients_see_preliminary()


def lab_report_list_for(*, user, tenant: TenantAccess | None) -> QuerySet[LabReport]:
    """Staff: the hospital's reports. A patient: reports on their own record whose
    results they may see, and those they uploaded themselves (to follow their status;
    the content stays hidden until visible). Anyone else: none."""
    if tenant is None:
        return LabReport.objects.none()
    queryset = (LabReport.objects.select_related("patient", "sign_off", "uploaded_by")
                .annotate(flags_count=Count("items", filter=Q(items__flag__in=("H", "L")))))
    if tenant.role in CLINICAL_ROLES:
        return queryset
    if tenant.role != Role.PATIENT:
        return LabReport.objects.none()
    visible = [LabReport.Status.FINAL]
    if patients_see_preliminary():
        visible.append(LabReport.Status.PRELIMINARY)
    return queryset.filter(patient__user=user).filter(Q(status__in=visible) | Q(uploaded_by=user))


def lab_report_get_for(*, user, tenant: TenantAccess | None, report_id) -> LabReport:
    report = lab_report_list_for(user=user, tenant=tenant).filter(pk=report_id).first() if str(report_id).isdigit() \
        else None
    if report is None:
        raise NotFoundError(_("No such lab report."))
    return report


def own_patient_record(*, user) -> Patient | None:
    """The patient record at the current hospital that belongs to this (patient) user."""
    return Patient.objects.filter(user=user).order_by("pk").first()
