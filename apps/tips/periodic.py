"""The tips' built-in periodic job (hourly neighbour refresh), created by
`manage.py ensure_periodic_tasks`; an existing job is never changed."""

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.privacy.services import audit_record

from .tasks import REFRESH_ALL

JOB_NAME = "tips: refresh recommendation neighbours"


def tip_schedules_ensure() -> list[tuple[PeriodicTask, bool]]:
    with transaction.atomic():
        existing = PeriodicTask.objects.filter(task=REFRESH_ALL).order_by("pk").first()
        if existing is not None:
            return [(existing, False)]
        interval, _created = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
        job = PeriodicTask.objects.create(name=JOB_NAME, task=REFRESH_ALL, interval=interval, expire_seconds=3000)
        audit_record(action="configuration.periodic_task_ensure", hospital_id=None, object_type="periodic_task",
                     object_id=job.pk, detail={"name": JOB_NAME, "task": REFRESH_ALL})
    return [(job, True)]
