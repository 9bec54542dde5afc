"""The web admin's reminder pages: the adherence overview and a patient's plans,
where clinicians add a plan (bad input comes back with the field's error, nothing
stored) and end one."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.privacy.models import AuditEvent
from apps.reminders.models import MedicationPlan
from apps.reminders.services import doses_mark_missed
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import member_of

from .conftest import a_plan, due_dose


@pytest.fixture
def doctor_client(client, hospital_a):
    client.force_login(member_of(hospital_a, Role.DOCTOR))
    return client


def _form(**overrides):
    today = timezone.localdate()
    values = {"drug_name": "缬沙坦", "dose": "80 mg", "times": "08:00, 20:00", "kind": "recurring",
              "start_date": str(today), "end_date": str(today + datetime.timedelta(days=30)), "notes": "",
              "source": "prescription", "prescription_reference": "RX-7", "units_per_dose": "1",
              "supply_remaining": "60"}
    return {**values, **overrides}


def test_a_doctor_adds_a_plan_for_a_patient(doctor_client, patient_a, hospital_a):
    url = reverse("reminders_web:patient", args=[patient_a.patient.pk])

    response = doctor_client.post(url, _form())

    assert response.status_code == 302
    with tenant_context(hospital_a.pk):
        plan = MedicationPlan.objects.get()
    assert (plan.drug_name, plan.times, plan.supply_remaining) == ("缬沙坦", ["08:00", "20:00"], 60)
    page = doctor_client.get(url)
    assert "缬沙坦" in page.content.decode()


@pytest.mark.parametrize("overrides, field", [
    ({"times": "25:00"}, "times"),
    ({"end_date": "2001-01-01"}, "end_date"),
    ({"prescription_reference": ""}, "prescription_reference"),
])
def test_bad_input_comes_back_with_the_error_and_stores_nothing(doctor_client, patient_a, hospital_a, overrides, field):
    response = doctor_client.post(reverse("reminders_web:patient", args=[patient_a.patient.pk]), _form(**overrides))

    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    with tenant_context(hospital_a.pk):
        assert MedicationPlan.objects.count() == 0


def test_the_overview_lists_the_least_adherent_first(doctor_client, patient_a, other_patient_a, hospital_a):
    good, poor = a_plan(patient_a.patient), a_plan(other_patient_a.patient, drug="阿司匹林")
    patient_a.client.post(f"/api/v1/reminders/doses/{due_dose(good, minutes_ago=5).pk}/mark/", {"status": "taken"},
                          format="json")
    due_dose(poor, minutes_ago=600)
    with tenant_context(hospital_a.pk):
        doses_mark_missed()

    page = doctor_client.get(reverse("reminders_web:adherence")).content.decode()

    assert page.index(f'data-plan="{poor.pk}"') < page.index(f'data-plan="{good.pk}"')
    with tenant_context(hospital_a.pk):
        assert AuditEvent.objects.filter(action="medication_plan.overview_read").exists()


def test_ending_a_plan_from_the_web(doctor_client, patient_a, hospital_a):
    plan = a_plan(patient_a.patient)

    response = doctor_client.post(reverse("reminders_web:plan-end", args=[plan.pk]))

    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.active is False


def test_patients_and_compliance_officers_may_not_open_the_pages(client, hospital_a, patient_a):
    client.force_login(member_of(hospital_a, Role.COMPLIANCE_OFFICER))
    assert client.get(reverse("reminders_web:adherence")).status_code == 403
    client.force_login(patient_a.user)
    assert client.get(reverse("reminders_web:patient", args=[patient_a.patient.pk])).status_code == 403
