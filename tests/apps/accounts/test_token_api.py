from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.privacy.models import AuditEvent
from apps.tenancy.models import Membership
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import PASSWORD, member_of

TOKEN_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/auth/me/"


def _login(client, username, password=PASSWORD):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json")


def test_password_login_returns_a_bearer_token_that_works(api_client, doctor_a):
    # Given a doctor's username and password, when they ask for a token
    response = _login(api_client, doctor_a.username)
    # then they get one, and it authenticates them at their hospital
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["token"].startswith("hpt_") and body["token_type"] == "Bearer"
    me = APIClient(HTTP_AUTHORIZATION=f"Bearer {body['token']}").get(ME_URL)
    assert me.status_code == 200
    assert (me.json()["username"], me.json()["hospital"], me.json()["role"]) == (
        doctor_a.username, "hospital-a", Role.DOCTOR)


def test_only_the_token_hash_is_stored(api_client, doctor_a):
    raw = _login(api_client, doctor_a.username).json()["token"]
    stored = ApiToken.objects.get(user=doctor_a)
    assert raw not in (stored.key_hash, stored.prefix)
    assert len(stored.key_hash) == 64


def test_wrong_password_is_a_clear_401(api_client, doctor_a):
    response = _login(api_client, doctor_a.username, "wrong")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert AuditEvent.objects.filter(action="auth.login", outcome="denied").count() == 1


def test_missing_fields_name_each_field(api_client, db):
    response = api_client.post(TOKEN_URL, {"username": ""}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"username", "password"}


def test_malformed_json_is_a_400_not_a_500(api_client, db):
    response = api_client.post(TOKEN_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_repeated_failures_lock_the_account_even_for_the_right_password(api_client, doctor_a, hospital_a,
                                                                        django_capture_on_commit_callbacks):
    # Given the platform's lockout threshold set to 3 in configuration
    from apps.configuration.services import setting_set

    with django_capture_on_commit_callbacks(execute=True):
        setting_set(key="accounts.login_failure_limit", value=3, actor=member_of(hospital_a, Role.PLATFORM_ADMIN),
                    role=Role.PLATFORM_ADMIN, hospital_id=None)
    for _attempt in range(3):
        assert _login(api_client, doctor_a.username, "guess").status_code == 401
    # when the right password comes after the limit
    response = _login(api_client, doctor_a.username)
    # then the account stays locked for the window
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "login_locked"


def test_login_endpoint_is_throttled_per_client(api_client, doctor_a, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    statuses = [_login(api_client, doctor_a.username).status_code for _attempt in range(4)]
    assert statuses == [201, 201, 201, 429]


def test_expired_token_is_refused_with_its_reason(doctor_a):
    client = client_for(doctor_a)
    ApiToken.objects.filter(user=doctor_a).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_revoked_token_is_refused_at_once(doctor_a):
    # Given a logged-in client, when it revokes its token
    client = client_for(doctor_a)
    assert client.post("/api/v1/auth/token/revoke/").status_code == 204
    # then the same token no longer works
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_revoked"


def test_unknown_token_is_refused(db):
    response = APIClient(HTTP_AUTHORIZATION="Bearer hpt_not-a-real-token").get(ME_URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_no_credentials_is_a_401_in_the_error_shape(api_client, db):
    response = api_client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_revoked_membership_loses_the_hospital_at_once(doctor_a):
    client = client_for(doctor_a)
    Membership.objects.filter(user=doctor_a).update(active=False, revoked_at=timezone.now())
    assert client.get(ME_URL).json()["hospital"] is None


def test_user_of_two_hospitals_picks_one_with_a_header(hospital_a, hospital_b):
    user = member_of(hospital_a, Role.DOCTOR)
    Membership.objects.create(user=user, hospital=hospital_b, role=Role.HOSPITAL_ADMIN)
    client = client_for(user)
    me = client.get(ME_URL, HTTP_X_HOSPITAL="hospital-b").json()
    assert (me["hospital"], me["role"]) == ("hospital-b", Role.HOSPITAL_ADMIN)


def test_asking_for_a_foreign_hospital_is_refused(doctor_a, hospital_b):
    response = client_for(doctor_a).get(ME_URL, HTTP_X_HOSPITAL="hospital-b")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "hospital_not_allowed"


@pytest.mark.parametrize("header", ["Bearer", "Token abc", "Basic Zm9vOmJhcg=="])
def test_malformed_authorization_headers_are_not_a_500(db, header):
    response = APIClient(HTTP_AUTHORIZATION=header).get(ME_URL)
    assert response.status_code in (401, 403)
    assert "error" in response.json()
