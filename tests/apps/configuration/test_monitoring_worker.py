"""Monitoring with a real Celery worker consuming from Redis: its heartbeat, its tasks'
throughput, run and wait times, and a failure's reason show up in /api/v1/monitoring/
and /metrics, and a clean shutdown takes the worker off the list."""

import os
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connections
from prometheus_client.parser import text_string_to_metric_families

from apps.configuration.monitoring.store import get_store
from apps.tenancy.roles import Role
from hospital_platform.celery import app as celery_app
from tests.conftest import client_for
from tests.factories import member_of

from .test_monitoring import analyse, monitoring_store, succeed  # noqa: F401 (monitoring_store: a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis,
              pytest.mark.usefixtures("monitoring_store")]


@pytest.fixture
def worker_queue():
    """A queue of our own, so another test run's worker on the shared broker cannot take our tasks."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL); CI always runs it")
    name = f"monitoring-worker-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_always_eager = False
    yield name
    celery_app.conf.task_always_eager = True
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_delete(name)
    connections.close_all()


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_real_worker_shows_up_in_the_api_and_metrics(worker_queue, hospital_a):
    store = get_store()
    platform_admin = client_for(member_of(hospital_a, Role.PLATFORM_ADMIN))
    with start_worker(celery_app, queues=[worker_queue], pool="solo", perform_ping_check=False,
                      shutdown_timeout=10) as worker:
        # Given a running worker; when tasks go through the broker, one of them failing
        for _ in range(5):
            succeed.apply_async(kwargs={"sleep_ms": 30}, queue=worker_queue)
        analyse.apply_async(kwargs={"hospital_id": hospital_a.pk, "error": "scanner 2 jammed"}, queue=worker_queue)
        totals = lambda: store.totals("task")  # noqa: E731
        _wait_for(lambda: totals().get("testing.monitoring.succeed\tsucceeded") == 5
                  and totals().get("testing.monitoring.analyse\tfailed") == 1)

        body = platform_admin.get("/api/v1/monitoring/").json()
        metrics = client_for_metrics()

    # then the API shows the worker alive, on our queue, in this process
    worker_row = next(row for row in body["workers"] if row["hostname"] == worker.hostname)
    assert (worker_row["alive"], worker_row["queues"], worker_row["pid"]) == (True, [worker_queue], os.getpid())
    assert worker_row["seconds_since_heartbeat"] < 30
    # and the tasks' throughput, run time (they sleep 30 ms) and time waited in the queue
    row = next(row for row in body["tasks"] if row["task"] == "testing.monitoring.succeed")
    assert (row["succeeded"], row["failed"], row["samples"]) == (5, 0, 5)
    assert 30 <= row["p50_ms"] <= row["p95_ms"]
    assert row["wait_p50_ms"] is not None and row["wait_p50_ms"] >= 0
    # and why the failure failed, on which worker, for which hospital
    failure = body["failures"]["recent"][0]
    assert (failure["task"], failure["exception"], failure["message"], failure["hospital_id"], failure["worker"]) == (
        "testing.monitoring.analyse", "RuntimeError", "scanner 2 jammed", hospital_a.pk, worker.hostname)
    assert body["dependencies"]["broker"]["status"] == "ok" and body["celery_mode"] == "workers"
    assert {row["queue"] for row in body["queues"]} == {"default", "ml"}

    # and /metrics says the same in Prometheus text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(metrics) for s in family.samples}
    assert samples[("hospital_platform_celery_worker_up", (("worker", worker.hostname),))] == 1
    assert samples[("hospital_platform_celery_task_runs_total",
                    (("state", "succeeded"), ("task", "testing.monitoring.succeed")))] == 5
    assert samples[("hospital_platform_celery_task_runtime_seconds_count",
                    (("task", "testing.monitoring.succeed"),))] == 5
    assert samples[("hospital_platform_celery_task_wait_seconds",
                    (("quantile", "0.95"), ("task", "testing.monitoring.succeed")))] >= 0
    assert samples[("hospital_platform_celery_task_failures_in_window",
                    (("exception", "RuntimeError"), ("task", "testing.monitoring.analyse")))] == 1

    # and after a clean shutdown the worker is gone (not reported dead)
    assert worker.hostname not in store.workers()


def client_for_metrics() -> str:
    from django.test import Client

    response = Client().get("/metrics")
    assert response.status_code == 200
    return response.content.decode()
