"""Writes of the clinical NLP: tagging a text on request and structuring an
encounter's clinical record into stored entities. Both are audited."""

import hashlib

from django.db import transaction
from django.utils.translation import gettext as _

from apps.configuration.selectors import setting_value
from apps.core.exceptions import DomainError
from apps.patients.models import Encounter
from apps.privacy.services import audit_record

from .models import EncounterStructuring, RecordEntity
from .ner import ner_tag

# The API tags at most this much text per request (about 30 typical records):
# longer text belongs in encounters, structured by the worker.
API_MAX_CHARACTERS = 20_000
TEXT_FIELD_LENGTH = 200


def _shape(text: str, spans) -> list[dict]:
    return [{"label": s.label, "start": s.start, "end": s.end, "text": text[s.start : s.end]} for s in spans]


def entities_extract(*, text: str, hospital_id: int, actor=None, role: str = "") -> dict:
    """Entities in `text` (nothing stored). Offsets are into `text`, end exclusive."""
    if len(text) > API_MAX_CHARACTERS:
        raise DomainError(_("The text has %(n)d characters; send at most %(max)d per request.")
                          % {"n": len(text), "max": API_MAX_CHARACTERS}, code="text_too_long",
                          fields={"text": [_("Too long.")]})
    tagged = ner_tag([text], subject=("text", ""))
    entities = _shape(text, tagged.spans[0])
    # the text itself may identify a patient: the audit keeps its size, not its content
    audit_record(action="nlp.entities_extract", actor=actor, role=role, hospital_id=hospital_id,
                 object_type="text", detail={"characters": len(text), "entities": len(entities),
                                             "model_version": tagged.model_version})
    return {"entities": entities, "model_version": tagged.model_version, "milliseconds": round(tagged.milliseconds, 1)}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def encounter_structure(*, encounter_id: int, actor=None, role: str = "") -> EncounterStructuring | None:
    """Tag the encounter's record and replace its stored entities.

    Idempotent: the same text tagged by the same model version changes nothing.
    If the text changed while the model ran, nothing is written (the change sent
    its own `encounter_recorded`, whose task will structure the new text).
    Returns None when there is nothing to do (no such encounter at this hospital,
    structuring switched off).
    """
    encounter = Encounter.objects.filter(pk=encounter_id).only("pk", "record_text").first()
    if encounter is None or not setting_value("nlp.structure_encounters"):
        return None
    text = encounter.record_text
    tagged = ner_tag([text], subject=("encounter", encounter_id))
    digest = _digest(text)
    with transaction.atomic():
        locked = Encounter.objects.select_for_update().filter(pk=encounter_id).first()
        if locked is None or _digest(locked.record_text) != digest:
            return None
        current = EncounterStructuring.objects.filter(encounter_id=encounter_id).first()
        if current and current.text_sha256 == digest and current.model_version == tagged.model_version:
            return current
        RecordEntity.objects.filter(encounter_id=encounter_id).delete()
        RecordEntity.objects.bulk_create([
            RecordEntity(hospital_id=locked.hospital_id, encounter_id=encounter_id, patient_id=locked.patient_id,
                         label=s.label, start=s.start, end=s.end, text=text[s.start : s.end][:TEXT_FIELD_LENGTH],
                         model_version=tagged.model_version)
            for s in tagged.spans[0]
        ])
        structuring, _created = EncounterStructuring.objects.update_or_create(
            encounter_id=encounter_id,
            defaults={"hospital_id": locked.hospital_id, "text_sha256": digest, "model_version": tagged.model_version,
                      "entity_count": len(tagged.spans[0]), "milliseconds": tagged.milliseconds})
        audit_record(action="nlp.encounter_structure", actor=actor, role=role, hospital_id=locked.hospital_id,
                     object_type="encounter", object_id=encounter_id, patient_id=locked.patient_id,
                     detail={"entities": len(tagged.spans[0]), "model_version": tagged.model_version})
    return structuring
