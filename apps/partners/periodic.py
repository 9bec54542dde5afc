"""The partners app's beat job, created by `manage.py ensure_periodic_tasks`; an
existing job is never changed."""

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.privacy.services import audit_record

from .tasks import SWEEP

JOB_NAME = "partners: requeue lost deliveries, forget expired nonces"


def partner_schedules_ensure() -> list[tuple[PeriodicTask, bool]]:
    with transaction.atomic():
        existing = PeriodicTask.objects.filter(task=SWEEP).order_by("pk").first()
        if existing is not None:
            return [(existing, False)]
        interval, _created = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.MINUTES)
        job = PeriodicTask.objects.create(name=JOB_NAME, task=SWEEP, interval=interval, expire_seconds=240)
        audit_record(action="configuration.periodic_task_ensure", hospital_id=None, object_type="periodic_task",
                     object_id=job.pk, detail={"name": JOB_NAME, "task": SWEEP})
    return [(job, True)]
