"""The registry's Celery tasks. Names starting with "ml." go to the `ml` queue
(hospital_platform/celery.py): the rarity analysis (a heavy query), indexing (the
clinical NER), the trend cycle (TensorFlow) and keeping cases alive (the knowledge
graph, loaded once per worker). The periodic jobs (django-celery-beat, see
periodic.py) start the platform-wide ones; those fan out per hospital."""

import logging

from celery import shared_task
from django.db import transaction

from apps.reports.tasks import ShortContextTenantTask
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Hospital

logger = logging.getLogger(__name__)

RARITY_TASK = "ml.rarecases.rarity_analysis"
INDEX_TASK = "ml.rarecases.index_cases"
TREND_TASK_NAME = "ml.rarecases.trend_cycle"
KEEP_ALIVE_DISPATCH = "rarecases.keep_alive"
KEEP_ALIVE_TASK = "ml.rarecases.keep_alive_hospital"
INDEX_BATCH = 200


@shared_task(name=RARITY_TASK, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def rarity_analysis() -> int:
    """Step 2 over the platform, then index each hospital's new cases (step 3)."""
    from .rarity import rarity_analyse

    analysis = rarity_analyse()
    for hospital_id in Hospital.objects.filter(active=True).values_list("pk", flat=True):
        index_cases.delay(hospital_id=hospital_id)
    return analysis.pk


@shared_task(base=ShortContextTenantTask, name=INDEX_TASK, ignore_result=True)
def index_cases(*, hospital_id: int, case_ids: list[int] | None = None) -> int:
    """Build the retrieval feature and index entry of the hospital's unindexed cases
    (or of `case_ids`), each case in its own short tenant transaction; requeues
    itself while more remain."""
    from .services import cases_to_index, rare_case_index

    with tenant_context(hospital_id):
        pending = case_ids if case_ids is not None else cases_to_index(limit=INDEX_BATCH)
    done = 0
    for case_id in pending:
        try:
            with tenant_context(hospital_id):
                done += rare_case_index(case_id=case_id) is not None
        except Exception:  # one case's failure must not stop the batch; it stays unindexed
            logger.exception("rare case %s of hospital %s: indexing failed", case_id, hospital_id)
    if case_ids is None and len(pending) == INDEX_BATCH and done:
        index_cases.delay(hospital_id=hospital_id)
    return done


@shared_task(name=TREND_TASK_NAME, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def trend_cycle() -> int:
    """Steps 5 and 6 over the platform."""
    from .trend import trend_cycle as run_cycle

    return run_cycle().pk


@shared_task(name=KEEP_ALIVE_DISPATCH, ignore_result=True)
def keep_alive() -> None:
    """Step 8: one task per hospital for the cases whose second period has passed."""
    for hospital_id in Hospital.objects.filter(active=True).values_list("pk", flat=True):
        keep_alive_hospital.delay(hospital_id=hospital_id)


@shared_task(base=ShortContextTenantTask, name=KEEP_ALIVE_TASK, ignore_result=True)
def keep_alive_hospital(*, hospital_id: int, case_ids: list[int] | None = None) -> int:
    from .keepalive import case_keep_alive, cases_due

    with tenant_context(hospital_id):
        due = case_ids if case_ids is not None else cases_due()
    refreshed = 0
    for case_id in due:
        try:
            with tenant_context(hospital_id):
                refreshed += case_keep_alive(case_id=case_id) is not None
        except Exception:
            logger.exception("rare case %s of hospital %s: keep-alive failed", case_id, hospital_id)
    return refreshed


def queue_after_commit(task, **kwargs) -> None:
    transaction.on_commit(lambda: task.delay(**kwargs))
