from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

PAGE = "/configuration/monitoring/"


def _admin_client(hospital, role=Role.PLATFORM_ADMIN):
    from django.test import Client

    client = Client()
    client.force_login(member_of(hospital, role))
    return client


def test_the_page_shows_tasks_that_ran(hospital_a, django_capture_on_commit_callbacks):
    # Given a notice delivered by its (eager) task, so the task figures have a run
    admin = member_of(hospital_a, Role.HOSPITAL_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(admin).post("/api/v1/notices/", {"title": "t", "body": "b", "roles": ["doctor"]}, format="json")
    # when a platform admin opens monitoring
    response = _admin_client(hospital_a).get(PAGE)
    # then the task is listed with its figures, and the dependencies are checked
    assert response.status_code == 200
    assert b'data-task="realtime.notice_deliver"' in response.content
    assert b'data-dependency="database"' in response.content


def test_the_panel_refreshes_alone(hospital_a):
    response = _admin_client(hospital_a).get(PAGE + "panel/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b'data-testid="monitoring-dependencies"' in response.content
    assert b"<html" not in response.content


def test_hospital_admins_may_look(hospital_a):
    assert _admin_client(hospital_a, Role.HOSPITAL_ADMIN).get(PAGE).status_code == 200


def test_doctors_may_not(doctor_a):
    from django.test import Client

    client = Client()
    client.force_login(doctor_a)
    assert client.get(PAGE).status_code == 403


def test_monitoring_is_in_the_admins_navigation(hospital_a):
    response = _admin_client(hospital_a).get("/")
    assert PAGE.encode() in response.content
