"""The registry end to end on PostgreSQL + Redis with a real Celery worker consuming
the ml queue: a platform admin starts the rarity analysis through the API, the
worker registers and indexes the cases (the clinical NER over the record), a
generated access history is recorded, the worker trains and registers the trend
model and writes both prediction indexes, and a follower hears the refreshed
related data over /ws/v1/events/."""

import datetime
import time

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connections
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.configuration.models import ModelDeployment
from apps.configuration.serving import model_pool
from apps.configuration.services import setting_set
from apps.rarecases.catalogue import catalogue_import
from apps.rarecases.declared_settings import TREND_TASK
from apps.rarecases.knowledge import load_knowledge_graph
from apps.rarecases.models import RareCase, RareCaseIndexEntry, TrendRun
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from ml.rare_trend import generate_access_history
from tests.conftest import client_for, is_postgres
from tests.factories import HospitalFactory, member_of
from tests.support.live import connect_events, real_worker
from tests.support.rare_access import load_access_history

from .conftest import FIXTURES, add_diagnoses

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres,
              pytest.mark.timeout(900)]
RECORD = "患者反复乏力，查体肝脾肿大，血常规示贫血，骨髓见戈谢细胞，诊断戈谢病，予伊米苷酶酶替代治疗。"


@pytest.fixture
def ml_worker(settings, tmp_path, knowledge_file):
    if not is_postgres():
        pytest.skip("needs PostgreSQL (set DATABASE_URL); CI always runs it")
    settings.MODEL_STORAGE_ROOT = tmp_path / "models"
    settings.MODEL_STORAGE_ROOT.mkdir()
    model_pool.forget()
    with real_worker(["ml"], private_ml_queue=True) as app:
        yield app
    model_pool.forget()


@database_sync_to_async
def _set_up(knowledge_file):
    hospital, other = HospitalFactory(slug="rare-live-a", name="Rare A"), HospitalFactory(slug="rare-live-b",
                                                                                           name="Rare B")
    admin, doctor = member_of(hospital, Role.PLATFORM_ADMIN), member_of(hospital, Role.DOCTOR)
    catalogue_import(folder=FIXTURES, graph=load_knowledge_graph(knowledge_file))
    when = timezone.now() - datetime.timedelta(days=3)
    add_diagnoses(hospital, [("g", "E75.2", "戈谢病")], when=when, text=RECORD)
    add_diagnoses(hospital, [(f"a{i}", f"E7{i}.1", f"代谢病{i}") for i in range(8)])
    add_diagnoses(other, [(f"b{i}", f"G1{i}.0", f"神经病{i}") for i in range(8)])
    add_diagnoses(other, [(f"c{i}", "J06.9", "感冒") for i in range(60)])
    setting_set(key="rarecases.incidence_rate", value=0.02, actor=None, role=Role.PLATFORM_ADMIN, hospital_id=None)
    setting_set(key="rarecases.first_period_bounds_hours", value=[24, 24], actor=None, role=Role.PLATFORM_ADMIN,
                hospital_id=None)
    return hospital, admin, doctor, token_issue(user=doctor, kind=ApiToken.Kind.PASSWORD)[0]


async def _until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await database_sync_to_async(condition)()
        if value:
            return value
        await sync_to_async(time.sleep)(0.5)
    raise TimeoutError("the worker did not finish in time")


async def test_analysis_indexing_trend_model_and_keep_alive_run_on_a_real_worker(ml_worker, knowledge_file):
    hospital, admin, doctor, doctor_token = await _set_up(knowledge_file)

    # when the platform admin starts the rarity analysis
    response = await sync_to_async(lambda: client_for(admin).post("/api/v1/rare-cases/analyses/"))()
    assert response.status_code == 202

    # then the worker registers every hospital's rare cases and indexes them
    def indexed():
        return RareCaseIndexEntry.objects.count() == 17 and list(RareCaseIndexEntry.objects.order_by("case_id"))

    entries = await _until(indexed, 300)

    def gaucher_case():
        with tenant_context(hospital.pk):
            return RareCase.objects.select_related("catalogue_entry").get(icd10_code="E75.2")

    case = await database_sync_to_async(gaucher_case)()
    assert case.catalogue_entry.code == "CCRD:31" and case.retrieval_feature["entities"]  # the NER ran

    # when ten days of access are recorded and the trend model runs
    history = generate_access_history(len(entries), 10, seed=5)
    await database_sync_to_async(load_access_history)(entries, history, seed=5)
    response = await sync_to_async(lambda: client_for(admin).post("/api/v1/rare-cases/trend-runs/"))()
    assert response.status_code == 202
    run = await _until(lambda: TrendRun.objects.select_related("first_artifact").filter(
        status__in=("done", "failed", "skipped")).first(), 300)

    # then the worker trained, registered and activated the model and wrote both indexes
    assert run.status == "done", run.detail
    case = await database_sync_to_async(gaucher_case)()
    assert case.first_prediction_index is not None and case.second_prediction_index is not None
    assert case.first_model_version == f"rare-trend:{run.first_artifact.version}"

    def active_model():
        with tenant_context(hospital.pk):
            return ModelDeployment.objects.get(task=TREND_TASK, retired_at__isnull=True).artifact_id

    assert await database_sync_to_async(active_model)() == run.first_artifact_id

    # when the doctor follows the case and asks for its related data now
    doctor_ws = await connect_events(doctor_token)
    follow = await sync_to_async(lambda: client_for(doctor).post(f"/api/v1/rare-cases/{case.pk}/follow/"))()
    assert follow.status_code == 200
    refresh = await sync_to_async(lambda: client_for(doctor).post(f"/api/v1/rare-cases/{case.pk}/refresh/"))()
    assert refresh.status_code == 202

    # then the worker's update reaches the doctor over the WebSocket
    while True:
        event = await doctor_ws.receive_json_from(timeout=120)
        if event["type"] == "rare_case.updated" and event["data"]["id"] == case.pk:
            break
    kinds = {item["kind"] for item in event["data"]["new"]}
    assert {"catalogue", "knowledge"} <= kinds
    await doctor_ws.disconnect()
    await database_sync_to_async(connections.close_all)()
