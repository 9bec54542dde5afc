"""GET /metrics: the monitoring snapshot in Prometheus text format, for a hospital's
existing Prometheus (or anything that scrapes that format).

Protected when METRICS_TOKEN is set (Django setting, else the environment variable):
send it as `Authorization: Bearer <token>`, or as the password of HTTP basic auth
(any user name). Basic auth is the better choice for Prometheus: the API's bearer
token middleware looks every bearer token up in the database, so with Bearer a
database outage turns the scrape into an error instead of `dependency_up 0`.
"""

import base64
import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from apps.core.errors import error_body

from .collectors import monitoring_snapshot

PREFIX = "hospital_platform_"
QUANTILES = (("0.5", "p50_ms"), ("0.95", "p95_ms"))


def _seconds(milliseconds):
    return None if milliseconds is None else milliseconds / 1000


def _summary(name: str, documentation: str, labels: dict, rows):
    """A summary per label set: windowed quantiles, and count and sum since the store began."""
    metric = Metric(name, documentation, "summary")
    for row in rows:
        values = {label: str(row[key]) for label, key in labels.items()}
        for quantile, key in QUANTILES:
            if row[key] is not None:
                metric.add_sample(name, {**values, "quantile": quantile}, _seconds(row[key]))
        metric.add_sample(f"{name}_count", values, row["count"])
        metric.add_sample(f"{name}_sum", values, row["total_seconds"])
    return metric


class SnapshotCollector:
    """Reads a fresh snapshot on every scrape; nothing is kept in this process."""

    def describe(self):
        return []  # registering must not read anything

    def collect(self):
        snapshot = monitoring_snapshot()
        yield from self._celery(snapshot)
        yield from self._inference(snapshot)
        yield from self._platform(snapshot)

    def _celery(self, snapshot):
        depth = GaugeMetricFamily(f"{PREFIX}celery_queue_depth", "Tasks waiting in the broker queue.", labels=["queue"])
        for row in snapshot["queues"]:
            depth.add_metric([row["queue"]], row["depth"])
        yield depth

        up = GaugeMetricFamily(f"{PREFIX}celery_worker_up", "1 if the worker's heartbeat is within the timeout.",
                               labels=["worker"])
        age = GaugeMetricFamily(f"{PREFIX}celery_worker_heartbeat_age_seconds",
                                "Seconds since the worker's last heartbeat.", labels=["worker"])
        for row in snapshot["workers"]:
            up.add_metric([row["hostname"]], 1 if row["alive"] else 0)
            age.add_metric([row["hostname"]], row["seconds_since_heartbeat"])
        yield up
        yield age

        runs = CounterMetricFamily(f"{PREFIX}celery_task_runs", "Task runs by outcome since the store began.",
                                   labels=["task", "state"])
        wait = GaugeMetricFamily(f"{PREFIX}celery_task_wait_seconds",
                                 "Time between publish and start, quantiles over the monitoring window.",
                                 labels=["task", "quantile"])
        for row in snapshot["tasks"]:
            for state, count in row["total"].items():
                runs.add_metric([row["task"], state], count)
            for quantile, key in QUANTILES:
                if row[f"wait_{key}"] is not None:
                    wait.add_metric([row["task"], quantile], _seconds(row[f"wait_{key}"]))
        yield runs
        yield _summary(f"{PREFIX}celery_task_runtime_seconds",
                       "Task run time: quantiles over the monitoring window; count and sum since the store began.",
                       {"task": "task"}, [{**row, "count": sum(row["total"].values())} for row in snapshot["tasks"]])
        yield wait

        failures = GaugeMetricFamily(f"{PREFIX}celery_task_failures_in_window",
                                     "Failed runs in the monitoring window by exception type.",
                                     labels=["task", "exception"])
        for reason in snapshot["failures"]["by_reason"]:
            failures.add_metric([reason["task"], reason["exception"]], reason["count"])
        yield failures

    def _inference(self, snapshot):
        yield _summary(f"{PREFIX}model_inference_seconds",
                       "Model inference time per model version: quantiles over the window; count and sum overall.",
                       {"task": "task", "model": "model", "version": "version", "role": "role"},
                       [{**row, "count": row["total"]} for row in snapshot["inference"]])

    def _platform(self, snapshot):
        up = GaugeMetricFamily(f"{PREFIX}dependency_up", "1 if the dependency answered its check.",
                               labels=["dependency"])
        latency = GaugeMetricFamily(f"{PREFIX}dependency_check_seconds", "How long the check took.",
                                    labels=["dependency"])
        for name, check in snapshot["dependencies"].items():
            if check["status"] == "not_configured":
                continue
            up.add_metric([name], 1 if check["status"] == "ok" else 0)
            if "ms" in check:
                latency.add_metric([name], check["ms"] / 1000)
        yield up
        yield latency

        if snapshot["websockets"]["connections"] is not None:
            yield GaugeMetricFamily(f"{PREFIX}websocket_connections", "Open WebSocket connections, all processes.",
                                    value=snapshot["websockets"]["connections"])

        firing = GaugeMetricFamily(f"{PREFIX}alert_firing", "1 for each monitoring threshold crossed now.",
                                   labels=["kind", "subject"])
        for alert in snapshot["alerts"]["firing"]:
            firing.add_metric([alert["kind"], alert["subject"]], 1)
        yield firing

        errors = GaugeMetricFamily(f"{PREFIX}monitoring_read_errors",
                                   "1 for each part of the snapshot that could not be read.", labels=["part"])
        for part in snapshot["errors"]:
            errors.add_metric([part], 1)
        yield errors


registry = CollectorRegistry(auto_describe=False)
registry.register(SnapshotCollector())


def metrics_token() -> str:
    return settings.METRICS_TOKEN


def _presented_token(request) -> str:
    scheme, _sep, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer":
        return value
    if scheme == "basic":
        try:
            return base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return ""
    return ""


@require_GET
def metrics(request):
    expected = metrics_token()
    if expected and not hmac.compare_digest(_presented_token(request).encode(), expected.encode()):
        response = JsonResponse(error_body("not_authenticated", _(
            "Send the metrics token as 'Authorization: Bearer <token>' or as the basic-auth password.")), status=401)
        response["WWW-Authenticate"] = 'Basic realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
