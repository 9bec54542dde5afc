"""The algorithms-and-models page: the implementation in use per task, the active and
shadow model, activation, rollback, stopping a shadow, the shadow summary and the
registered models, all with real (tiny, trained) Keras artifacts."""

import re

import pytest
from django.urls import reverse

from apps.configuration.model_selectors import shadow_summary
from apps.configuration.models import HospitalSettingValue, ModelDeployment, ShadowComparison
from apps.configuration.selectors import setting_value
from apps.privacy.models import AuditEvent, AuditOutcome
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.apps.webadmin.pages import text_of
from tests.factories import member_of
from tests.support.tiny_models import agreement, predict_labels, synthetic_points

from .conftest import OTHER_TASK, TASK

PAGE = reverse("configuration_web:algorithms")


def action_url(name, task=TASK):
    return reverse(f"configuration_web:{name}", args=[task])


@pytest.fixture
def admin_client(client, hospital_a):
    client.force_login(member_of(hospital_a, Role.HOSPITAL_ADMIN))
    return client


def current(hospital, task=TASK) -> dict[str, str]:
    """{mode: version} of the hospital's serving models for `task`."""
    with tenant_context(hospital.pk):
        return {d.mode: d.artifact.version for d in ModelDeployment.objects.filter(task=task, retired_at__isnull=True)}


def task_panel(html: bytes, task=TASK) -> str:
    """The HTML of one task's panel."""
    page = html.decode()
    start = page.index(f'data-task="{task}"')
    return page[start:page.index("</section>", start)]


def messages_on(html: bytes) -> list[str]:
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r'data-testid="message">(.*?)</p>', html.decode(), re.S)]


def activate(client, artifact, mode="active", task=TASK):
    return client.post(action_url("model-activate", task), {"artifact": artifact.pk, "mode": mode})


def test_page_shows_each_task_its_implementation_and_the_registered_models(admin_client, registered):
    # When
    response = admin_client.get(PAGE)

    # Then
    assert response.status_code == 200
    panel = task_panel(response.content)
    assert "tiny MLP" in panel and 'data-testid="activate-form"' in panel
    assert text_of(task_panel(response.content), "active-model") == "无"
    html = response.content.decode()
    v2 = registered["v2"]
    assert f'title="{v2.checksum_sha256}" data-testid="artifact-checksum">{v2.checksum_sha256[:12]}<' in html
    assert "accuracy 0.97" in html and "512 synthetic points" in html


def test_a_doctor_sees_the_page_without_any_controls_and_cannot_post(client, doctor_a, registered, hospital_a):
    # Given
    client.force_login(doctor_a)

    # When
    page = client.get(PAGE)
    response = activate(client, registered["v1"])

    # Then
    assert page.status_code == 200
    assert "<form" not in task_panel(page.content)
    assert response.status_code == 403
    assert current(hospital_a) == {}


def test_admin_activates_a_model_and_sees_it_serving(admin_client, registered, hospital_a):
    # When
    response = activate(admin_client, registered["v1"])
    page = admin_client.get(response.url)

    # Then
    assert response.status_code == 302 and response.url == PAGE + f"#task-{TASK}"
    assert current(hospital_a) == {"active": "v1"}
    assert text_of(task_panel(page.content), "active-model").startswith("diagonal v1")
    assert messages_on(page.content) == [f"diagonal:v1 ({TASK}) 现在为本院的 {TASK} 提供服务。"]


def test_admin_runs_a_model_in_shadow_then_stops_it(admin_client, registered, hospital_a):
    # Given
    activate(admin_client, registered["v1"])

    # When
    activate(admin_client, registered["v2"], mode="shadow")
    with_shadow = admin_client.get(PAGE)
    stop = admin_client.post(action_url("shadow-stop"))

    # Then
    assert text_of(task_panel(with_shadow.content), "shadow-model").startswith("diagonal v2")
    assert 'data-testid="shadow-stop"' in task_panel(with_shadow.content)
    assert stop.status_code == 302
    assert current(hospital_a) == {"active": "v1"}
    assert messages_on(admin_client.get(PAGE).content) == [f"{TASK} 的影子运行已停止。"]


def test_rollback_puts_back_the_previous_model(admin_client, registered, hospital_a):
    # Given
    activate(admin_client, registered["v1"])
    activate(admin_client, registered["v2"])

    # When
    response = admin_client.post(action_url("model-rollback"))

    # Then
    assert response.status_code == 302
    assert current(hospital_a) == {"active": "v1"}
    history = task_panel(admin_client.get(PAGE).content)
    assert history.count('data-mode="active"') == 3


def test_rollback_with_nothing_earlier_shows_the_services_message(admin_client, registered, hospital_a):
    # Given: v1 serving, its success message already seen
    admin_client.get(activate(admin_client, registered["v1"]).url)

    # When
    response = admin_client.post(action_url("model-rollback"))

    # Then
    assert response.status_code == 409
    assert messages_on(response.content) == [f"没有可回滚到的更早的 {TASK} 模型。"]
    assert current(hospital_a) == {"active": "v1"}


def test_activating_a_model_of_another_task_shows_the_error_and_changes_nothing(admin_client, registered, hospital_a):
    # When
    response = activate(admin_client, registered["v1"], task=OTHER_TASK)

    # Then
    assert response.status_code == 400
    assert messages_on(response.content) == [f"diagonal:v1 ({TASK}) 是 {TASK} 模型，不是 {OTHER_TASK} 模型。"]
    assert current(hospital_a, OTHER_TASK) == {}
    refusal = AuditEvent.objects.get(action="configuration.model_active")
    assert refusal.outcome == AuditOutcome.INVALID


def test_activating_without_choosing_a_model_is_refused(admin_client, registered, hospital_a):
    # When
    response = admin_client.post(action_url("model-activate"), {"mode": "active"})

    # Then
    assert response.status_code == 400
    assert messages_on(response.content) == ["请选择一个已注册的模型，以及它是正式服务还是影子运行。"]
    assert current(hospital_a) == {}


def test_an_unknown_task_is_a_404(admin_client, registered):
    # When
    response = activate(admin_client, registered["v1"], task="no_such_task")

    # Then
    assert response.status_code == 404


def test_shadow_summary_shows_agreement_latency_and_disagreements(admin_client, registered, hospital_a, pool,
                                                                  django_capture_on_commit_callbacks):
    # Given: v1 serving, v2 in shadow, and real predictions of both on the same points
    with django_capture_on_commit_callbacks(execute=True):
        activate(admin_client, registered["v1"])
        activate(admin_client, registered["v2"], mode="shadow")
    with tenant_context(hospital_a.pk):
        for seed in range(3):
            points, _labels = synthetic_points(40, seed=seed)
            pool.run(TASK, points, predict=predict_labels, compare=agreement, subject=("lab_report", seed))
        stored = list(ShadowComparison.objects.all())
        summary = shadow_summary(task=TASK)

    # When
    response = admin_client.get(PAGE)

    # Then
    panel = task_panel(response.content)
    assert 'data-testid="shadow-summary"' in panel
    assert re.search(r'data-figure="comparisons">.*?data-testid="figure-value">3<', panel, re.S)
    mean = round(summary["mean_agreement"] / 1 * 100)
    assert re.search(rf'data-figure="mean_agreement">.*?figure-value">{mean}%<', panel, re.S)
    assert re.search(r'data-figure="active_ms_p50">.*?figure-value">[\d.]+ ms<', panel, re.S)
    disagreeing = [c for c in stored if c.agreement < 1.0]
    assert disagreeing, "v1 is undertrained: it must disagree with v2 somewhere"
    assert panel.count("lab_report ") == len(disagreeing)


def test_admin_chooses_the_implementation_for_a_task(admin_client, registered, hospital_a,
                                                    django_capture_on_commit_callbacks):
    # When
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(action_url("implementation-choose"), {"implementation": "keras_mlp"})

    # Then: it is the setting algorithm.<task>, stored for this hospital
    assert response.status_code == 302
    with tenant_context(hospital_a.pk):
        assert HospitalSettingValue.objects.get(key=f"algorithm.{TASK}").value == "keras_mlp"
        assert setting_value(f"algorithm.{TASK}") == "keras_mlp"


def test_an_implementation_the_task_does_not_have_is_refused_by_the_service(admin_client, registered, hospital_a):
    # When
    response = admin_client.post(action_url("implementation-choose"), {"implementation": "paddle"})

    # Then
    assert response.status_code == 400
    assert messages_on(response.content) == ["必须是以下之一：keras_mlp。"]
    with tenant_context(hospital_a.pk):
        assert not HospitalSettingValue.objects.filter(key=f"algorithm.{TASK}").exists()
