"""A hospital with one user per role and a few records, and the figures each role's
dashboard must show for it. Shared by the test-client and the browser tests."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.patients.models import Patient
from apps.patients.services import patient_create
from apps.privacy.models import AuditOutcome
from apps.privacy.services import audit_record
from apps.realtime.models import Notice
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Hospital
from apps.tenancy.roles import Role
from tests.factories import DepartmentFactory, member_of


@dataclass
class Clinic:
    hospital: Hospital
    other_hospital: Hospital
    users: dict  # Role -> the user holding that role at `hospital`


@pytest.fixture
def clinic(hospital_a, hospital_b) -> Clinic:
    """Hospital A: one user per role, three patients (one registered a month ago, one
    linked to the patient user), a department, a notice for doctors and one for
    administrators, and a refused patient read in the audit log. Hospital B has its
    own patient, department and notice, which no figure at A may count."""
    users = {role: member_of(hospital_a, role) for role in Role}
    patient_create(hospital_id=hospital_a.pk, name="张三", user=users[Role.PATIENT])
    patient_create(hospital_id=hospital_a.pk, name="李四")
    registered_long_ago = patient_create(hospital_id=hospital_a.pk, name="王五")
    with tenant_context(hospital_a.pk):
        Patient.objects.filter(pk=registered_long_ago.pk).update(created_at=timezone.now() - timedelta(days=30))
    patient_create(hospital_id=hospital_b.pk, name="赵六")
    DepartmentFactory(hospital=hospital_a)
    DepartmentFactory(hospital=hospital_b)
    notices = [(hospital_a, Role.DOCTOR), (hospital_a, Role.HOSPITAL_ADMIN), (hospital_b, Role.DOCTOR)]
    for hospital, role in notices:
        Notice.objects.create(hospital=hospital, title="值班安排", body="本周值班表已更新。",
                              audience=Notice.audience_for([role]))
    audit_record(action="patient.read", actor=users[Role.DOCTOR], role=Role.DOCTOR, hospital_id=hospital_a.pk,
                 object_type="patient", outcome=AuditOutcome.DENIED)
    return Clinic(hospital=hospital_a, other_hospital=hospital_b, users=users)


# What each role's figures count in `clinic`, by figure key. Audit events at A: three
# `patient.create` and the refused read. Staff: every role but the patient.
SEEDED_FIGURES = {
    Role.PLATFORM_ADMIN: {"hospitals": 2, "users": 5, "patients": 3, "audit_events_24h": 4},
    Role.HOSPITAL_ADMIN: {"patients": 3, "patients_new_7d": 2, "staff": 4, "departments": 1, "notices": 2},
    Role.DOCTOR: {"patients": 3, "patients_new_7d": 2, "notices_for_doctors": 1},
    Role.COMPLIANCE_OFFICER: {"audit_events_24h": 4, "audit_refused_24h": 1, "patient_reads_24h": 1, "staff": 4},
    Role.PATIENT: {"my_records": 1, "my_hospitals": 1},
}


@pytest.fixture
def seeded_figures():
    """Each role's figures for `clinic` as the selectors count them, nobody logged in."""
    return SEEDED_FIGURES


@pytest.fixture
def expected_figures():
    """What each role's dashboard shows for `clinic` right after that user logs in:
    the login is itself an audit event at the user's first hospital (accounts audits
    every web-admin login), so the audit count is one higher."""
    return {role: {key: value + 1 if key == "audit_events_24h" else value for key, value in figures.items()}
            for role, figures in SEEDED_FIGURES.items()}
