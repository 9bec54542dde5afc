"""Monitoring alert thresholds: platform-wide (the infrastructure is shared by every
hospital), changed by platform administrators only. See docs/monitoring.md."""

from django.utils.translation import gettext_lazy as _

from apps.tenancy.roles import Role

from .registry import declare

_PLATFORM_ONLY = {"editable_by": {Role.PLATFORM_ADMIN}, "hospital_may_override": False}

QUEUE_DEPTH_ALERT = declare(
    "monitoring.queue_depth_alert", "int", default=500, minimum=1, maximum=1_000_000,
    description=_("Alert when this many tasks wait in one Celery queue."), **_PLATFORM_ONLY)
TASK_FAILURE_RATE_ALERT = declare(
    "monitoring.task_failure_rate_alert", "float", default=0.2, minimum=0.01, maximum=1.0,
    description=_("Alert when this share (0-1) of a task type's runs failed in the monitoring window."),
    **_PLATFORM_ONLY)
TASK_P95_MS_ALERT = declare(
    "monitoring.task_p95_ms_alert", "int", default=30_000, minimum=10, maximum=3_600_000,
    description=_("Alert when a task type's 95th-percentile run time in the window reaches this (milliseconds)."),
    **_PLATFORM_ONLY)
TASK_MIN_RUNS_FOR_ALERT = declare(
    "monitoring.task_min_runs_for_alert", "int", default=10, minimum=1, maximum=100_000,
    description=_("Failure-rate and run-time alerts need at least this many runs of the task in the window."),
    **_PLATFORM_ONLY)
WORKER_HEARTBEAT_TIMEOUT_SECONDS = declare(
    "monitoring.worker_heartbeat_timeout_seconds", "int", default=60, minimum=30, maximum=3600,
    description=_("A Celery worker silent for this long (seconds) counts as dead and raises an alert."),
    **_PLATFORM_ONLY)
WINDOW_MINUTES = declare(
    "monitoring.window_minutes", "int", default=15, minimum=1, maximum=60,
    description=_("The window (minutes) over which throughput, failure rates and percentiles are computed."),
    **_PLATFORM_ONLY)

# Facts about the hospital that several apps need.
HOSPITAL_REGION_CODE = declare(
    "hospital.region_code", "str", default="", max_length=6,
    editable_by=frozenset({Role.HOSPITAL_ADMIN, Role.PLATFORM_ADMIN}),
    description=_("The hospital's GB/T 2260 area code (e.g. 110105). De-identified data carry it generalised "
                  "(the rare-case index and partner shares show the city); empty: no region is shown or sent."))
