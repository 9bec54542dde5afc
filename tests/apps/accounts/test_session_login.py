from apps.privacy.models import AuditEvent
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import PASSWORD, member_of


def test_web_admin_login_needs_a_csrf_token(doctor_a):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": doctor_a.username, "password": PASSWORD})
    assert response.status_code == 403


def test_web_admin_login_is_audited_on_the_users_hospital(client, doctor_a, hospital_a):
    response = client.post("/login/", {"username": doctor_a.username, "password": PASSWORD})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.session_login")
    assert (event.actor_id, event.hospital_id, event.outcome) == (doctor_a.pk, hospital_a.pk, "success")


def test_failed_web_admin_login_is_audited(client, doctor_a):
    client.post("/login/", {"username": doctor_a.username, "password": "nope"})
    event = AuditEvent.objects.get(action="auth.session_login")
    assert (event.outcome, event.detail["username"]) == ("denied", doctor_a.username)


def test_platform_admin_visiting_another_hospital_is_audited_there(hospital_a, hospital_b):
    # Given a platform admin whose home is hospital A
    admin = member_of(hospital_a, Role.PLATFORM_ADMIN)
    # when they act inside hospital B
    response = client_for(admin).get("/api/v1/auth/me/", HTTP_X_HOSPITAL="hospital-b")
    # then they may, as a platform admin, and B's audit chain records it
    assert response.json()["hospital"] == "hospital-b"
    event = AuditEvent.objects.get(action="tenancy.platform_admin_access")
    assert (event.hospital_id, event.actor_id) == (hospital_b.pk, admin.pk)


def test_web_admin_login_locks_like_the_api(client, doctor_a, hospital_a, django_capture_on_commit_callbacks):
    # Given the platform's lockout threshold at 3
    from apps.configuration.services import setting_set

    with django_capture_on_commit_callbacks(execute=True):
        setting_set(key="accounts.login_failure_limit", value=3, actor=member_of(hospital_a, Role.PLATFORM_ADMIN),
                    role=Role.PLATFORM_ADMIN, hospital_id=None)
    # when three wrong passwords are tried through the web form
    for _attempt in range(3):
        client.post("/login/", {"username": doctor_a.username, "password": "guess"})
    # then the right password is refused too, with the lockout message
    response = client.post("/login/", {"username": doctor_a.username, "password": PASSWORD})
    assert response.status_code == 200
    assert b'data-testid="login-locked"' in response.content
    assert AuditEvent.objects.filter(action="auth.session_login", detail__reason="locked").count() == 1
