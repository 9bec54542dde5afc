"""Celery tasks of the partners app: delivering a share (default queue: an HTTP call,
no model), and the periodic sweep that requeues lost deliveries and forgets
expired nonces."""

import datetime

from celery import shared_task

from apps.reports.tasks import ShortContextTenantTask
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Hospital

from . import services
from .outbound import share_post

DELIVER = "partners.deliver_share"
SWEEP = "partners.sweep"


@shared_task(bind=True, base=ShortContextTenantTask, name=DELIVER, ignore_result=True, max_retries=None)
def share_deliver_task(self, *, hospital_id: int, share_pk: int) -> str:
    """One delivery attempt; retries itself with exponential backoff on a remote
    failure. Short tenant contexts around the claim and the record: no transaction
    or row lock is held while the partner answers (ShortContextTenantTask).

    Eager (the embedded mode and SQLite tests) cannot schedule a retry: the attempts
    follow each other at once, up to the limit."""
    while True:
        with tenant_context(hospital_id):
            plan = services.share_delivery_begin(share_pk=share_pk)
        if plan is None:
            return "settled"
        if isinstance(plan, services.DeliveryWait):
            if self.request.is_eager:
                return plan.reason  # the periodic sweep queues it again
            raise self.retry(countdown=plan.seconds)
        result = share_post(plan)
        with tenant_context(hospital_id):
            delay = services.share_delivery_finish(share_pk=share_pk, attempt=plan.attempt, result=result)
        if delay is None:
            return "done"
        if not self.request.is_eager:
            raise self.retry(countdown=delay)


@shared_task(name=SWEEP, ignore_result=True)
def partners_sweep(*, stalled_minutes: int = 10) -> dict:
    requeued = 0
    for hospital_id in Hospital.objects.filter(active=True).values_list("pk", flat=True):
        requeued += services.shares_requeue_stalled(hospital_id=hospital_id,
                                                    older_than=datetime.timedelta(minutes=stalled_minutes))
    return {"requeued": requeued, "nonces_purged": services.inbound_nonces_purge()}
