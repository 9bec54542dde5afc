"""The registry's built-in periodic jobs (django-celery-beat), created by
`manage.py ensure_periodic_tasks`; an existing job is never changed, so
administrators may reschedule or disable them in the periodic-jobs page."""

from django_celery_beat.models import PeriodicTask

from apps.configuration.periodic import builtin_job_ensure

from .tasks import KEEP_ALIVE_DISPATCH, RARITY_TASK, TREND_TASK_NAME

JOBS = (
    ("rare cases: rarity analysis", RARITY_TASK, 24 * 3600,
     "Step 2 over the platform, then index new cases (ml queue)."),
    ("rare cases: access-trend model", TREND_TASK_NAME, 6 * 3600,
     "Close access periods, train or update the trend model, write prediction indexes (ml queue)."),
    ("rare cases: keep alive", KEEP_ALIVE_DISPATCH, 3600,
     "Retrieve related data for cases whose second period has passed and push it to followers."),
)


def rare_case_schedules_ensure() -> list[tuple[PeriodicTask, bool]]:
    return [builtin_job_ensure(name=name, task=task, every_seconds=every, description=description)
            for name, task, every, description in JOBS]
