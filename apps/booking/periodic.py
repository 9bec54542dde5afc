"""The beat job of booking (waitlist offers that expired, no-shows), created by
`manage.py ensure_periodic_tasks` like the platform's other built-in jobs."""

from django.db import transaction
from django.utils.translation import gettext as _
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.privacy.services import audit_record

SWEEP_TASK = "booking.sweep"
SWEEP_JOB = "booking: expire waitlist offers and mark no-shows"
EVERY_SECONDS = 60


def booking_schedule_ensure() -> tuple[PeriodicTask, bool]:
    """Create the job (every minute) if no job runs the task yet; (job, created).
    An existing job is left alone: administrators may have changed or disabled it."""
    with transaction.atomic():
        existing = PeriodicTask.objects.filter(task=SWEEP_TASK).order_by("pk").first()
        if existing is not None:
            return existing, False
        interval, _created = IntervalSchedule.objects.get_or_create(every=EVERY_SECONDS,
                                                                    period=IntervalSchedule.SECONDS)
        job = PeriodicTask.objects.create(
            name=SWEEP_JOB, task=SWEEP_TASK, interval=interval, expire_seconds=EVERY_SECONDS - 5,
            description=_("Move expired waitlist offers on to the next patient and mark appointments nobody "
                          "checked in for as no-shows, in every hospital."))
        audit_record(action="configuration.periodic_task_ensure", hospital_id=None, object_type="periodic_task",
                     object_id=job.pk, detail={"name": job.name, "task": job.task, "every_seconds": EVERY_SECONDS})
    return job, True
