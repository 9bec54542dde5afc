from celery import shared_task

from apps.tenancy.tasks import TenantTask

from .services import notice_deliver_now


@shared_task(base=TenantTask, name="realtime.notice_deliver")
def notice_deliver(*, hospital_id: int, notice_id: int) -> bool:
    return notice_deliver_now(notice_id=notice_id)
