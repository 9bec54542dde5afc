"""The reminders' built-in periodic jobs, created by `manage.py ensure_periodic_tasks`.
Like the monitoring job, an existing job is never changed: administrators may have
re-scheduled or disabled it."""

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.privacy.services import audit_record

from .tasks import DISPATCH_DUE, MARK_MISSED, MATERIALISE

JOBS = [
    # (name, task, interval seconds or None, crontab or None, expire seconds)
    ("reminders: dispatch due doses", DISPATCH_DUE, 10, None, 9),
    ("reminders: mark missed doses", MARK_MISSED, 600, None, 590),
    ("reminders: extend dose schedules", MATERIALISE, None, {"minute": "5", "hour": "0"}, 3600),
]


def reminder_schedules_ensure() -> list[tuple[PeriodicTask, bool]]:
    results = []
    with transaction.atomic():
        for name, task, every, crontab, expire in JOBS:
            existing = PeriodicTask.objects.filter(task=task).order_by("pk").first()
            if existing is not None:
                results.append((existing, False))
                continue
            schedule = {}
            if every:
                schedule["interval"], _created = IntervalSchedule.objects.get_or_create(
                    every=every, period=IntervalSchedule.SECONDS)
            else:
                # Asia/Shanghai explicitly: "00:05" means just after local midnight.
                schedule["crontab"], _created = CrontabSchedule.objects.get_or_create(
                    timezone="Asia/Shanghai", day_of_week="*", day_of_month="*", month_of_year="*", **crontab)
            job = PeriodicTask.objects.create(name=name, task=task, expire_seconds=expire, **schedule)
            audit_record(action="configuration.periodic_task_ensure", hospital_id=None, object_type="periodic_task",
                         object_id=job.pk, detail={"name": name, "task": task})
            results.append((job, True))
    return results
