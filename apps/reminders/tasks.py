"""Celery tasks of the reminders app. The periodic ones are created by
`manage.py ensure_periodic_tasks` (see periodic.py).

`dispatch_batch` is not a TenantTask on purpose: TenantTask runs the whole task in one
tenant transaction, and dispatch must commit each claim before it calls WeChat and
each record after (see dispatch.py). It enters the hospital's context itself, per step.
"""

from celery import shared_task
from django.db import transaction

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Hospital
from apps.tenancy.tasks import TenantTask

from . import dispatch, services

DISPATCH_DUE = "reminders.dispatch_due"
DISPATCH_BATCH = "reminders.dispatch_batch"
MARK_MISSED = "reminders.mark_missed"
MATERIALISE = "reminders.materialise_doses"


def _hospital_ids() -> list[int]:
    return list(Hospital.objects.filter(active=True).values_list("pk", flat=True))


@shared_task(name=DISPATCH_DUE, ignore_result=True)
def dispatch_due(*, queue: str | None = None) -> dict:
    """Every few seconds: settle claims of dead workers, queue due doses (on `queue`
    when given, so a deployment can give reminders workers of their own)."""
    queued = settled = 0
    for hospital_id in _hospital_ids():
        settled += dispatch.stale_claims_settle(hospital_id=hospital_id)
        for ids in dispatch.due_doses_queue(hospital_id=hospital_id):
            dispatch_batch.apply_async(kwargs={"hospital_id": hospital_id, "dose_ids": ids}, queue=queue)
            queued += len(ids)
    return {"queued": queued, "settled": settled}


@shared_task(name=DISPATCH_BATCH, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def dispatch_batch(*, hospital_id: int, dose_ids: list[int]) -> dict:
    if not isinstance(hospital_id, int):
        raise ValueError(f"{DISPATCH_BATCH} needs hospital_id=<int>")
    return dispatch.dispatch_doses(hospital_id=hospital_id, dose_ids=dose_ids)


@shared_task(name=MARK_MISSED, ignore_result=True)
def mark_missed() -> dict:
    marked = {}
    for hospital_id in _hospital_ids():
        with tenant_context(hospital_id):
            marked[hospital_id] = services.doses_mark_missed()
    return marked


@shared_task(name=MATERIALISE, ignore_result=True)
def materialise_doses() -> dict:
    """Daily: extend every active plan's doses, one task per hospital."""
    for hospital_id in _hospital_ids():
        materialise_hospital.delay(hospital_id=hospital_id)
    return {}


@shared_task(base=TenantTask, name="reminders.materialise_hospital", ignore_result=True)
def materialise_hospital(*, hospital_id: int) -> int:
    with transaction.atomic():
        return services.doses_materialise_all()
