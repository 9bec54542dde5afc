"""Encounters are structured by the Celery task the encounter_recorded signal queues."""

import pytest

from apps.configuration.services import setting_set
from apps.nlp.models import EncounterStructuring, RecordEntity
from apps.nlp.services import encounter_structure
from apps.nlp.tasks import encounter_structure_task
from apps.patients.services import encounter_create, encounter_update_record, patient_create
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from tests.ml.ner.fixtures import CCKS_TEXTS


@pytest.fixture
def patient(hospital_a):
    with tenant_context(hospital_a.pk):
        return patient_create(hospital_id=hospital_a.pk, name="赵六")


def _record(patient, text, capture):
    with tenant_context(patient.hospital_id), capture(execute=True):
        return encounter_create(patient=patient, record_text=text)


def test_recording_an_encounter_stores_its_entities(patient, active_ner, django_capture_on_commit_callbacks):
    # when an encounter with clinical text is recorded (the task runs on commit)
    text = CCKS_TEXTS[0][0]
    encounter = _record(patient, text, django_capture_on_commit_callbacks)
    # then its entities are stored with valid offsets, the model version and the patient
    with tenant_context(patient.hospital_id):
        entities = list(RecordEntity.objects.filter(encounter=encounter))
        structuring = EncounterStructuring.objects.get(encounter=encounter)
    assert entities and structuring.entity_count == len(entities)
    assert all(text[e.start : e.end] == e.text and e.patient_id == patient.pk for e in entities)
    assert {e.model_version for e in entities} == {"ner-tiny:1"}
    event = AuditEvent.objects.get(action="nlp.encounter_structure")
    assert (event.object_id, event.patient_id) == (str(encounter.pk), patient.pk)


def test_structuring_the_same_text_twice_changes_nothing(patient, active_ner, django_capture_on_commit_callbacks):
    encounter = _record(patient, CCKS_TEXTS[1][0], django_capture_on_commit_callbacks)
    with tenant_context(patient.hospital_id):
        ids = set(RecordEntity.objects.values_list("id", flat=True))
        # when the task runs again for unchanged text
        encounter_structure_task.apply(kwargs={"encounter_id": encounter.pk, "hospital_id": patient.hospital_id})
        # then the rows are the same rows and no second audit event was written
        assert set(RecordEntity.objects.values_list("id", flat=True)) == ids
    assert AuditEvent.objects.filter(action="nlp.encounter_structure").count() == 1


def test_an_edited_record_replaces_the_entities(patient, active_ner, django_capture_on_commit_callbacks):
    encounter = _record(patient, CCKS_TEXTS[0][0], django_capture_on_commit_callbacks)
    # when the doctor rewrites the record
    with tenant_context(patient.hospital_id), django_capture_on_commit_callbacks(execute=True):
        encounter_update_record(encounter=encounter, record_text=CCKS_TEXTS[2][0])
    # then the stored entities are those of the new text only
    with tenant_context(patient.hospital_id):
        texts = set(RecordEntity.objects.filter(encounter=encounter).values_list("text", flat=True))
    assert "头孢曲松" in texts and "奥沙利铂" not in texts


def test_structuring_can_be_switched_off_per_hospital(patient, active_ner, hospital_a,
                                                      django_capture_on_commit_callbacks):
    setting_set(key="nlp.structure_encounters", value=False, hospital_id=hospital_a.pk, role="hospital_admin", actor=None)
    encounter = _record(patient, CCKS_TEXTS[0][0], django_capture_on_commit_callbacks)
    with tenant_context(hospital_a.pk):
        assert not RecordEntity.objects.filter(encounter=encounter).exists()


def test_another_hospitals_encounter_is_not_structured(patient, hospital_b, active_ner,
                                                       django_capture_on_commit_callbacks):
    encounter = _record(patient, CCKS_TEXTS[0][0], django_capture_on_commit_callbacks)
    # when a task names hospital B for hospital A's encounter
    with tenant_context(hospital_b.pk):
        assert encounter_structure(encounter_id=encounter.pk) is None


def test_the_task_refuses_to_run_without_a_hospital():
    with pytest.raises(ValueError):
        encounter_structure_task.apply(kwargs={"encounter_id": 1}, throw=True)


def test_without_an_active_model_the_shipped_default_serves(doctor_a, patient, django_capture_on_commit_callbacks):
    # given no model activated at the hospital
    encounter = _record(patient, "患者因胃癌于我院行胃癌根治术，术后予奥沙利铂化疗。", django_capture_on_commit_callbacks)
    # then the shipped default model structured the record
    with tenant_context(patient.hospital_id):
        structuring = EncounterStructuring.objects.get(encounter=encounter)
        labels = set(RecordEntity.objects.filter(encounter=encounter).values_list("label", flat=True))
    assert structuring.model_version.startswith("default:")
    assert {"DIS", "DRU"} <= labels
