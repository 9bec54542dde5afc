import pytest
from django_celery_beat.models import PeriodicTask

from apps.privacy.models import AuditEvent
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

URL = "/api/v1/configuration/periodic-tasks/"
TASK = "realtime.notice_deliver"


@pytest.fixture
def platform_admin_client(hospital_a):
    return client_for(member_of(hospital_a, Role.PLATFORM_ADMIN))


def _create(client, **overrides):
    body = {"name": "nightly", "task": TASK, "crontab": {"minute": "0", "hour": "2"}, "kwargs": {"hospital_id": 1,
                                                                                                 "notice_id": 1}}
    body.update(overrides)
    return client.post(URL, body, format="json")


def test_platform_admin_creates_and_lists_a_job(platform_admin_client):
    response = _create(platform_admin_client)
    assert response.status_code == 201, response.json()
    rows = platform_admin_client.get(URL).json()
    assert [(r["name"], r["task"], r["crontab"]["hour"], r["enabled"]) for r in rows] == [("nightly", TASK, "2", True)]
    assert AuditEvent.objects.filter(action="configuration.periodic_task_save").count() == 1


def test_changing_the_schedule_is_audited_with_old_and_new(platform_admin_client):
    job_id = _create(platform_admin_client).json()["id"]
    response = platform_admin_client.patch(f"{URL}{job_id}/", {"interval": {"every": 15, "period": "minutes"},
                                                               "enabled": False}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["interval"] == {"every": 15, "period": "minutes"} and response.json()["crontab"] is None
    event = AuditEvent.objects.filter(action="configuration.periodic_task_save").order_by("occurred_at").last()
    assert event.detail["old"]["crontab"]["hour"] == "2" and event.detail["new"]["enabled"] is False


@pytest.mark.parametrize("overrides, field", [
    ({"task": "no.such.task"}, "task"),
    ({"crontab": {"minute": "61"}}, "crontab"),
    ({"crontab": {"hour": "25"}}, "crontab"),
    ({"crontab": {"second": "1"}}, "crontab"),
    ({"crontab": None, "interval": {"every": 0, "period": "minutes"}}, "interval"),
    ({"crontab": None, "interval": {"every": 1, "period": "seconds"}}, "interval"),
    ({"crontab": None, "interval": {"every": 5, "period": "fortnights"}}, "interval"),
])
def test_invalid_jobs_are_refused_and_nothing_is_saved(platform_admin_client, overrides, field):
    body = {k: v for k, v in overrides.items() if v is not None}
    if overrides.get("crontab", "") is None:
        response = platform_admin_client.post(URL, {"name": "n", "task": TASK, **body}, format="json")
    else:
        response = _create(platform_admin_client, **body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not PeriodicTask.objects.filter(name__in=["n", "nightly"]).exists()


def test_a_hospital_admin_may_not_touch_periodic_jobs(hospital_a):
    client = client_for(member_of(hospital_a, Role.HOSPITAL_ADMIN))
    assert client.get(URL).status_code == 403
    assert _create(client).status_code == 403


def test_unknown_job_is_a_404(platform_admin_client):
    assert platform_admin_client.patch(f"{URL}99999/", {"enabled": False}, format="json").status_code == 404
