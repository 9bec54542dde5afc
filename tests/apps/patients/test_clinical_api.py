"""Encounters and diagnoses over the API: staff record and list them, a patient reads
their own, another hospital's ids are 404s, and every read and write is audited."""

import pytest

from apps.patients.services import diagnosis_add, encounter_create, patient_create
from apps.privacy.models import AuditEvent
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient_user(hospital_a):
    return member_of(hospital_a, Role.PATIENT)


@pytest.fixture
def own_patient(hospital_a, patient_user):
    return patient_create(hospital_id=hospital_a.pk, name="王五", sex="F", user=patient_user)


@pytest.fixture
def other_patient(hospital_a):
    return patient_create(hospital_id=hospital_a.pk, name="赵六")


@pytest.fixture
def patient_b(hospital_b):
    return patient_create(hospital_id=hospital_b.pk, name="李四")


def test_a_doctor_records_an_encounter_and_a_diagnosis(doctor_a, own_patient):
    client = client_for(doctor_a)
    # Given a patient; when a doctor records a visit with a note
    response = client.post("/api/v1/encounters/", {"patient": own_patient.pk, "kind": "outpatient",
                                                   "record_text": "头晕三天"}, format="json")
    assert response.status_code == 201, response.json()
    encounter = response.json()
    assert (encounter["patient"], encounter["attending"]) == (own_patient.pk, doctor_a.username)
    # and a diagnosis in it
    response = client.post("/api/v1/diagnoses/", {"encounter": encounter["id"], "icd10_code": "i10",
                                                  "text": "原发性高血压", "is_primary": True}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["icd10_code"] == "I10"
    # then both writes are audited against the patient
    actions = set(AuditEvent.objects.filter(patient_id=own_patient.pk).values_list("action", flat=True))
    assert {"encounter.create", "diagnosis.create"} <= actions
    # and the lists show them
    assert [row["id"] for row in client.get("/api/v1/encounters/").json()["results"]] == [encounter["id"]]
    assert client.get(f"/api/v1/diagnoses/?patient={own_patient.pk}").json()["results"][0]["text"] == "原发性高血压"


def test_a_patient_reads_only_their_own_records(patient_user, own_patient, other_patient):
    # Given a visit each for the patient and for someone else
    mine = encounter_create(patient=own_patient)
    diagnosis_add(encounter=mine, icd10_code="E11.9", text="2型糖尿病")
    theirs = encounter_create(patient=other_patient)
    diagnosis_add(encounter=theirs, icd10_code="J45", text="哮喘")
    client = client_for(patient_user)
    # when the patient lists, then they see their own only
    assert [row["id"] for row in client.get("/api/v1/encounters/").json()["results"]] == [mine.pk]
    assert [row["icd10_code"] for row in client.get("/api/v1/diagnoses/").json()["results"]] == ["E11.9"]
    assert [row["id"] for row in client.get("/api/v1/patients/").json()["results"]] == [own_patient.pk]
    assert client.get(f"/api/v1/patients/{own_patient.pk}/").status_code == 200
    # and someone else's record is a 404, audited as such
    assert client.get(f"/api/v1/encounters/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/patients/{other_patient.pk}/").status_code == 404
    event = AuditEvent.objects.filter(action="encounter.read").latest("occurred_at")
    assert (event.outcome, event.object_id) == ("not_found", str(theirs.pk))


def test_a_patient_cannot_record_encounters_or_diagnoses(patient_user, own_patient):
    encounter = encounter_create(patient=own_patient)
    client = client_for(patient_user)
    response = client.post("/api/v1/encounters/", {"patient": own_patient.pk}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")
    response = client.post("/api/v1/diagnoses/", {"encounter": encounter.pk, "icd10_code": "E11", "text": "x"},
                           format="json")
    assert response.status_code == 403


def test_another_hospitals_patient_or_encounter_is_not_found(doctor_a, patient_b):
    client = client_for(doctor_a)
    response = client.post("/api/v1/encounters/", {"patient": patient_b.pk}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    encounter_b = encounter_create(patient=patient_b)
    response = client.post("/api/v1/diagnoses/", {"encounter": encounter_b.pk, "icd10_code": "E11", "text": "x"},
                           format="json")
    assert response.status_code == 404
    assert client.get(f"/api/v1/encounters/{encounter_b.pk}/").status_code == 404
    assert client.get("/api/v1/encounters/").json()["results"] == []


def test_bad_input_is_a_400_with_the_fields(doctor_a, own_patient):
    client = client_for(doctor_a)
    response = client.post("/api/v1/encounters/", {"patient": own_patient.pk, "started_at": "2026-11-02T10:00:00Z",
                                                   "ended_at": "2026-11-01T10:00:00Z"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid")
    assert "ended_at" in response.json()["error"]["fields"]
    encounter = encounter_create(patient=own_patient)
    response = client.post("/api/v1/diagnoses/", {"encounter": encounter.pk, "icd10_code": "diabetes", "text": "x"},
                           format="json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["icd10_code"])


def test_compliance_officers_do_not_read_clinical_records(hospital_a, own_patient):
    encounter_create(patient=own_patient)
    officer = client_for(member_of(hospital_a, Role.COMPLIANCE_OFFICER))
    assert officer.get("/api/v1/encounters/").status_code == 403
