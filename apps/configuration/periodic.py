"""Periodic jobs (django-celery-beat) as platform admins see and change them.

Beat's own tables stay the source of truth; this module only validates changes
(a registered task, a parseable crontab, a sane interval, JSON keyword arguments)
and audits them. Beat picks changes up by itself (PeriodicTasks.changed)."""

import json

from celery.schedules import crontab as celery_crontab
from django.db import transaction
from django.utils.translation import gettext as _
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.core.exceptions import DomainError, NotFoundError
from apps.privacy.services import audit_record
from hospital_platform.celery import app as celery_app

CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


def periodic_task_list():
    return PeriodicTask.objects.select_related("crontab", "interval").order_by("name")


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(message, code="invalid", fields={field: [message]})


def _clean_crontab(spec: dict) -> CrontabSchedule:
    if not isinstance(spec, dict) or set(spec) - set(CRONTAB_FIELDS):
        raise _invalid("crontab", _("A crontab has only: %(fields)s.") % {"fields": ", ".join(CRONTAB_FIELDS)})
    values = {field: str(spec.get(field, "*")).strip() or "*" for field in CRONTAB_FIELDS}
    try:
        celery_crontab(**values)
    except (ValueError, TypeError) as error:
        raise _invalid("crontab", _("Not a valid crontab: %(error)s") % {"error": error}) from None
    schedule, _created = CrontabSchedule.objects.get_or_create(timezone="Asia/Shanghai", **values)
    return schedule


def _clean_interval(spec: dict) -> IntervalSchedule:
    periods = {choice for choice, _label in IntervalSchedule.PERIOD_CHOICES}
    every = spec.get("every") if isinstance(spec, dict) else None
    period = spec.get("period") if isinstance(spec, dict) else None
    if isinstance(every, bool) or not isinstance(every, int) or every < 1 or period not in periods:
        raise _invalid("interval", _("An interval needs every >= 1 and a period of: %(periods)s.")
                       % {"periods": ", ".join(sorted(periods))})
    if period == IntervalSchedule.SECONDS and every < 10:
        raise _invalid("interval", _("Run at most every 10 seconds."))
    schedule, _created = IntervalSchedule.objects.get_or_create(every=every, period=period)
    return schedule


def _clean_kwargs(kwargs) -> str:
    if not isinstance(kwargs, dict):
        raise _invalid("kwargs", _("Keyword arguments must be a JSON object."))
    return json.dumps(kwargs, sort_keys=True)


def _describe(task: PeriodicTask) -> dict:
    schedule = ({"crontab": {f: getattr(task.crontab, f) for f in CRONTAB_FIELDS}} if task.crontab_id else
                {"interval": {"every": task.interval.every, "period": task.interval.period}} if task.interval_id else {})
    return {"task": task.task, "enabled": task.enabled, "kwargs": json.loads(task.kwargs or "{}"), **schedule}


def periodic_task_save(*, actor, role: str, task_id: int | None = None, name: str | None = None,
                       task: str | None = None, enabled: bool | None = None, crontab: dict | None = None,
                       interval: dict | None = None, kwargs: dict | None = None) -> PeriodicTask:
    """Create (task_id None) or change a periodic job, validated and audited."""
    if crontab is not None and interval is not None:
        raise _invalid("crontab", _("Give a crontab or an interval, not both."))
    with transaction.atomic():
        if task_id is None:
            if not name or not task:
                raise _invalid("name" if not name else "task", _("A new job needs a name and a task."))
            if crontab is None and interval is None:
                raise _invalid("crontab", _("A new job needs a crontab or an interval."))
            job, before = PeriodicTask(name=name), None
        else:
            job = PeriodicTask.objects.select_for_update().filter(pk=task_id).first()
            if job is None:
                raise NotFoundError(_("No such periodic job."))
            before = _describe(job)
        if task is not None:
            celery_app.loader.import_default_modules()
            if task not in celery_app.tasks:
                raise _invalid("task", _("%(task)s is not a task this platform knows.") % {"task": task})
            job.task = task
        if crontab is not None:
            job.crontab, job.interval = _clean_crontab(crontab), None
        if interval is not None:
            job.interval, job.crontab = _clean_interval(interval), None
        if kwargs is not None:
            job.kwargs = _clean_kwargs(kwargs)
        if enabled is not None:
            job.enabled = enabled
        if task_id is None and PeriodicTask.objects.filter(name=name).exists():
            raise DomainError(_("A job with that name exists."), code="conflict", fields={"name": [name]})
        job.save()
        audit_record(action="configuration.periodic_task_save", actor=actor, role=role, hospital_id=None,
                     object_type="periodic_task", object_id=job.pk, detail={"old": before, "new": _describe(job)})
    return job


def builtin_job_ensure(*, name: str, task: str, every_seconds: int, description: str) -> tuple[PeriodicTask, bool]:
    """Create a built-in job (run every `every_seconds`) if no job runs `task` yet;
    returns (job, created). An existing job is left as it is: administrators may
    have changed its schedule or disabled it, and ensuring again must not undo that."""
    with transaction.atomic():
        existing = PeriodicTask.objects.filter(task=task).order_by("pk").first()
        if existing is not None:
            return existing, False
        interval, _created = IntervalSchedule.objects.get_or_create(every=every_seconds,
                                                                    period=IntervalSchedule.SECONDS)
        # A run that waited longer than its interval is superseded by the next one.
        job = PeriodicTask.objects.create(name=name, task=task, interval=interval,
                                          expire_seconds=every_seconds - 5, description=description)
        audit_record(action="configuration.periodic_task_ensure", hospital_id=None, object_type="periodic_task",
                     object_id=job.pk, detail={"name": job.name, "task": job.task, "every_seconds": every_seconds})
    return job, True

