import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.patients.models import Patient
from apps.patients.services import patient_create
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

LIST_URL = "/api/v1/patients/"


@pytest.fixture
def patient_a(hospital_a):
    return patient_create(hospital_id=hospital_a.pk, name="张三", national_id="110101199001011234",
                          phone="13800138000")


@pytest.fixture
def patient_b(hospital_b):
    return patient_create(hospital_id=hospital_b.pk, name="李四")


def test_list_shows_only_the_callers_hospital(doctor_a, patient_a, patient_b):
    response = client_for(doctor_a).get(LIST_URL)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [patient_a.pk]


def test_list_masks_identifiers(doctor_a, patient_a):
    row = client_for(doctor_a).get(LIST_URL).json()["results"][0]
    assert row["national_id"] == "**************1234"
    assert row["phone"] == "*******8000"


def test_detail_shows_identifiers_in_full(doctor_a, patient_a):
    body = client_for(doctor_a).get(f"{LIST_URL}{patient_a.pk}/").json()
    assert (body["national_id"], body["phone"]) == ("110101199001011234", "13800138000")


def test_another_hospitals_id_is_a_404_in_the_error_shape(doctor_a, patient_b):
    response = client_for(doctor_a).get(f"{LIST_URL}{patient_b.pk}/")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": response.json()["error"]["message"],
                                         "fields": {}}}


def test_a_probe_for_another_hospitals_id_is_audited(doctor_a, patient_b):
    client_for(doctor_a).get(f"{LIST_URL}{patient_b.pk}/")
    event = AuditEvent.objects.get(action="patient.read")
    assert (event.outcome, event.object_id, event.actor_id) == ("not_found", str(patient_b.pk), doctor_a.pk)


def test_reading_a_patient_is_audited_with_who_and_which_patient(doctor_a, patient_a):
    response = client_for(doctor_a).get(f"{LIST_URL}{patient_a.pk}/", HTTP_X_REQUEST_ID="req-12345678")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="patient.read")
    assert (event.patient_id, event.actor_id, event.role, event.hospital_id, event.request_id, event.outcome) == (
        patient_a.pk, doctor_a.pk, Role.DOCTOR, patient_a.hospital_id, "req-12345678", "success")
    assert response["X-Request-ID"] == "req-12345678"


def test_listing_is_audited_with_the_ids_shown(doctor_a, patient_a):
    client_for(doctor_a).get(LIST_URL)
    event = AuditEvent.objects.get(action="patient.list")
    assert event.detail["patient_ids"] == [patient_a.pk]


def test_find_by_national_id_uses_the_blind_index(doctor_a, patient_a, hospital_a):
    patient_create(hospital_id=hospital_a.pk, name="Other", national_id="110101199001019999")
    rows = client_for(doctor_a).get(LIST_URL, {"national_id": "110101199001011234"}).json()["results"]
    assert [row["id"] for row in rows] == [patient_a.pk]


def test_create_encrypts_and_audits(doctor_a):
    response = client_for(doctor_a).post(LIST_URL, {"name": "王五", "sex": "F", "national_id": "11010119900101123X"},
                                         format="json")
    assert response.status_code == 201, response.json()
    assert AuditEvent.objects.filter(action="patient.create", patient_id=response.json()["id"]).count() == 1


def test_create_with_bad_fields_names_them_and_writes_nothing(doctor_a, hospital_a):
    response = client_for(doctor_a).post(LIST_URL, {"sex": "X", "national_id": "123"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"name", "sex", "national_id"}
    with tenant_context(hospital_a.pk):
        assert Patient.objects.count() == 0
    # the refused attempt itself is on the record
    assert AuditEvent.objects.get(action="patient.create").outcome == "invalid"


def test_a_patient_sees_only_their_own_record(hospital_a, patient_a):
    patient_user = member_of(hospital_a, Role.PATIENT)
    own = patient_create(hospital_id=hospital_a.pk, name="Me", user=patient_user)
    rows = client_for(patient_user).get(LIST_URL).json()["results"]
    assert [row["id"] for row in rows] == [own.pk]


def test_a_patient_cannot_register_patients(hospital_a):
    patient_user = member_of(hospital_a, Role.PATIENT)
    response = client_for(patient_user).post(LIST_URL, {"name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_compliance_officer_cannot_list_patients(hospital_a, patient_a):
    officer = member_of(hospital_a, Role.COMPLIANCE_OFFICER)
    assert client_for(officer).get(LIST_URL).status_code == 403


def test_list_query_count_does_not_grow_with_rows(doctor_a, hospital_a, settings):
    settings.AUDIT_CHAIN_SHARDS = 1  # a new shard's first append also creates its head
    client = client_for(doctor_a)
    client.get(LIST_URL)  # first use of a token also records last_used_at
    for n in range(3):
        patient_create(hospital_id=hospital_a.pk, name=f"P{n}")
    with CaptureQueriesContext(connection) as few:
        client.get(LIST_URL)
    for n in range(20):
        patient_create(hospital_id=hospital_a.pk, name=f"Q{n}")
    with CaptureQueriesContext(connection) as many:
        client.get(LIST_URL)
    assert len(many) == len(few)
    # token, membership, count, page, and the audit append (lock head, insert, move head)
    queries = [q["sql"] for q in many.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "SET LOCAL"))]
    assert len(queries) == 7, queries
