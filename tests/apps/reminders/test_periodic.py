"""The reminders' and tips' periodic jobs exist after ensure_periodic_tasks, once,
and keep what administrators changed."""

from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from hospital_platform.celery import app as celery_app


def test_the_jobs_are_created_once_with_registered_tasks(db):
    call_command("ensure_periodic_tasks")
    dispatch = PeriodicTask.objects.get(task="reminders.dispatch_due")
    PeriodicTask.objects.filter(pk=dispatch.pk).update(enabled=False)

    call_command("ensure_periodic_tasks")

    tasks = {"reminders.dispatch_due", "reminders.mark_missed", "reminders.materialise_doses",
             "tips.refresh_neighbours"}
    assert PeriodicTask.objects.filter(task__in=tasks).count() == 4
    assert PeriodicTask.objects.get(pk=dispatch.pk).enabled is False
    assert dispatch.interval.every == 10
    daily = PeriodicTask.objects.get(task="reminders.materialise_doses").crontab
    assert (daily.hour, daily.minute, str(daily.timezone)) == ("0", "5", "Asia/Shanghai")
    celery_app.loader.import_default_modules()
    assert tasks <= set(celery_app.tasks)
