"""The beat job that evaluates alerts, created by `manage.py ensure_periodic_tasks`."""

from django.utils.translation import gettext as _
from django_celery_beat.models import PeriodicTask

from apps.configuration.periodic import builtin_job_ensure

EVALUATE_ALERTS_TASK = "configuration.evaluate_alerts"
EVALUATE_ALERTS_JOB = "monitoring: evaluate alerts"
EVERY_SECONDS = 60


def alert_schedule_ensure() -> tuple[PeriodicTask, bool]:
    """Create the job (every minute) if no job runs the task yet; (job, created)."""
    return builtin_job_ensure(
        name=EVALUATE_ALERTS_JOB, task=EVALUATE_ALERTS_TASK, every_seconds=EVERY_SECONDS,
        description=_("Compare monitoring figures with the alert thresholds and notify platform administrators."))
