import datetime
import secrets

from django.db import transaction

from apps.privacy.services import audit_record

from .models import Patient


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
