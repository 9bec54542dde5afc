from celery import shared_task

from apps.tenancy.tasks import TenantTask

from .services import encounter_structure

# "ml." names are routed to the ml queue (hospital_platform/celery.py), whose
# workers keep the NER model loaded.
STRUCTURE_TASK = "ml.nlp.encounter_structure"


@shared_task(base=TenantTask, name=STRUCTURE_TASK, ignore_result=True)
def encounter_structure_task(*, encounter_id: int, hospital_id: int) -> int | None:
    structuring = encounter_structure(encounter_id=encounter_id)
    return structuring.entity_count if structuring else None
