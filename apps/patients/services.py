import datetime
import secrets

from django.db import transaction
from django.utils import timezone

from apps.privacy.services import audit_record

from .models import Diagnosis, Encounter, Patient
from .signals import encounter_recorded


def _new_medical_record_number() -> str:
    return "MRN" + secrets.token_hex(5).upper()


def patient_create(
    *,
    hospital_id: int,
    name: str,
    sex: str = Patient.Sex.UNKNOWN,
    birth_date: datetime.date | None = None,
    national_id: str = "",
    phone: str = "",
    user=None,
    actor=None,
    role: str = "",
) -> Patient:
    with transaction.atomic():
        patient = Patient.objects.create(
            hospital_id=hospital_id, name=name, sex=sex, birth_date=birth_date, national_id=national_id,
            phone=phone, user=user, medical_record_number=_new_medical_record_number(),
        )
        audit_record(action="patient.create", actor=actor, role=role, hospital_id=hospital_id,
                     object_type="patient", object_id=patient.pk, patient_id=patient.pk)
    return patient


def _announce_record(encounter: Encounter) -> None:
    if encounter.record_text.strip():
        transaction.on_commit(lambda: encounter_recorded.send(
            sender=Encounter, encounter_id=encounter.pk, hospital_id=encounter.hospital_id))


def encounter_create(
    *,
    patient: Patient,
    kind: str = Encounter.Kind.OUTPATIENT,
    started_at: datetime.datetime | None = None,
    ended_at: datetime.datetime | None = None,
    department=None,
    attending=None,
    record_text: str = "",
    actor=None,
    role: str = "",
) -> Encounter:
    """Records a visit. Listeners of `encounter_recorded` (the clinical NLP) hear of
    it once the transaction commits, and only when there is clinical text."""
    with transaction.atomic():
        encounter = Encounter.objects.create(
            hospital_id=patient.hospital_id, patient=patient, kind=kind, started_at=started_at or timezone.now(),
            ended_at=ended_at, department=department, attending=attending, record_text=record_text,
        )
        audit_record(action="encounter.create", actor=actor, role=role, hospital_id=patient.hospital_id,
                     object_type="encounter", object_id=encounter.pk, patient_id=patient.pk)
        _announce_record(encounter)
    return encounter


def encounter_update_record(*, encounter: Encounter, record_text: str, actor=None, role: str = "") -> Encounter:
    with transaction.atomic():
        encounter.record_text = record_text
        encounter.save(update_fields=["record_text"])
        audit_record(action="encounter.update", actor=actor, role=role, hospital_id=encounter.hospital_id,
                     object_type="encounter", object_id=encounter.pk, patient_id=encounter.patient_id,
                     detail={"fields": ["record_text"]})
        _announce_record(encounter)
    return encounter


def diagnosis_add(
    *,
    encounter: Encounter,
    icd10_code: str,
    text: str,
    is_primary: bool = False,
    diagnosed_at: datetime.datetime | None = None,
    actor=None,
    role: str = "",
) -> Diagnosis:
    with transaction.atomic():
        diagnosis = Diagnosis.objects.create(
            hospital_id=encounter.hospital_id, encounter=encounter, patient_id=encounter.patient_id,
            icd10_code=icd10_code.strip().upper(), text=text.strip(), is_primary=is_primary,
            diagnosed_at=diagnosed_at or encounter.started_at,
        )
        audit_record(action="diagnosis.create", actor=actor, role=role, hospital_id=encounter.hospital_id,
                     object_type="diagnosis", object_id=diagnosis.pk, patient_id=encounter.patient_id,
                     detail={"icd10_code": diagnosis.icd10_code})
    return diagnosis
