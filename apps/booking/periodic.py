"""The beat job of booking (waitlist offers that expired, no-shows), created by
`manage.py ensure_periodic_tasks` like the platform's other built-in jobs."""

from django.utils.translation import gettext as _
from django_celery_beat.models import PeriodicTask

from apps.configuration.periodic import builtin_job_ensure

SWEEP_TASK = "booking.sweep"
SWEEP_JOB = "booking: expire waitlist offers and mark no-shows"
EVERY_SECONDS = 60


def booking_schedule_ensure() -> tuple[PeriodicTask, bool]:
    """Create the job (every minute) if no job runs the task yet; (job, created)."""
    return builtin_job_ensure(
        name=SWEEP_JOB, task=SWEEP_TASK, every_seconds=EVERY_SECONDS,
        description=_("Move expired waitlist offers on to the next patient and mark appointments nobody "
                      "checked in for as no-shows, in every hospital."))
