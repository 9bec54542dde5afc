"""The beat job that evaluates alerts, created by `manage.py ensure_periodic_tasks`."""

from django.db import transaction
from django.utils.translation import gettext as _
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.privacy.services import audit_record

EVALUATE_ALERTS_TASK = "configuration.evaluate_alerts"
EVALUATE_ALERTS_JOB = "monitoring: evaluate alerts"
EVERY_SECONDS = 60


def alert_schedule_ensure() -> tuple[PeriodicTask, bool]:
    """Create the job (every minute) if no job runs the task yet; (job, created).

    An existing job is left as it is: administrators may have changed its schedule
    or disabled it, and running this again must not undo that."""
    with transaction.atomic():
        existing = PeriodicTask.objects.filter(task=EVALUATE_ALERTS_TASK).order_by("pk").first()
        if existing is not None:
            return existing, False
        interval, _created = IntervalSchedule.objects.get_or_create(every=EVERY_SECONDS,
                                                                    period=IntervalSchedule.SECONDS)
        job = PeriodicTask.objects.create(
            name=EVALUATE_ALERTS_JOB, task=EVALUATE_ALERTS_TASK, interval=interval,
            # A run that waited longer than its interval is superseded by the next one.
            expire_seconds=EVERY_SECONDS - 5,
            description=_("Compare monitoring figures with the alert thresholds and notify platform administrators."))
        audit_record(action="configuration.periodic_task_ensure", hospital_id=None, object_type="periodic_task",
                     object_id=job.pk, detail={"name": job.name, "task": job.task, "every_seconds": EVERY_SECONDS})
    return job, True
