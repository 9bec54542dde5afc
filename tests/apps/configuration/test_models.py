import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.configuration.model_services import model_activate, model_register, model_rollback, model_shadow_stop
from apps.configuration.models import ModelDeployment, ShadowComparison
from apps.configuration.serving import ModelPool, NoActiveModelError
from apps.core.exceptions import ConflictError, DomainError, PermissionDeniedError
from ml.keras_io import load_keras_model
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from ml.artifacts import artifact_checksum
from tests.support.tiny_models import agreement, predict_labels, synthetic_points

from .conftest import OTHER_TASK, TASK

ADMIN = Role.HOSPITAL_ADMIN


def _activate(version, registered, hospital, mode=ModelDeployment.Mode.ACTIVE, capture=None, role=ADMIN):
    with capture(execute=True):
        return model_activate(task=TASK, artifact_id=registered[version].pk, hospital_id=hospital.pk, mode=mode,
                              role=role)


def _classify(pool, points, subject=("test", 1)):
    return pool.run(TASK, points, predict=predict_labels, compare=agreement, subject=subject)


def test_register_records_the_checksum_and_metrics(registered, storage):
    artifact = registered["v2"]
    assert artifact.checksum_sha256 == artifact_checksum(storage / "v2" / "model.keras")
    assert artifact.metrics == {"accuracy": 0.97} and artifact.size_bytes > 0
    assert AuditEvent.objects.filter(action="configuration.model_register").count() == 2


def test_register_refuses_a_path_outside_storage(storage, db):
    with pytest.raises(DomainError) as error:
        model_register(task=TASK, name="x", version="1", path="/etc/passwd")
    assert error.value.code == "path_outside_storage"


def test_register_refuses_a_wrong_expected_checksum(storage, db):
    with pytest.raises(DomainError) as error:
        model_register(task=TASK, name="x", version="1", path="v1/model.keras", expected_checksum="0" * 64)
    assert error.value.code == "checksum_mismatch"


def test_register_refuses_an_unknown_task(storage, db):
    with pytest.raises(DomainError) as error:
        model_register(task="no_such_task", name="x", version="1", path="v1/model.keras")
    assert error.value.code == "unknown_task"


def test_the_active_model_serves_real_predictions(registered, hospital_a, pool, django_capture_on_commit_callbacks):
    _activate("v2", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    points, labels = synthetic_points(200, seed=99)
    with tenant_context(hospital_a.pk):
        result = _classify(pool, points)
    assert result.model.label == "diagonal:v2"
    assert agreement(result.output, [int(x) for x in labels]) > 0.9


def test_no_active_model_is_a_clear_conflict(registered, hospital_a, pool):
    with tenant_context(hospital_a.pk):
        with pytest.raises(NoActiveModelError):
            _classify(pool, [[0.1, 0.9]])


def test_a_switch_reaches_a_running_pool_without_a_restart(registered, hospital_a, pool,
                                                           django_capture_on_commit_callbacks):
    _activate("v1", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    with tenant_context(hospital_a.pk):
        assert _classify(pool, [[0.1, 0.9]]).model.version == "v1"
    _activate("v2", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    with tenant_context(hospital_a.pk):
        assert _classify(pool, [[0.1, 0.9]]).model.version == "v2"


def test_an_unchanged_deployment_is_read_from_memory(registered, hospital_a, django_capture_on_commit_callbacks):
    pool = ModelPool(check_interval=60)
    pool.register_loader(TASK, load_keras_model)
    _activate("v2", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    with tenant_context(hospital_a.pk):
        pool.serving(TASK)
        with CaptureQueriesContext(connection) as queries:
            pool.serving(TASK)
    assert len(queries) == 0


def test_shadow_runs_beside_the_active_model_and_stores_the_difference(registered, hospital_a, pool,
                                                                       django_capture_on_commit_callbacks):
    _activate("v1", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    _activate("v2", registered, hospital_a, mode=ModelDeployment.Mode.SHADOW, capture=django_capture_on_commit_callbacks)
    points, _ = synthetic_points(100, seed=5)
    with tenant_context(hospital_a.pk):
        result = _classify(pool, points, subject=("lab_report", 7))
        comparison = ShadowComparison.objects.get()
    # the caller gets the active model's answer; the shadow's is only recorded
    assert result.model.version == "v1"
    assert (comparison.active_artifact_id, comparison.shadow_artifact_id) == (registered["v1"].pk, registered["v2"].pk)
    assert comparison.active_output == result.output
    assert comparison.agreement == agreement(comparison.active_output, comparison.shadow_output)
    assert (comparison.subject_type, comparison.subject_id) == ("lab_report", "7")


def test_promoting_the_shadow_ends_the_shadow_run(registered, hospital_a, django_capture_on_commit_callbacks):
    _activate("v1", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    _activate("v2", registered, hospital_a, mode=ModelDeployment.Mode.SHADOW, capture=django_capture_on_commit_callbacks)
    _activate("v2", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    with tenant_context(hospital_a.pk):
        current = {d.mode: d.artifact.version for d in ModelDeployment.objects.filter(retired_at__isnull=True)}
    assert current == {"active": "v2"}


def test_stopping_the_shadow(registered, hospital_a, django_capture_on_commit_callbacks):
    _activate("v2", registered, hospital_a, mode=ModelDeployment.Mode.SHADOW, capture=django_capture_on_commit_callbacks)
    with tenant_context(hospital_a.pk):
        assert model_shadow_stop(task=TASK, hospital_id=hospital_a.pk, role=ADMIN) is True
        assert not ModelDeployment.objects.filter(retired_at__isnull=True).exists()


def test_rollback_puts_back_the_previous_model(registered, hospital_a, pool, django_capture_on_commit_callbacks):
    _activate("v1", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    _activate("v2", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        model_rollback(task=TASK, hospital_id=hospital_a.pk, role=ADMIN)
    with tenant_context(hospital_a.pk):
        assert _classify(pool, [[0.2, 0.3]]).model.version == "v1"
        assert ModelDeployment.objects.filter(mode="active").count() == 3  # the history is kept
    assert AuditEvent.objects.filter(action="configuration.model_rollback").get().detail["to"] == "diagonal:v1 (testing_classifier)"


def test_rollback_with_no_history_is_a_conflict(registered, hospital_a, django_capture_on_commit_callbacks):
    _activate("v1", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    with pytest.raises(ConflictError):
        model_rollback(task=TASK, hospital_id=hospital_a.pk, role=ADMIN)


def test_activation_is_per_hospital(registered, hospital_a, hospital_b, pool, django_capture_on_commit_callbacks):
    _activate("v2", registered, hospital_a, capture=django_capture_on_commit_callbacks)
    with tenant_context(hospital_b.pk):
        with pytest.raises(NoActiveModelError):
            pool.serving(TASK)


def test_activating_for_the_wrong_task_is_refused_and_audited(registered, hospital_a):
    with pytest.raises(DomainError) as error:
        model_activate(task=OTHER_TASK, artifact_id=registered["v1"].pk, hospital_id=hospital_a.pk, role=ADMIN)
    assert error.value.code == "wrong_task"
    assert AuditEvent.objects.get(action="configuration.model_active").outcome == "invalid"
    with tenant_context(hospital_a.pk):
        assert not ModelDeployment.objects.exists()


def test_a_file_changed_on_storage_cannot_be_activated(registered, hospital_a, storage):
    with (storage / "v1" / "model.keras").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ConflictError) as error:
        model_activate(task=TASK, artifact_id=registered["v1"].pk, hospital_id=hospital_a.pk, role=ADMIN)
    assert error.value.code == "checksum_mismatch"


def test_a_doctor_cannot_activate_models(registered, hospital_a):
    with pytest.raises(PermissionDeniedError):
        model_activate(task=TASK, artifact_id=registered["v1"].pk, hospital_id=hospital_a.pk, role=Role.DOCTOR)
    assert AuditEvent.objects.get(action="configuration.model_active").outcome == "denied"


def test_a_model_card_beside_the_artifact_is_kept(storage, db):
    import json

    (storage / "v1" / "MODEL_CARD.json").write_text(json.dumps({"data": "synthetic", "metrics": {"acc": 0.5}}))
    artifact = model_register(task=TASK, name="carded", version="1", path="v1/model.keras")
    assert json.loads(artifact.model_card) == {"data": "synthetic", "metrics": {"acc": 0.5}}
