"""The monitoring snapshot: one read of everything the store, the broker and the
dependencies can tell, for the API, the web admin, /metrics and the alert task.

Each part is read on its own: a part that cannot be read (Redis down, broker
unreachable) is reported under "errors" and the rest still answers. Figures that
this deployment cannot know are named under "limitations" rather than shown as 0.
"""

import logging
import math
import time
from datetime import datetime
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import DatabaseError
from django.utils.translation import gettext as _

from apps.core.health import _check_broker, _check_database, _check_redis, _timed

from .. import declared_settings as thresholds_declared
from .connections import STALE_SECONDS, local_websocket_count, process_name
from .store import get_store

logger = logging.getLogger(__name__)

FAILURE_LIMIT = 50
WORKER_FORGET_SECONDS = 24 * 3600
ALERTS_STALE_SECONDS = 5 * 60
THRESHOLD_SETTINGS = {
    "queue_depth": thresholds_declared.QUEUE_DEPTH_ALERT,
    "task_failure_rate": thresholds_declared.TASK_FAILURE_RATE_ALERT,
    "task_p95_ms": thresholds_declared.TASK_P95_MS_ALERT,
    "task_min_runs": thresholds_declared.TASK_MIN_RUNS_FOR_ALERT,
    "worker_heartbeat_timeout_seconds": thresholds_declared.WORKER_HEARTBEAT_TIMEOUT_SECONDS,
    "window_minutes": thresholds_declared.WINDOW_MINUTES,
}


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=dt_timezone.utc).isoformat()


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the
    values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1], 1)


def thresholds_current() -> tuple[dict, bool]:
    """The alert thresholds, and whether they came from the database (False: the
    database could not be read, so the declared defaults apply)."""
    from ..selectors import setting_value

    try:
        return {name: setting_value(definition.key) for name, definition in THRESHOLD_SETTINGS.items()}, True
    except DatabaseError:
        return {name: definition.default for name, definition in THRESHOLD_SETTINGS.items()}, False


def celery_eager() -> bool:
    from hospital_platform.celery import app

    return bool(app.conf.task_always_eager)


def queue_names() -> list[str]:
    from hospital_platform.celery import app

    return [queue.name for queue in (app.conf.task_queues or ())] or [app.conf.task_default_queue]


def queue_depths(names=None) -> dict[str, int]:
    """Messages waiting in each queue, read from the broker (Redis list lengths, or a
    passive declare on RabbitMQ). Messages a worker has reserved are not waiting."""
    from hospital_platform.celery import app

    depths = {}
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
        for name in names or queue_names():
            channel = connection.channel()
            try:
                depths[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
            except connection.channel_errors:
                depths[name] = 0  # a queue nobody declared yet holds nothing
            finally:
                try:
                    channel.close()
                except Exception:
                    pass
    return depths


def _window_minutes(now: float, window: int) -> list[int]:
    current = int(now // 60)
    return list(range(current - window + 1, current + 1))


def _task_stats(store, now: float, window: int) -> list[dict]:
    since = now - window * 60
    totals = store.totals("task")
    counts = store.window_counts("task", _window_minutes(now, window))
    sums = store.sums("task")
    names = sorted({key.rpartition("\t")[0] for key in totals} | {key.rpartition("\t")[0] for key in counts})
    runs, waits = store.samples("task", names), store.samples("wait", names)
    rows = []
    for name in names:
        in_window = {state: counts.get(f"{name}\t{state}", 0) for state in ("succeeded", "failed", "retried")}
        finished = in_window["succeeded"] + in_window["failed"]
        durations = [ms for at, ms in runs.get(name, ()) if at >= since]
        wait_times = [ms for at, ms in waits.get(name, ()) if at >= since]
        rows.append({
            "task": name,
            **in_window,
            "throughput_per_minute": round(finished / window, 3),
            "failure_rate": round(in_window["failed"] / finished, 4) if finished else None,
            "samples": len(durations),
            "p50_ms": percentile(durations, 0.50),
            "p95_ms": percentile(durations, 0.95),
            "wait_p50_ms": percentile(wait_times, 0.50),
            "wait_p95_ms": percentile(wait_times, 0.95),
            "total": {state: totals.get(f"{name}\t{state}", 0)
                      for state in ("succeeded", "failed", "retried", "ignored", "rejected")},
            "total_seconds": round(sums.get(name, 0.0), 3),
        })
    return rows


def _failures(store, now: float, window: int, hospital_id: int | None) -> dict:
    since = now - window * 60
    recent = store.recent_failures()
    if hospital_id is not None:
        recent = [entry for entry in recent if entry.get("hospital_id") == hospital_id]
    reasons: dict[tuple[str, str], dict] = {}
    for entry in recent:
        if entry["at"] < since:
            continue
        reason = reasons.setdefault((entry["task"], entry["exception"]), {
            "task": entry["task"], "exception": entry["exception"], "count": 0,
            "last_message": entry["message"], "last_at": iso(entry["at"])})
        reason["count"] += 1
    return {
        "by_reason": sorted(reasons.values(), key=lambda reason: (-reason["count"], reason["task"])),
        "recent": [{**entry, "at": iso(entry["at"])} for entry in recent[:FAILURE_LIMIT]],
    }


def _inference_stats(store, now: float, window: int) -> list[dict]:
    since = now - window * 60
    totals = store.totals("inference")
    sums = store.sums("inference")
    series_names = sorted({key.rpartition("\t")[0] for key in totals})
    samples = store.samples("inference", series_names)
    counts = store.window_counts("inference", _window_minutes(now, window))
    rows = []
    for series in series_names:
        task, model, version, role = series.split("\t")
        durations = [ms for at, ms in samples.get(series, ()) if at >= since]
        rows.append({
            "task": task, "model": model, "version": version, "role": role,
            "count": counts.get(f"{series}\tok", 0),
            "p50_ms": percentile(durations, 0.50), "p95_ms": percentile(durations, 0.95),
            "total": totals.get(f"{series}\tok", 0), "total_seconds": round(sums.get(series, 0.0), 3),
        })
    return rows


def _workers(store, now: float, timeout: int) -> list[dict]:
    rows = []
    for hostname, record in sorted(store.workers().items()):
        age = max(0.0, now - record.get("last_seen", 0))
        if age > WORKER_FORGET_SECONDS:
            store.worker_forget(hostname)  # long gone: stop reporting (and alerting on) it
            continue
        rows.append({
            "hostname": hostname, "pid": record.get("pid"), "queues": record.get("queues", []),
            "pool": record.get("pool"), "concurrency": record.get("concurrency"),
            "active": record.get("active"), "processed": record.get("processed"),
            "started_at": iso(record.get("started_at")), "last_heartbeat_at": iso(record.get("last_seen")),
            "seconds_since_heartbeat": round(age, 1), "alive": age <= timeout,
        })
    return rows


def _websockets(store, now: float) -> dict:
    processes = {}
    stale = []
    for process, record in store.websocket_counts().items():
        if now - record.get("at", 0) > STALE_SECONDS:
            stale.append(process)
        else:
            processes[process] = {"connections": int(record.get("count", 0)), "updated_at": iso(record.get("at"))}
    if stale:
        store.websocket_forget(stale)
    # This process's own figure is exact and current, whatever the reporter last wrote.
    own = local_websocket_count()
    if own or process_name() in processes:
        processes[process_name()] = {"connections": own, "updated_at": iso(now)}
    return {
        "connections": sum(row["connections"] for row in processes.values()),
        "processes": [{"process": name, **row} for name, row in sorted(processes.items())],
    }


def _dependencies(eager: bool) -> dict:
    checks = {"database": _timed(_check_database)}
    checks["redis"] = _timed(_check_redis) if settings.REDIS_URL else {"status": "not_configured"}
    checks["broker"] = {"status": "not_configured", "mode": "eager"} if eager else _timed(_check_broker)
    return checks


def monitoring_snapshot(*, failures_of_hospital: int | None = None, now: float | None = None,
                        include_alerts: bool = True) -> dict:
    """Everything monitoring knows now. `failures_of_hospital` limits failure reasons
    to tasks run for that hospital (for hospital administrators)."""
    from . import alerts

    now = time.time() if now is None else now
    store = get_store()
    limits, thresholds_from_database = thresholds_current()
    window = limits["window_minutes"]
    eager = celery_eager()
    errors: dict[str, str] = {}
    limitations: list[str] = []

    def part(name, read, fallback):
        try:
            return read()
        except Exception as error:  # one unreadable part must not hide the others
            logger.warning("monitoring: could not read %s: %s", name, error)
            errors[name] = f"{type(error).__name__}: {error}"[:300]
            return fallback

    snapshot = {
        "generated_at": iso(now),
        "store": store.mode,
        "celery_mode": "eager" if eager else "workers",
        "window_minutes": window,
        "thresholds": limits,
        "dependencies": _dependencies(eager),
        "queues": [] if eager else part("queues", lambda: [
            {"queue": name, "depth": depth} for name, depth in queue_depths().items()], []),
        "workers": part("workers", lambda: _workers(store, now, limits["worker_heartbeat_timeout_seconds"]), []),
        "tasks": part("tasks", lambda: _task_stats(store, now, window), []),
        "failures": part("failures", lambda: _failures(store, now, window, failures_of_hospital),
                         {"by_reason": [], "recent": []}),
        "inference": part("inference", lambda: _inference_stats(store, now, window), []),
        "websockets": part("websockets", lambda: _websockets(store, now), {"connections": None, "processes": []}),
    }
    if include_alerts:
        evaluated_at = part("alerts", lambda: store.meta_get("alerts_evaluated_at"), None)
        snapshot["alerts"] = {
            "firing": [alert.as_dict() for alert in alerts.alerts_firing(snapshot)],
            "active": part("alerts", lambda: sorted(store.alerts_active().values(), key=lambda a: a["key"]), []),
            "evaluated_at": iso(evaluated_at),
        }
        if evaluated_at is None or now - evaluated_at > ALERTS_STALE_SECONDS:
            limitations.append(_(
                "Alerts are pushed by the periodic job configuration.evaluate_alerts, which has not run in the last "
                "5 minutes: without celery beat (or in the embedded default) nobody is notified. \"firing\" shows "
                "what would alert now."))
    if store.mode == "in_process":
        limitations.append(_(
            "No REDIS_URL: figures are kept in this process only, so tasks, models and connections of other "
            "processes are not seen, and everything restarts from zero with the process."))
    if eager:
        limitations.append(_(
            "Celery runs tasks inline (eager mode): there are no queues to measure and no workers to watch; "
            "task figures are those of tasks run in this process, and queue wait times are unknown."))
    if not thresholds_from_database:
        limitations.append(_("The database could not be read: the declared default thresholds apply."))
    snapshot["errors"] = errors
    snapshot["limitations"] = limitations
    return snapshot
