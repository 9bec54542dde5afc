"""Thresholds -> alerts -> platform administrators.

`alerts_firing(snapshot)` says which thresholds are crossed now (a pure function).
`alerts_evaluate()` (the periodic task "configuration.evaluate_alerts") compares that
with the alerts already announced, kept in the monitoring store: a new one is
published as `monitoring.alert`, one that stopped firing as `monitoring.recovered`,
and one still firing is not repeated. The store's open/close are atomic, so two
evaluations running at once still announce each transition once.

A figure reaches its threshold when it is at or above it. Failure-rate and p95
alerts need at least `monitoring.task_min_runs_for_alert` runs in the window, so one
failed run of a rare task does not page anyone.
"""

import logging
import time
from dataclasses import asdict, dataclass

from django.utils.translation import gettext as _

from apps.realtime.publish import publish

from .collectors import iso, monitoring_snapshot
from .store import get_store

logger = logging.getLogger(__name__)

ALERT_EVENT = "monitoring.alert"
RECOVERED_EVENT = "monitoring.recovered"


@dataclass(frozen=True)
class Alert:
    kind: str
    subject: str
    value: float | None
    threshold: float | None
    message: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    def as_dict(self) -> dict:
        return {"key": self.key, **asdict(self)}


def alerts_firing(snapshot: dict) -> list[Alert]:
    limits = snapshot["thresholds"]
    window = snapshot["window_minutes"]
    firing = []
    for row in snapshot.get("queues", []):
        depth, threshold = row["depth"], limits["queue_depth"]
        if depth is not None and depth >= threshold:
            message = _("Queue %(queue)s has %(depth)s waiting tasks (alert at %(threshold)s): add workers or look "
                        "for a stuck one.") % {"queue": row["queue"], "depth": depth, "threshold": threshold}
            firing.append(Alert("queue_depth", row["queue"], depth, threshold, message))
    for row in snapshot.get("tasks", []):
        finished = row["succeeded"] + row["failed"]
        rate, threshold = row["failure_rate"], limits["task_failure_rate"]
        if finished >= limits["task_min_runs"] and rate is not None and rate >= threshold:
            message = _("%(task)s failed %(failed)s of %(runs)s times in the last %(window)s minutes (alert at "
                        "%(percent).0f%%); see the failure reasons.") % {
                "task": row["task"], "failed": row["failed"], "runs": finished, "window": window,
                "percent": threshold * 100}
            firing.append(Alert("task_failure_rate", row["task"], rate, threshold, message))
        p95, threshold = row["p95_ms"], limits["task_p95_ms"]
        if row["samples"] >= limits["task_min_runs"] and p95 is not None and p95 >= threshold:
            message = _("%(task)s took %(p95).0f ms at the 95th percentile in the last %(window)s minutes (alert at "
                        "%(threshold)s ms).") % {"task": row["task"], "p95": p95, "window": window,
                                                  "threshold": threshold}
            firing.append(Alert("task_p95", row["task"], p95, threshold, message))
    for row in snapshot.get("workers", []):
        if not row["alive"]:
            message = _("Worker %(worker)s has not sent a heartbeat for %(seconds).0f seconds: it stopped without "
                        "shutting down (killed, out of memory, host lost).") % {
                "worker": row["hostname"], "seconds": row["seconds_since_heartbeat"]}
            firing.append(Alert("worker_heartbeat", row["hostname"], row["seconds_since_heartbeat"],
                                limits["worker_heartbeat_timeout_seconds"], message))
    for name, check in snapshot.get("dependencies", {}).items():
        if check.get("status") == "error":
            message = _("%(dependency)s is not answering: %(error)s") % {"dependency": name,
                                                                         "error": check.get("error", "")}
            firing.append(Alert("dependency", name, None, None, message))
    return firing


def alerts_evaluate(*, snapshot: dict | None = None) -> dict[str, list[dict]]:
    """Announce the alerts that started and ended since the last evaluation."""
    snapshot = snapshot if snapshot is not None else monitoring_snapshot(include_alerts=False)
    store = get_store()
    now = time.time()
    firing = {alert.key: alert for alert in alerts_firing(snapshot)}
    raised, recovered = [], []
    for key, alert in firing.items():
        record = {**alert.as_dict(), "since": iso(now)}
        if store.alert_open(key, record):
            raised.append(record)
            publish(ALERT_EVENT, record, platform_admins=True)
    for key in store.alerts_active():
        if key in firing:
            continue
        record = store.alert_close(key)
        if record is not None:
            record = {**record, "alert_message": record.get("message"), "recovered_at": iso(now),
                      "message": _("%(subject)s is back within its threshold (%(kind)s, alerting since %(since)s).")
                      % {"subject": record.get("subject"), "kind": record.get("kind"), "since": record.get("since")}}
            recovered.append(record)
            publish(RECOVERED_EVENT, record, platform_admins=True)
    store.meta_set("alerts_evaluated_at", now)
    if raised or recovered:
        logger.warning("monitoring: alerts raised %s, recovered %s",
                       [r["key"] for r in raised], [r["key"] for r in recovered])
    return {"raised": raised, "recovered": recovered}
