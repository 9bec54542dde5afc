"""Monitoring: what tasks, models and connections record, the snapshot the API and
/metrics serve, who may read it, and how it behaves without Redis or with Redis down.

Every test gets a store of its own: a private key prefix on Redis when REDIS_URL is
set, else a fresh in-process store."""

import base64
import time
import uuid

import pytest
from django.utils import translation
from prometheus_client.parser import text_string_to_metric_families

from apps.configuration.monitoring import collectors
from apps.configuration.monitoring.alerts import alerts_evaluate
from apps.configuration.monitoring.collectors import monitoring_snapshot, percentile
from apps.configuration.monitoring.signals import record_inference
from apps.configuration.monitoring.store import MemoryStore, RedisStore, get_store, monitoring_redis_url, use_store
from apps.configuration.services import setting_set
from apps.configuration.serving import model_pool
from apps.core.exceptions import PermissionDeniedError
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from hospital_platform.celery import app as celery_app
from tests.conftest import client_for
from tests.factories import HospitalFactory, member_of

URL = "/api/v1/monitoring/"


@celery_app.task(name="testing.monitoring.succeed")
def succeed(*, hospital_id=None, sleep_ms=0):
    time.sleep(sleep_ms / 1000)
    return True


@celery_app.task(name="testing.monitoring.analyse")
def analyse(*, hospital_id=None, error=None):
    if error:
        raise RuntimeError(error)
    return True


@pytest.fixture
def monitoring_store():
    url = monitoring_redis_url()
    previous = get_store()
    store = RedisStore(url, prefix=f"mon-test-{uuid.uuid4().hex[:10]}:") if url else MemoryStore()
    use_store(store)
    yield store
    if url:
        store.clear()
    use_store(previous)


def run_tasks(task, times, **kwargs):
    for _ in range(times):
        try:
            task.delay(**kwargs)
        except RuntimeError:
            pass  # eager tasks propagate their exception; the failure is what we measure


def task_row(snapshot, name):
    return next(row for row in snapshot["tasks"] if row["task"] == name)


def set_platform(key, value, *, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        setting_set(key=key, value=value, actor=admin, role=Role.PLATFORM_ADMIN, hospital_id=None)


@pytest.fixture
def platform_admin(hospital_a):
    return member_of(hospital_a, Role.PLATFORM_ADMIN)


# --- what gets recorded ---------------------------------------------------------------------


def test_task_runs_and_failures_are_recorded_with_their_reasons(monitoring_store, db):
    # Given a task that succeeds and one that fails, run (eagerly) in this process
    run_tasks(succeed, 3)
    run_tasks(analyse, 2, hospital_id=7, error="analyser 3 offline")

    # when the snapshot is read
    snapshot = monitoring_snapshot()

    # then both task types show their outcomes, rate and run times
    ok, bad = task_row(snapshot, "testing.monitoring.succeed"), task_row(snapshot, "testing.monitoring.analyse")
    assert (ok["succeeded"], ok["failed"], ok["failure_rate"]) == (3, 0, 0.0)
    assert (bad["succeeded"], bad["failed"], bad["failure_rate"]) == (0, 2, 1.0)
    assert ok["samples"] == 3 and ok["p50_ms"] is not None and ok["p95_ms"] >= ok["p50_ms"]
    assert ok["throughput_per_minute"] == round(3 / snapshot["window_minutes"], 3)
    # and the failure reason is kept: exception type, message, hospital
    assert snapshot["failures"]["by_reason"] == [{
        "task": "testing.monitoring.analyse", "exception": "RuntimeError", "count": 2,
        "last_message": "analyser 3 offline", "last_at": snapshot["failures"]["recent"][0]["at"]}]
    assert snapshot["failures"]["recent"][0]["hospital_id"] == 7


def test_percentiles_use_nearest_rank_over_the_window(monitoring_store, db):
    # Given 100 runs of 1..100 ms in the window and slow runs from before the window
    now = time.time()
    for milliseconds in range(1, 101):
        monitoring_store.record("task", "testing.monitoring.sample", "succeeded", float(milliseconds), now - 5)
    for _ in range(50):
        monitoring_store.record("task", "testing.monitoring.sample", "succeeded", 99_999.0, now - 3600)

    # when the snapshot is read
    row = task_row(monitoring_snapshot(now=now), "testing.monitoring.sample")

    # then old runs count towards the totals but not the window
    assert (row["p50_ms"], row["p95_ms"], row["samples"], row["succeeded"]) == (50.0, 95.0, 100, 100)
    assert row["total"]["succeeded"] == 150
    assert percentile([], 0.5) is None and percentile([7.0], 0.95) == 7.0


def test_model_inference_latency_is_recorded_per_model_version(monitoring_store, registered, hospital_a,
                                                               django_capture_on_commit_callbacks):
    from apps.configuration.model_services import model_activate
    from apps.configuration.models import ModelDeployment
    from ml.keras_io import load_keras_model
    from tests.support.tiny_models import agreement, predict_labels

    from .conftest import TASK

    # Given v1 active and v2 in shadow, served by the platform's model pool
    for version, mode in (("v1", ModelDeployment.Mode.ACTIVE), ("v2", ModelDeployment.Mode.SHADOW)):
        with django_capture_on_commit_callbacks(execute=True):
            model_activate(task=TASK, artifact_id=registered[version].pk, hospital_id=hospital_a.pk, mode=mode,
                           role=Role.HOSPITAL_ADMIN)
    model_pool.register_loader(TASK, load_keras_model)
    assert record_inference in model_pool.inference_observers
    try:
        # when it predicts twice
        with tenant_context(hospital_a.pk):
            for _ in range(2):
                model_pool.run(TASK, [[0.1, 0.9]], predict=predict_labels, compare=agreement)
    finally:
        model_pool.forget()

    # then each version has its own latency figures, marked active or shadow
    rows = {(row["model"], row["version"], row["role"]): row for row in monitoring_snapshot()["inference"]}
    assert set(rows) == {("diagonal", "v1", "active"), ("diagonal", "v2", "shadow")}
    active = rows[("diagonal", "v1", "active")]
    assert (active["task"], active["count"], active["total"]) == (TASK, 2, 2)
    assert 0 < active["p50_ms"] <= active["p95_ms"] and active["total_seconds"] > 0


def test_dependencies_are_checked(monitoring_store, db, settings):
    snapshot = monitoring_snapshot()
    assert snapshot["dependencies"]["database"]["status"] == "ok"
    expected_redis = "ok" if settings.REDIS_URL else "not_configured"
    assert snapshot["dependencies"]["redis"]["status"] == expected_redis


def test_a_redis_outage_neither_fails_tasks_nor_the_snapshot(db, settings):
    # Given a monitoring store on a Redis that does not answer
    previous = get_store()
    settings.MONITORING_REDIS_URL = "redis://127.0.0.1:1/3"
    try:
        # when tasks run
        assert succeed.delay().get() is True
        # then they still work, and the snapshot says which parts it could not read
        snapshot = monitoring_snapshot()
        assert snapshot["dependencies"]["database"]["status"] == "ok"
        assert {"tasks", "workers", "failures"} <= set(snapshot["errors"])
        assert snapshot["tasks"] == []
    finally:
        settings.MONITORING_REDIS_URL = ""
        use_store(previous)


def test_without_redis_an_in_process_store_is_used_and_says_what_it_cannot_know(db, settings):
    # Given the embedded default: no Redis, eager Celery
    settings.REDIS_URL = ""
    use_store(MemoryStore())
    store = get_store()
    assert isinstance(store, MemoryStore)

    # when tasks run in this process
    run_tasks(succeed, 2)
    run_tasks(analyse, 1, error="lab analyser offline")
    with translation.override("en"):
        snapshot = monitoring_snapshot()

    # then they are counted in this process
    assert task_row(snapshot, "testing.monitoring.succeed")["succeeded"] == 2
    assert snapshot["failures"]["by_reason"][0]["exception"] == "RuntimeError"
    # and the snapshot says what it cannot know, instead of showing zeros
    assert (snapshot["store"], snapshot["celery_mode"], snapshot["queues"]) == ("in_process", "eager", [])
    assert snapshot["dependencies"]["redis"] == {"status": "not_configured"}
    assert snapshot["dependencies"]["broker"]["status"] == "not_configured"
    text = " ".join(snapshot["limitations"])
    assert "this process only" in text and "eager mode" in text and "celery beat" in text
    # and alerts still work, remembered in the process
    first = alerts_evaluate()
    assert first["raised"] == [] and store.meta_get("alerts_evaluated_at") is not None


def test_worker_heartbeat_timeout_raises_an_alert_and_recovers(monitoring_store, db):
    # Given a worker that last beat 5 minutes ago (killed without shutting down)
    monitoring_store.worker_beat("celery@gone", {"hostname": "celery@gone", "pid": 1, "queues": ["default"],
                                                 "last_seen": time.time() - 300, "started_at": time.time() - 900})
    # when alerts are evaluated
    raised = alerts_evaluate()["raised"]
    # then exactly that worker is reported
    assert [(a["kind"], a["subject"]) for a in raised] == [("worker_heartbeat", "celery@gone")]
    assert raised[0]["value"] >= 300 and raised[0]["threshold"] == 60
    assert monitoring_snapshot()["workers"][0]["alive"] is False
    # and once it beats again, it recovers
    monitoring_store.worker_beat("celery@gone", {"hostname": "celery@gone", "last_seen": time.time()})
    assert [a["key"] for a in alerts_evaluate()["recovered"]] == ["worker_heartbeat:celery@gone"]


def test_an_alert_is_announced_once_while_it_lasts(monitoring_store, platform_admin,
                                                   django_capture_on_commit_callbacks):
    # Given failure-rate alerts from 3 runs
    set_platform("monitoring.task_min_runs_for_alert", 3, admin=platform_admin,
                 django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    run_tasks(analyse, 3, error="lab analyser offline")
    # when alerts are evaluated three times
    results = [alerts_evaluate() for _ in range(3)]
    # then the alert is raised the first time only, and stays active
    assert [len(r["raised"]) for r in results] == [1, 0, 0]
    assert results[0]["raised"][0]["key"] == "task_failure_rate:testing.monitoring.analyse"
    assert list(monitoring_store.alerts_active()) == ["task_failure_rate:testing.monitoring.analyse"]


def test_too_few_runs_do_not_alert(monitoring_store, db):
    # Given one failed run (default minimum: 10 runs)
    run_tasks(analyse, 1, error="lab analyser offline")
    # then nothing fires
    assert monitoring_snapshot()["alerts"]["firing"] == []


# --- thresholds are platform settings -------------------------------------------------------


def test_thresholds_are_platform_wide_settings(monitoring_store, hospital_a, platform_admin,
                                               django_capture_on_commit_callbacks):
    # a platform admin changes one, and the snapshot uses it
    set_platform("monitoring.queue_depth_alert", 42, admin=platform_admin,
                 django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert monitoring_snapshot()["thresholds"]["queue_depth"] == 42
    # a hospital admin may not
    with pytest.raises(PermissionDeniedError):
        setting_set(key="monitoring.queue_depth_alert", value=1, actor=member_of(hospital_a, Role.HOSPITAL_ADMIN),
                    role=Role.HOSPITAL_ADMIN, hospital_id=None)


# --- the API ----------------------------------------------------------------------------------


def test_platform_admin_reads_the_snapshot_with_every_failure(monitoring_store, hospital_a, platform_admin):
    other = HospitalFactory(slug="monitoring-other")
    run_tasks(analyse, 1, hospital_id=hospital_a.pk, error="ours")
    run_tasks(analyse, 1, hospital_id=other.pk, error="theirs")

    response = client_for(platform_admin).get(URL)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert sorted(f["message"] for f in body["failures"]["recent"]) == ["ours", "theirs"]
    assert task_row(body, "testing.monitoring.analyse")["failed"] == 2
    assert {"queues", "workers", "tasks", "inference", "dependencies", "websockets", "alerts", "thresholds",
            "limitations", "errors"} <= set(body)


def test_hospital_admin_sees_only_their_hospitals_failure_details(monitoring_store, hospital_a):
    other = HospitalFactory(slug="monitoring-other")
    run_tasks(analyse, 1, hospital_id=hospital_a.pk, error="ours")
    run_tasks(analyse, 1, hospital_id=other.pk, error="patient 12 at the other hospital")
    run_tasks(analyse, 1, error="platform-wide job")

    body = client_for(member_of(hospital_a, Role.HOSPITAL_ADMIN)).get(URL).json()

    assert [f["message"] for f in body["failures"]["recent"]] == ["ours"]
    assert body["failures"]["by_reason"][0]["count"] == 1
    # the figures themselves are platform-wide
    assert task_row(body, "testing.monitoring.analyse")["failed"] == 3


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.COMPLIANCE_OFFICER, Role.PATIENT])
def test_other_roles_may_not_read_monitoring(monitoring_store, hospital_a, role):
    response = client_for(member_of(hospital_a, role)).get(URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_anonymous_callers_are_told_to_authenticate(monitoring_store, api_client, db):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# --- /metrics ---------------------------------------------------------------------------------


def _families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _samples(family, name=None) -> dict:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value for sample in family.samples
            if name is None or sample.name == name}


def test_metrics_are_prometheus_text(monitoring_store, client, db):
    # Given some runs and failures
    run_tasks(succeed, 4)
    run_tasks(analyse, 1, error="disk full")
    monitoring_store.record("inference", "ocr\tpaddle\t2.1\tactive", "ok", 120.0, time.time())

    # when /metrics is scraped
    response = client.get("/metrics")

    # then it parses as Prometheus text with the figures
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    families = _families(response.content.decode())
    runs = _samples(families["hospital_platform_celery_task_runs"], "hospital_platform_celery_task_runs_total")
    assert runs[("hospital_platform_celery_task_runs_total",
                 (("state", "succeeded"), ("task", "testing.monitoring.succeed")))] == 4
    assert runs[("hospital_platform_celery_task_runs_total",
                 (("state", "failed"), ("task", "testing.monitoring.analyse")))] == 1
    runtime = families["hospital_platform_celery_task_runtime_seconds"]
    assert runtime.type == "summary"
    quantiles = {s.labels["quantile"] for s in runtime.samples if s.labels.get("task") == "testing.monitoring.succeed"
                 and "quantile" in s.labels}
    assert quantiles == {"0.5", "0.95"}
    failures = _samples(families["hospital_platform_celery_task_failures_in_window"])
    assert failures[("hospital_platform_celery_task_failures_in_window",
                     (("exception", "RuntimeError"), ("task", "testing.monitoring.analyse")))] == 1
    inference = _samples(families["hospital_platform_model_inference_seconds"])
    labels = (("model", "paddle"), ("quantile", "0.95"), ("role", "active"), ("task", "ocr"), ("version", "2.1"))
    assert inference[("hospital_platform_model_inference_seconds", labels)] == pytest.approx(0.12)
    up = _samples(families["hospital_platform_dependency_up"])
    assert up[("hospital_platform_dependency_up", (("dependency", "database"),))] == 1
    assert "hospital_platform_websocket_connections" in families


def test_metrics_token_is_required_when_configured(monitoring_store, client, db, settings):
    settings.METRICS_TOKEN = "scrape-secret-0123456789"

    refused = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-it")
    bearer = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789")
    basic_credentials = base64.b64encode(b"prometheus:scrape-secret-0123456789").decode()
    basic = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {basic_credentials}")

    assert (refused.status_code, wrong.status_code, bearer.status_code, basic.status_code) == (401, 401, 200, 200)
    assert refused.json()["error"]["code"] == "not_authenticated"
    assert refused["WWW-Authenticate"].startswith("Basic")
    assert b"hospital_platform_dependency_up" in basic.content


def test_metrics_answer_when_the_monitoring_store_is_unreachable(client, db, settings):
    previous = get_store()
    settings.MONITORING_REDIS_URL = "redis://127.0.0.1:1/3"
    try:
        response = client.get("/metrics")
        families = _families(response.content.decode())
        errors = _samples(families["hospital_platform_monitoring_read_errors"])
        assert response.status_code == 200
        assert errors[("hospital_platform_monitoring_read_errors", (("part", "tasks"),))] == 1
    finally:
        settings.MONITORING_REDIS_URL = ""
        use_store(previous)


# --- the periodic job -------------------------------------------------------------------------


def test_ensure_periodic_tasks_creates_the_alert_job_once_and_keeps_admin_changes(db):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from apps.privacy.models import AuditEvent

    call_command("ensure_periodic_tasks")
    job = PeriodicTask.objects.get(task="configuration.evaluate_alerts")
    assert (job.interval.every, job.interval.period, job.enabled) == (60, "seconds", True)
    # an administrator disables it; running the command again does not undo that
    PeriodicTask.objects.filter(pk=job.pk).update(enabled=False)
    call_command("ensure_periodic_tasks")
    assert PeriodicTask.objects.filter(task="configuration.evaluate_alerts").count() == 1
    assert PeriodicTask.objects.get(pk=job.pk).enabled is False
    assert AuditEvent.objects.filter(action="configuration.periodic_task_ensure",
                                     detail__task="configuration.evaluate_alerts").count() == 1


def test_evaluate_alerts_is_a_registered_task(monitoring_store, db):
    celery_app.loader.import_default_modules()  # what a worker and beat do at start
    assert celery_app.tasks["configuration.evaluate_alerts"].delay().get() == {"raised": [], "recovered": []}
    assert monitoring_store.meta_get("alerts_evaluated_at") is not None
    assert collectors.monitoring_snapshot()["alerts"]["evaluated_at"] is not None
