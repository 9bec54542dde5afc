"""Figures for each role's dashboard: real counts from the current hospital."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.patients.models import Patient
from apps.privacy.models import AuditEvent, AuditOutcome
from apps.realtime.models import Notice
from apps.tenancy.models import Department, Hospital, Membership
from apps.tenancy.roles import STAFF_ROLES, Role


def dashboard_figures(*, user, tenant) -> list[dict]:
    if tenant is None:
        return []
    hospital_id = tenant.hospital_id
    since = timezone.now() - timedelta(hours=24)
    staff = Membership.objects.filter(hospital_id=hospital_id, active=True, role__in=STAFF_ROLES)
    audit_today = AuditEvent.objects.filter(hospital_id=hospital_id, occurred_at__gte=since)
    figures = {
        Role.PLATFORM_ADMIN: [
            (_("Hospitals"), Hospital.objects.filter(active=True).count()),
            (_("Users"), get_user_model().objects.filter(is_active=True).count()),
            (_("Patients at this hospital"), Patient.objects.count()),
            (_("Audit events (24 h)"), audit_today.count()),
        ],
        Role.HOSPITAL_ADMIN: [
            (_("Patients"), Patient.objects.count()),
            (_("Staff"), staff.count()),
            (_("Departments"), Department.objects.count()),
            (_("Notices"), Notice.objects.count()),
        ],
        Role.DOCTOR: [
            (_("Patients"), Patient.objects.count()),
            (_("Registered this week"), Patient.objects.filter(created_at__gte=timezone.now() - timedelta(days=7)).count()),
            (_("Notices for doctors"), Notice.objects.filter(audience__contains=f",{Role.DOCTOR},").count()),
        ],
        Role.COMPLIANCE_OFFICER: [
            (_("Audit events (24 h)"), audit_today.count()),
            (_("Denied or failed (24 h)"), audit_today.exclude(outcome=AuditOutcome.SUCCESS).count()),
            (_("Patient records read (24 h)"), audit_today.filter(action__in=["patient.read", "patient.list"]).count()),
        ],
        Role.PATIENT: [
            (_("My records"), Patient.objects.filter(user=user).count()),
        ],
    }
    return [{"label": label, "value": value} for label, value in figures.get(tenant.role, [])]
