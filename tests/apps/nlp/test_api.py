import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.nlp.models import RecordEntity
from apps.nlp.services import API_MAX_CHARACTERS, encounter_structure
from apps.patients.services import encounter_create, patient_create
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of
from tests.ml.ner.fixtures import CCKS_TEXTS

URL = "/api/v1/nlp/entities/"


def test_staff_get_entities_with_valid_offsets_from_the_active_model(doctor_a, active_ner):
    # given a text the tiny model was trained on
    text = CCKS_TEXTS[0][0]
    # when a doctor posts it
    response = client_for(doctor_a).post(URL, {"text": text}, format="json")
    # then entities come back with offsets into the text, from the active registered model
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "ner-tiny:1"
    assert body["entities"]
    for entity in body["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]
    assert "奥沙利铂" in {e["text"] for e in body["entities"]}


def test_extraction_is_audited_without_the_text(doctor_a, active_ner, hospital_a):
    client_for(doctor_a).post(URL, {"text": CCKS_TEXTS[1][0]}, format="json")
    event = AuditEvent.objects.get(action="nlp.entities_extract")
    assert event.hospital_id == hospital_a.pk and event.actor_id == doctor_a.pk
    assert event.detail["characters"] == len(CCKS_TEXTS[1][0]) and "text" not in event.detail


@pytest.mark.parametrize("text", ["", "5", "癌", "   \n", "Hello, world.", "\x07\x1b[31m胃癌\u200b", "🙂" * 300])
def test_empty_or_odd_text_gives_a_valid_answer(doctor_a, active_ner, text):
    response = client_for(doctor_a).post(URL, {"text": text}, format="json")
    assert response.status_code == 200
    for entity in response.json()["entities"]:
        assert 0 <= entity["start"] < entity["end"] <= len(text)


def test_a_nul_character_is_a_400_not_a_crash(doctor_a, active_ner):
    response = client_for(doctor_a).post(URL, {"text": "胃癌\x00"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_text_over_the_limit_is_a_400_with_a_code(doctor_a, active_ner):
    response = client_for(doctor_a).post(URL, {"text": "胃" * (API_MAX_CHARACTERS + 1)}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "text_too_long"


@pytest.mark.parametrize("body", ['{"text": ', '{"txt": "胃癌"}', '{"text": ["胃癌"]}', "[]", '{"text": 5}', '{"text": true}',
                                  '{"text": null}', '{"text": {"a": "胃癌"}}'])
def test_malformed_bodies_are_400s(doctor_a, body):
    response = client_for(doctor_a).post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"malformed_request", "invalid"}


def test_patients_and_anonymous_callers_are_refused(hospital_a, api_client):
    patient_user = member_of(hospital_a, Role.PATIENT)
    assert client_for(patient_user).post(URL, {"text": "胃癌"}, format="json").status_code == 403
    assert api_client.post(URL, {"text": "胃癌"}, format="json").status_code == 401


@pytest.fixture
def stored(hospital_a, hospital_b, active_ner, django_capture_on_commit_callbacks):
    """Structured encounters at hospital A (two) and hospital B (one): the
    encounter_recorded signal (sent on commit) queues the structuring task."""
    records = {}
    for hospital, texts in ((hospital_a, [CCKS_TEXTS[0][0], CCKS_TEXTS[1][0]]), (hospital_b, [CCKS_TEXTS[2][0]])):
        with tenant_context(hospital.pk), django_capture_on_commit_callbacks(execute=True):
            patient = patient_create(hospital_id=hospital.pk, name="王五")
            records[hospital.pk] = [encounter_create(patient=patient, record_text=t) for t in texts]
    return records


def test_search_is_scoped_to_the_callers_hospital(doctor_a, doctor_b, stored, hospital_a):
    # given entities stored for both hospitals (the encounter signal ran the task)
    with tenant_context(hospital_a.pk):
        assert RecordEntity.objects.count() > 0
    # when each doctor lists entities
    rows_a = client_for(doctor_a).get(URL).json()["results"]
    rows_b = client_for(doctor_b).get(URL).json()["results"]
    # then each sees only their hospital's encounters
    ids_a = {e.pk for e in stored[hospital_a.pk]}
    assert rows_a and {r["encounter"] for r in rows_a} <= ids_a
    assert not {r["encounter"] for r in rows_b} & ids_a


def test_search_filters_by_label_and_text(doctor_a, stored):
    client = client_for(doctor_a)
    drugs = client.get(URL, {"label": "DRU"}).json()["results"]
    assert drugs and all(r["label"] == "DRU" for r in drugs)
    found = client.get(URL, {"q": "奥沙利"}).json()["results"]
    assert [r["text"] for r in found] == ["奥沙利铂"]


def test_search_with_a_bad_label_is_a_400(doctor_a):
    response = client_for(doctor_a).get(URL, {"label": "XYZ"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_search_reads_are_audited_with_the_patients_shown(doctor_a, stored):
    client_for(doctor_a).get(URL, {"label": "DRU"})
    event = AuditEvent.objects.filter(action="record_entity.list").latest("id")
    assert event.detail["patient_ids"] == [stored[doctor_a.memberships.first().hospital_id][0].patient_id]


def test_search_query_count_does_not_grow_with_rows(doctor_a, stored, hospital_a):
    client = client_for(doctor_a)
    client.get(URL)  # first request warms per-process caches (settings, token)
    with CaptureQueriesContext(connection) as few:
        before = len(client.get(URL).json()["results"])
    with tenant_context(hospital_a.pk):
        patient = stored[hospital_a.pk][0].patient
        for _ in range(3):
            encounter_structure(encounter_id=encounter_create(patient=patient, record_text=CCKS_TEXTS[3][0]).pk)
    with CaptureQueriesContext(connection) as more:
        after = len(client.get(URL).json()["results"])
    assert after > before

    def statements(captured):
        # the audit append varies by itself (the first event on one of a hospital's chains creates its head)
        return [q["sql"] for q in captured.captured_queries
                if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "SET LOCAL")) and "privacy_" not in q["sql"]]

    assert len(statements(more)) == len(statements(few))
