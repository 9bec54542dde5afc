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
