"""What the web admin reads: each role's dashboard figures (real counts from the
current hospital) and the hospitals a user may act for."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.patients.selectors import patient_list_for
from apps.privacy.models import AuditEvent, AuditOutcome
from apps.realtime.models import Notice
from apps.tenancy.models import Department, Hospital, Membership
from apps.tenancy.roles import STAFF_ROLES, Role
from apps.tenancy.selectors import TenantAccess, memberships_active_for_user

# Audit actions that mean "someone looked at patient data".
PATIENT_READ_ACTIONS = ("patient.read", "patient.list")


@dataclass(frozen=True, kw_only=True)
class Figure:
    key: str  # stable: templates, tests and scripts address a figure by it, whatever the language
    label: str
    value: int
    hint: str = ""


@dataclass(frozen=True, kw_only=True)
class HospitalChoice:
    slug: str
    name: str
    role: str
    current: bool

    @property
    def role_label(self) -> str:
        return Role(self.role).label


def _last_day():
    return timezone.now() - timedelta(hours=24)


def _last_week():
    return timezone.now() - timedelta(days=7)


def _audit_events(tenant: TenantAccess):
    # Audit events are not tenant-owned rows (they outlive them), so scope explicitly.
    return AuditEvent.objects.filter(hospital_id=tenant.hospital_id)


def _staff(tenant: TenantAccess):
    return Membership.objects.filter(hospital_id=tenant.hospital_id, active=True, role__in=STAFF_ROLES)


def _platform_admin_figures(*, user, tenant: TenantAccess) -> list[Figure]:
    return [
        Figure(key="hospitals", label=_("Hospitals"), value=Hospital.objects.filter(active=True).count(),
               hint=_("Active hospitals on the platform")),
        Figure(key="users", label=_("User accounts"), value=get_user_model().objects.filter(is_active=True).count(),
               hint=_("Active accounts on the platform")),
        Figure(key="patients", label=_("Patients at this hospital"),
               value=patient_list_for(user=user, tenant=tenant).count()),
        Figure(key="audit_events_24h", label=_("Audit events (24 h)"),
               value=_audit_events(tenant).filter(occurred_at__gte=_last_day()).count(), hint=_("At this hospital")),
    ]


def _hospital_admin_figures(*, user, tenant: TenantAccess) -> list[Figure]:
    patients = patient_list_for(user=user, tenant=tenant)
    return [
        Figure(key="patients", label=_("Patients"), value=patients.count(), hint=_("Records at this hospital")),
        Figure(key="patients_new_7d", label=_("New patients (7 days)"),
               value=patients.filter(created_at__gte=_last_week()).count()),
        Figure(key="staff", label=_("Staff"), value=_staff(tenant).count(), hint=_("Active staff memberships")),
        Figure(key="departments", label=_("Departments"), value=Department.objects.count()),
        Figure(key="notices", label=_("Notices sent"), value=Notice.objects.count()),
    ]


def _doctor_figures(*, user, tenant: TenantAccess) -> list[Figure]:
    patients = patient_list_for(user=user, tenant=tenant)
    return [
        Figure(key="patients", label=_("Patients"), value=patients.count(), hint=_("Records at this hospital")),
        Figure(key="patients_new_7d", label=_("New patients (7 days)"),
               value=patients.filter(created_at__gte=_last_week()).count()),
        Figure(key="notices_for_doctors", label=_("Notices for doctors"),
               value=Notice.objects.filter(audience__contains=f",{Role.DOCTOR},").count()),
    ]


def _compliance_officer_figures(*, user, tenant: TenantAccess) -> list[Figure]:
    last_day = _audit_events(tenant).filter(occurred_at__gte=_last_day())
    return [
        Figure(key="audit_events_24h", label=_("Audit events (24 h)"), value=last_day.count()),
        Figure(key="audit_refused_24h", label=_("Denied or failed (24 h)"),
               value=last_day.exclude(outcome=AuditOutcome.SUCCESS).count(), hint=_("Worth a look")),
        Figure(key="patient_reads_24h", label=_("Patient records read (24 h)"),
               value=last_day.filter(action__in=PATIENT_READ_ACTIONS).count()),
        Figure(key="staff", label=_("Staff with access"), value=_staff(tenant).count(),
               hint=_("Active staff memberships")),
    ]


def _patient_figures(*, user, tenant: TenantAccess) -> list[Figure]:
    return [
        Figure(key="my_records", label=_("My records"), value=patient_list_for(user=user, tenant=tenant).count(),
               hint=_("At this hospital")),
        Figure(key="my_hospitals", label=_("My hospitals"), value=memberships_active_for_user(user=user).count()),
    ]


_FIGURES_BY_ROLE: dict[str, Callable[..., list[Figure]]] = {
    Role.PLATFORM_ADMIN: _platform_admin_figures,
    Role.HOSPITAL_ADMIN: _hospital_admin_figures,
    Role.DOCTOR: _doctor_figures,
    Role.COMPLIANCE_OFFICER: _compliance_officer_figures,
    Role.PATIENT: _patient_figures,
}


def dashboard_figures(*, user, tenant: TenantAccess | None) -> list[Figure]:
    """The current role's figures at the current hospital; none without a hospital.
    Only that role's queries run."""
    if tenant is None:
        return []
    figures_for = _FIGURES_BY_ROLE.get(tenant.role)
    return figures_for(user=user, tenant=tenant) if figures_for else []


def hospital_choices_for(*, user, tenant: TenantAccess | None) -> list[HospitalChoice]:
    """The hospitals the user may switch to: their memberships and, for a platform
    administrator, every other active hospital as well (the switch is audited)."""
    if tenant is None:
        return []
    current = tenant.hospital_id
    choices = [HospitalChoice(slug=m.hospital.slug, name=m.hospital.name, role=m.role, current=m.hospital_id == current)
               for m in memberships_active_for_user(user=user)]
    if any(choice.role == Role.PLATFORM_ADMIN for choice in choices):
        member_of = {choice.slug for choice in choices}
        choices += [HospitalChoice(slug=hospital.slug, name=hospital.name, role=Role.PLATFORM_ADMIN,
                                   current=hospital.pk == current)
                    for hospital in Hospital.objects.filter(active=True).exclude(slug__in=member_of)]
    return choices
