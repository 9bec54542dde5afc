"""Steps 5 and 6 on the registry's real tables: a generated access history (known
dynamics) loaded as access rows, the first model trained, registered and activated,
both prediction indexes written per case, the signal sent; then new periods with
propagation go through the incremental update."""

import datetime

import pytest
from django.utils import timezone

from apps.configuration.models import ModelArtifact, ModelDeployment
from apps.configuration.serving import model_pool
from apps.configuration.services import setting_set
from apps.privacy.models import AuditEvent
from apps.rarecases.declared_settings import TREND_TASK
from apps.rarecases.models import RareCase, RareCaseIndexEntry, TrendRun
from apps.rarecases.rarity import rarity_analyse
from apps.rarecases.services import access_period_current, rare_case_index
from apps.rarecases.signals import prediction_indexes_ready
from apps.rarecases import trend as trend_module
from apps.rarecases.trend import access_history_build, trend_cycle
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from ml.rare_trend import generate_access_history
from tests.support.rare_access import history_slice, load_access_history

from .conftest import add_diagnoses

pytestmark = pytest.mark.django_db
CASES = 40


def _platform_setting(key, value):
    setting_set(key=key, value=value, actor=None, role=Role.PLATFORM_ADMIN, hospital_id=None)


@pytest.fixture
def indexed_cases(hospital_a, hospital_b, settings, tmp_path):
    """40 rare cases over two hospitals, indexed; periods of one day."""
    settings.MODEL_STORAGE_ROOT = tmp_path
    model_pool.forget()
    _platform_setting("rarecases.incidence_rate", 0.5)
    _platform_setting("rarecases.first_period_bounds_hours", [24, 24])
    _platform_setting("rarecases.propagation_threshold", 1.0)
    add_diagnoses(hospital_a, [(f"a{i}", f"E7{i % 10}.{i // 10}", f"罕见病{i}") for i in range(CASES // 2)])
    add_diagnoses(hospital_b, [(f"b{i}", f"G1{i % 10}.{i // 10}", f"罕见病{i}") for i in range(CASES // 2)])
    rarity_analyse()
    for hospital in (hospital_a, hospital_b):
        with tenant_context(hospital.pk):
            for case_id in RareCase.objects.values_list("pk", flat=True):
                rare_case_index(case_id=case_id, structure=False)
    yield list(RareCaseIndexEntry.objects.order_by("case_id"))
    model_pool.forget()


@pytest.fixture
def signalled():
    received = []

    def receiver(sender, case, **kwargs):
        received.append((case.pk, case.hospital_id, case.first_prediction_index, case.second_prediction_index))

    prediction_indexes_ready.connect(receiver, weak=False, dispatch_uid="test-signalled")
    yield received
    prediction_indexes_ready.disconnect(dispatch_uid="test-signalled")


def test_without_two_closed_periods_the_cycle_is_skipped(indexed_cases):
    run = trend_cycle()
    assert run.status == TrendRun.Status.SKIPPED and "two are needed" in run.detail
    assert not ModelArtifact.objects.filter(task=TREND_TASK).exists()


def test_the_first_cycle_trains_registers_activates_and_writes_both_indexes(indexed_cases, hospital_a, hospital_b,
                                                                          signalled):
    history = generate_access_history(CASES, 14, seed=3, drift_at=8)
    now = timezone.now()
    load_access_history(indexed_cases, history_slice(history, 0, 8), now=now, seed=3)

    built, periods, _ = access_history_build(now=now)
    run = trend_cycle(now=now)

    assert built.n_periods == 8 and built.counts.sum() > 0 and built.propagation.max() > 1
    assert run.status == TrendRun.Status.DONE, run.detail
    artifact = run.first_artifact
    assert artifact.task == TREND_TASK and artifact.metrics["trained_through_period"] == periods[-1].number
    assert artifact.metrics["validation"]["auroc"] is not None and '"family": "ml.rare_trend"' in artifact.model_card
    for hospital in (hospital_a, hospital_b):
        with tenant_context(hospital.pk):
            assert ModelDeployment.objects.get(task=TREND_TASK, retired_at__isnull=True).artifact == artifact
            cases = list(RareCase.objects.all())
        assert all(0 <= c.first_prediction_index <= 1 and 0 <= c.second_prediction_index <= 1 for c in cases)
        assert {c.first_model_version for c in cases} == {f"rare-trend:{artifact.version}"}
        assert all(c.propagation_index is not None and c.predicted_at for c in cases)
    assert run.cases_scored == CASES and len(signalled) == CASES
    assert all(first is not None and second is not None for _pk, _h, first, second in signalled)
    assert AuditEvent.objects.filter(action="configuration.model_register").count() == 1
    assert AuditEvent.objects.filter(action="rarecases.prediction_indexes", hospital_id=hospital_a.pk).exists()


def test_the_next_cycle_updates_the_model_on_high_propagation_rows_and_gates_it(indexed_cases, hospital_a):
    history = generate_access_history(CASES, 14, seed=3, drift_at=8)
    start = timezone.now() - datetime.timedelta(days=6)
    load_access_history(indexed_cases, history_slice(history, 0, 8), now=start, seed=3)
    first = trend_cycle(now=start)
    # six more days of access, in the periods that open one after another
    periods = [access_period_current(now=start + datetime.timedelta(days=day, minutes=1)) for day in range(6)]
    load_access_history(indexed_cases, history_slice(history, 8, 14), periods=periods, seed=4)
    # as a fresh worker would: the current model comes back from the registered artifact
    trend_module._loaded.clear()
    model_pool.forget()

    second = trend_cycle(now=periods[-1].ends_at + datetime.timedelta(minutes=1))

    assert second.status == TrendRun.Status.DONE, second.detail
    assert second.first_artifact == first.first_artifact and second.propagation_selected > 0
    report = second.metrics["update"]
    assert report["reason"] in ("accepted", "old_validation_degraded", "no_gain_on_new_data")
    assert report["old_loss_before"] > 0 and report["rehearsal_rows"] > 0
    with tenant_context(hospital_a.pk):
        case = RareCase.objects.order_by("pk").first()
        active = ModelDeployment.objects.get(task=TREND_TASK, retired_at__isnull=True).artifact
    if second.update_accepted:
        assert second.second_artifact != first.first_artifact and active == second.second_artifact
        assert report["old_degradation"] <= 0.02 + 1e-9
        assert case.second_model_version == f"rare-trend:{second.second_artifact.version}"
    else:
        assert second.second_artifact == first.first_artifact and active == first.first_artifact
    assert case.first_model_version == f"rare-trend:{first.first_artifact.version}"
