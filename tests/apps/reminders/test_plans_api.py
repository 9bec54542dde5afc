"""Plans through /api/v1/reminders/plans/: who may create and see them, what bad
input answers (a 4xx with a code, nothing stored), and family access by invitation."""

import datetime

import pytest
from django.utils import timezone

from apps.privacy.models import AuditEvent
from apps.reminders.models import Dose, MedicationPlan
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

from .conftest import a_plan, make_patient

PLANS = "/api/v1/reminders/plans/"


def _body(**overrides):
    today = timezone.localdate()
    body = {"drug_name": "氨氯地平", "dose": "5 mg", "times": ["08:00", "20:00"], "start_date": str(today),
            "end_date": str(today + datetime.timedelta(days=14)), "notes": "空腹服用"}
    return {**body, **overrides}


def _stored(hospital):
    with tenant_context(hospital.pk):
        return MedicationPlan.objects.count(), Dose.objects.count()


def test_a_patient_sets_up_their_own_plan_and_its_doses_are_laid_out(patient_a, hospital_a):
    # When
    response = patient_a.client.post(PLANS, _body(), format="json")

    # Then
    assert response.status_code == 201, response.json()
    plan = response.json()
    assert (plan["patient"], plan["times"], plan["timezone"]) == (patient_a.patient.pk, ["08:00", "20:00"],
                                                                  "Asia/Shanghai")
    with tenant_context(hospital_a.pk):
        doses = list(Dose.objects.filter(plan_id=plan["id"]))
        # doses for today (those still ahead) and the next two days, at Shanghai wall time
        assert 4 <= len(doses) <= 6
        assert {dose.scheduled_at.astimezone(datetime.timezone(datetime.timedelta(hours=8))).strftime("%H:%M")
                for dose in doses} <= {"08:00", "20:00"}
        assert AuditEvent.objects.filter(action="medication_plan.create", patient_id=patient_a.patient.pk).exists()


def test_a_doctor_enters_a_plan_from_a_prescription(patient_a, hospital_a):
    doctor = client_for(member_of(hospital_a, Role.DOCTOR))

    response = doctor.post(PLANS, _body(patient=patient_a.patient.pk, source="prescription",
                                        prescription_reference="RX-2026-0042"), format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["source"], response.json()["prescription_reference"]) == ("prescription", "RX-2026-0042")


@pytest.mark.parametrize("overrides, status, code", [
    ({"times": ["24:00"]}, 400, "invalid_time"),
    ({"times": ["08:00", "8:61"]}, 400, "invalid_time"),
    ({"end_date": "2020-01-01"}, 400, "end_before_start"),
    ({"times": [f"{hour:02d}:{minute:02d}" for hour in range(24) for minute in (0, 30)][:50]}, 400, "too_many_doses"),
    ({"times": []}, 400, "invalid"),
    ({"timezone": "Mars/Olympus"}, 400, "invalid"),
    ({"source": "prescription"}, 400, "invalid"),
])
def test_bad_plans_are_refused_and_nothing_is_stored(patient_a, hospital_a, overrides, status, code):
    response = patient_a.client.post(PLANS, _body(**overrides), format="json")

    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert _stored(hospital_a) == (0, 0)


def test_a_patient_cannot_create_a_plan_for_another_patient(patient_a, other_patient_a, hospital_a):
    response = patient_a.client.post(PLANS, _body(patient=other_patient_a.patient.pk), format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert _stored(hospital_a) == (0, 0)


def test_a_doctor_cannot_plan_for_another_hospitals_patient(patient_a, hospital_b):
    doctor_b = client_for(member_of(hospital_b, Role.DOCTOR))

    response = doctor_b.post(PLANS, _body(patient=patient_a.patient.pk), format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["patient"]
    assert _stored(hospital_b) == (0, 0)


def test_patients_see_only_their_own_plans(patient_a, other_patient_a):
    # Given a plan each
    mine, theirs = a_plan(patient_a.patient), a_plan(other_patient_a.patient, drug="阿司匹林")

    # When
    listed = patient_a.client.get(PLANS).json()["results"]
    other = patient_a.client.get(f"{PLANS}{theirs.pk}/")

    # Then
    assert [plan["id"] for plan in listed] == [mine.pk]
    assert other.status_code == 404


def test_another_hospitals_staff_see_nothing(patient_a, hospital_b):
    plan = a_plan(patient_a.patient)
    doctor_b = client_for(member_of(hospital_b, Role.DOCTOR))

    assert doctor_b.get(PLANS).json()["results"] == []
    assert doctor_b.get(f"{PLANS}{plan.pk}/").status_code == 404


def test_compliance_officers_have_no_access(patient_a, hospital_a):
    officer = client_for(member_of(hospital_a, Role.COMPLIANCE_OFFICER))
    assert officer.get(PLANS).status_code == 403


def test_ending_a_plan_removes_its_future_doses(patient_a, hospital_a):
    plan = a_plan(patient_a.patient)

    response = patient_a.client.patch(f"{PLANS}{plan.pk}/", {"active": False}, format="json")

    assert response.status_code == 200, response.json()
    with tenant_context(hospital_a.pk):
        assert not Dose.objects.filter(plan=plan, scheduled_at__gt=timezone.now()).exists()


def test_a_new_end_date_before_the_start_is_refused(patient_a):
    plan = a_plan(patient_a.patient)

    response = patient_a.client.patch(f"{PLANS}{plan.pk}/", {"end_date": "2001-01-01"}, format="json")

    assert response.json()["error"]["code"] == "end_before_start"
    plan.refresh_from_db()
    assert plan.end_date != datetime.date(2001, 1, 1)


FAMILY = "/api/v1/reminders/family/"


def test_an_invited_family_member_views_plans_but_cannot_change_them(patient_a, hospital_a):
    # Given the patient's plan and an invitation
    plan = a_plan(patient_a.patient)
    invitation = patient_a.client.post(FAMILY, {"label": "女儿"}, format="json")
    assert invitation.status_code == 201, invitation.json()
    daughter = make_patient(hospital_a, "王小芳")

    # When the daughter enters the code
    accepted = daughter.client.post(f"{FAMILY}accept/", {"code": invitation.json()["code"]}, format="json")

    # Then she sees her mother's plan and history, read only
    assert accepted.status_code == 200, accepted.json()
    assert plan.pk in [row["id"] for row in daughter.client.get(PLANS).json()["results"]]
    assert daughter.client.get(f"{PLANS}{plan.pk}/history/").status_code == 200
    refused = daughter.client.patch(f"{PLANS}{plan.pk}/", {"notes": "x"}, format="json")
    assert refused.status_code == 403

    # and once the patient revokes it, she sees nothing
    revoked = patient_a.client.delete(f"{FAMILY}{invitation.json()['id']}/")
    assert revoked.status_code == 204
    assert daughter.client.get(PLANS).json()["results"] == []


def test_a_wrong_or_used_invitation_code_is_refused(patient_a, hospital_a):
    invitation = patient_a.client.post(FAMILY, {}, format="json").json()
    first, second = make_patient(hospital_a, "甲"), make_patient(hospital_a, "乙")

    assert first.client.post(f"{FAMILY}accept/", {"code": "NOT-A-CODE"}, format="json").json()["error"]["code"] == (
        "invitation_invalid")
    assert first.client.post(f"{FAMILY}accept/", {"code": invitation["code"]}, format="json").status_code == 200
    reused = second.client.post(f"{FAMILY}accept/", {"code": invitation["code"]}, format="json")
    assert reused.json()["error"]["code"] == "invitation_invalid"
