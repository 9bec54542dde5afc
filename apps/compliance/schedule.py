"""The compliance app's beat jobs, created by `manage.py ensure_periodic_tasks`."""

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.privacy.services import audit_record

from .tasks import ANOMALIES_ALL, DETECT_ALL, PURGE_ALL

JOBS = (
    # name, task, schedule
    ("compliance: violation rules", DETECT_ALL, {"every": 60}),
    ("compliance: access autoencoder", ANOMALIES_ALL, {"minute": "30", "hour": "2"}),
    ("compliance: retention purge", PURGE_ALL, {"minute": "0", "hour": "3"}),
)


def compliance_schedule_ensure() -> list[tuple[PeriodicTask, bool]]:
    """Create each job if no job runs its task yet; existing jobs are left as
    administrators set them."""
    results = []
    for name, task, spec in JOBS:
        with transaction.atomic():
            existing = PeriodicTask.objects.filter(task=task).order_by("pk").first()
            if existing is not None:
                results.append((existing, False))
                continue
            if "every" in spec:
                interval, _c = IntervalSchedule.objects.get_or_create(every=spec["every"],
                                                                      period=IntervalSchedule.SECONDS)
                job = PeriodicTask.objects.create(name=name, task=task, interval=interval,
                                                  expire_seconds=spec["every"] - 5)
            else:
                crontab, _c = CrontabSchedule.objects.get_or_create(
                    minute=spec["minute"], hour=spec["hour"], day_of_week="*", day_of_month="*",
                    month_of_year="*", timezone="Asia/Shanghai")
                job = PeriodicTask.objects.create(name=name, task=task, crontab=crontab)
            audit_record(action="compliance.periodic_task_ensure", hospital_id=None, object_type="periodic_task",
                         object_id=job.pk, detail={"name": name, "task": task})
            results.append((job, True))
    return results
