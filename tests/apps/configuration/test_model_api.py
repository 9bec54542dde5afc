from apps.configuration.models import ModelDeployment
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of
from tests.support.tiny_models import agreement, predict_labels, synthetic_points

from .conftest import OTHER_TASK, TASK

BASE = "/api/v1/configuration"


def test_platform_admin_registers_a_model_through_the_api(storage, hospital_a):
    admin = member_of(hospital_a, Role.PLATFORM_ADMIN)
    response = client_for(admin).post(f"{BASE}/models/", {
        "task": TASK, "name": "diagonal", "version": "v9", "path": "v2/model.keras",
        "metrics": {"accuracy": 0.97}, "training_data": "synthetic"}, format="json")
    assert response.status_code == 201, response.json()
    assert len(response.json()["checksum_sha256"]) == 64


def test_hospital_admin_cannot_register_models(storage, hospital_a):
    admin = member_of(hospital_a, Role.HOSPITAL_ADMIN)
    response = client_for(admin).post(f"{BASE}/models/", {"task": TASK, "name": "d", "version": "1",
                                                          "path": "v1/model.keras"}, format="json")
    assert response.status_code == 403


def test_registering_a_missing_file_is_a_400(storage, hospital_a):
    admin = member_of(hospital_a, Role.PLATFORM_ADMIN)
    response = client_for(admin).post(f"{BASE}/models/", {"task": TASK, "name": "d", "version": "1",
                                                          "path": "nope/model.keras"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "artifact_missing"


def test_activate_then_list_then_rollback_through_the_api(registered, hospital_a):
    client = client_for(member_of(hospital_a, Role.HOSPITAL_ADMIN))
    for version in ("v1", "v2"):
        response = client.post(f"{BASE}/deployments/{TASK}/activate/", {"artifact": registered[version].pk},
                               format="json")
        assert response.status_code == 201, response.json()
    current = client.get(f"{BASE}/deployments/").json()
    assert [(d["task"], d["mode"], d["artifact"]["version"]) for d in current] == [(TASK, "active", "v2")]
    assert client.post(f"{BASE}/deployments/{TASK}/rollback/").json()["artifact"]["version"] == "v1"
    history = client.get(f"{BASE}/deployments/", {"task": TASK}).json()
    assert [d["artifact"]["version"] for d in history] == ["v1", "v2", "v1"]


def test_activating_for_the_wrong_task_through_the_api_is_a_400(registered, hospital_a):
    client = client_for(member_of(hospital_a, Role.HOSPITAL_ADMIN))
    response = client.post(f"{BASE}/deployments/{OTHER_TASK}/activate/", {"artifact": registered["v1"].pk},
                           format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wrong_task"


def test_activating_an_unknown_model_is_a_404(registered, hospital_a):
    client = client_for(member_of(hospital_a, Role.HOSPITAL_ADMIN))
    response = client.post(f"{BASE}/deployments/{TASK}/activate/", {"artifact": 999999}, format="json")
    assert response.status_code == 404


def test_rollback_with_nothing_before_is_a_409(registered, hospital_a):
    client = client_for(member_of(hospital_a, Role.HOSPITAL_ADMIN))
    client.post(f"{BASE}/deployments/{TASK}/activate/", {"artifact": registered["v1"].pk}, format="json")
    response = client.post(f"{BASE}/deployments/{TASK}/rollback/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "nothing_to_roll_back"


def test_a_doctor_cannot_activate_through_the_api(registered, doctor_a):
    response = client_for(doctor_a).post(f"{BASE}/deployments/{TASK}/activate/", {"artifact": registered["v1"].pk},
                                         format="json")
    assert response.status_code == 403


def test_shadow_summary_shows_the_difference(registered, hospital_a, pool):
    client = client_for(member_of(hospital_a, Role.HOSPITAL_ADMIN))
    client.post(f"{BASE}/deployments/{TASK}/activate/", {"artifact": registered["v1"].pk}, format="json")
    client.post(f"{BASE}/deployments/{TASK}/activate/", {"artifact": registered["v2"].pk, "mode": "shadow"},
                format="json")
    with tenant_context(hospital_a.pk):
        for seed in range(3):
            points, _ = synthetic_points(50, seed=seed)
            pool.run(TASK, points, predict=predict_labels, compare=agreement, subject=("case", seed))
    summary = client.get(f"{BASE}/deployments/{TASK}/shadow/").json()
    assert (summary["active"], summary["shadow"], summary["comparisons"]) == (
        f"diagonal:v1 ({TASK})", f"diagonal:v2 ({TASK})", 3)
    assert 0.0 <= summary["mean_agreement"] <= 1.0
    assert summary["active_ms_p50"] > 0 and summary["shadow_ms_p50"] > 0
    assert client.delete(f"{BASE}/deployments/{TASK}/shadow/").status_code == 204
    with tenant_context(hospital_a.pk):
        assert not ModelDeployment.objects.filter(mode="shadow", retired_at__isnull=True).exists()


def test_algorithms_list_shows_implementation_and_serving_models(registered, hospital_a, doctor_a):
    client_for(member_of(hospital_a, Role.HOSPITAL_ADMIN)).post(
        f"{BASE}/deployments/{TASK}/activate/", {"artifact": registered["v2"].pk}, format="json")
    rows = {row["task"]: row for row in client_for(doctor_a).get(f"{BASE}/algorithms/").json()}
    assert rows[TASK]["active_implementation"] == "keras_mlp"
    assert rows[TASK]["active_model"] == f"diagonal:v2 ({TASK})"
    assert rows[TASK]["shadow_model"] is None
