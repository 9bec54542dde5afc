"""Celery signal receivers and the model-pool observer that feed the monitoring store.

Imported once from ConfigurationConfig.ready(), in every process. Per task they cost:
a header stamp on publish (no I/O), a clock reading at start, one pipelined Redis
round trip at the end, and one more when the task fails (the reason).
"""

import logging
import socket
import time
from datetime import datetime

from celery import signals

from . import heartbeat
from .store import get_store

logger = logging.getLogger(__name__)

SENT_AT_HEADER = "monitoring_sent_at"
MESSAGE_LIMIT = 500
_STATES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried", "IGNORED": "ignored",
           "REJECTED": "rejected"}

# task id -> (perf_counter at start, milliseconds waited in the queue or None)
_started: dict[str, tuple[float, float | None]] = {}


@signals.before_task_publish.connect(weak=False, dispatch_uid="monitoring.stamp")
def _stamp_sent_at(headers=None, **kwargs):
    # Overwritten on every publish, so a retry measures its own wait.
    if isinstance(headers, dict):
        headers[SENT_AT_HEADER] = time.time()


def _queue_wait_ms(request) -> float | None:
    sent_at = getattr(request, SENT_AT_HEADER, None)
    if not isinstance(sent_at, (int, float)) or getattr(request, "is_eager", False):
        return None
    due = sent_at
    eta = getattr(request, "eta", None)
    if eta:  # a countdown is not waiting: measure from when the task was due
        try:
            due = max(due, datetime.fromisoformat(eta).timestamp() if isinstance(eta, str) else eta.timestamp())
        except (TypeError, ValueError):
            pass
    return max(0.0, (time.time() - due) * 1000)


@signals.task_prerun.connect(weak=False, dispatch_uid="monitoring.prerun")
def _task_started(task_id=None, task=None, **kwargs):
    try:
        _started[task_id] = (time.perf_counter(), _queue_wait_ms(task.request))
    except Exception:  # never fail a task for its measurement
        logger.exception("monitoring: task_prerun")


@signals.task_postrun.connect(weak=False, dispatch_uid="monitoring.postrun")
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    started = _started.pop(task_id, None)
    if started is None or task is None:
        return
    began, wait_ms = started
    milliseconds = (time.perf_counter() - began) * 1000
    # An eager task whose exception propagates to the caller ends with no state.
    outcome = _STATES.get(state, "failed" if state is None else str(state).lower())
    get_store().record("task", task.name, outcome, milliseconds, time.time(),
                       extra_samples={"wait": wait_ms} if wait_ms is not None else None)


def _record_failure(task, task_id, exception, kwargs):
    request = getattr(task, "request", None)
    hospital_id = (kwargs or {}).get("hospital_id")
    get_store().record_failure({
        "task": getattr(task, "name", str(task)),
        "task_id": task_id,
        "exception": type(exception).__name__,
        "message": str(exception)[:MESSAGE_LIMIT],
        "hospital_id": hospital_id if isinstance(hospital_id, int) else None,
        "worker": heartbeat.worker_hostname or getattr(request, "hostname", None) or socket.gethostname(),
        "retries": getattr(request, "retries", 0) or 0,
        "at": time.time(),
    })


@signals.task_failure.connect(weak=False, dispatch_uid="monitoring.failure")
def _task_failed(sender=None, task_id=None, exception=None, kwargs=None, **extra):
    _record_failure(sender, task_id, exception, kwargs)


@signals.task_internal_error.connect(weak=False, dispatch_uid="monitoring.internal_error")
def _task_internal_error(sender=None, task_id=None, exception=None, kwargs=None, **extra):
    # Celery reports an eager task's exception (and errors outside the task body) here,
    # not through task_failure.
    _record_failure(sender, task_id, exception, kwargs)


def record_inference(task: str, loaded, milliseconds: float, shadow: bool) -> None:
    """model_pool observer: one latency sample per prediction, per model version."""
    series = "\t".join((task, loaded.name, loaded.version, "shadow" if shadow else "active"))
    get_store().record("inference", series, "ok", milliseconds, time.time())


def connect() -> None:
    """Register what is not a Celery signal: the worker heartbeat and the model observer."""
    from apps.configuration.serving import model_pool
    from hospital_platform.celery import app

    app.steps["worker"].add(heartbeat.WorkerHeartbeat)
    if record_inference not in model_pool.inference_observers:
        model_pool.inference_observers.append(record_inference)


connect()
