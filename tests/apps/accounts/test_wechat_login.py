from rest_framework.test import APIClient

from apps.accounts.models import WeChatAccount
from apps.tenancy.models import Membership
from apps.tenancy.roles import Role

WECHAT_URL = "/api/v1/auth/wechat/"


def _wechat_login(code, hospital="hospital-a"):
    return APIClient().post(WECHAT_URL, {"code": code, "hospital": hospital}, format="json")


def test_first_login_makes_a_patient_account_and_returns_a_token(fake_wechat, hospital_a):
    # Given a fresh wx.login code
    code, openid = fake_wechat.issue_code()
    # when the mini program logs in with it
    response = _wechat_login(code)
    # then a new patient account at the hospital gets a token that works
    assert response.status_code == 201, response.json()
    assert response.json()["new_account"] is True
    account = WeChatAccount.objects.get()
    assert account.openid == openid
    assert Membership.objects.get(user=account.user).role == Role.PATIENT
    me = APIClient(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}").get("/api/v1/auth/me/")
    assert (me.json()["hospital"], me.json()["role"]) == ("hospital-a", Role.PATIENT)
    # and the server called WeChat with our app's credentials
    assert fake_wechat.requests[-1]["params"]["appid"] == "wx-test-app"


def test_the_same_openid_maps_to_the_same_account(fake_wechat, hospital_a):
    first_code, openid = fake_wechat.issue_code()
    first = _wechat_login(first_code)
    second_code, _ = fake_wechat.issue_code(openid)
    second = _wechat_login(second_code)
    assert second.status_code == 201
    assert second.json()["new_account"] is False
    assert first.json()["token"] != second.json()["token"]
    assert WeChatAccount.objects.count() == 1


def test_openid_is_not_stored_in_plaintext(fake_wechat, hospital_a):
    from django.db import connection

    code, openid = fake_wechat.issue_code()
    _wechat_login(code)
    with connection.cursor() as cursor:
        cursor.execute("SELECT openid, openid_index, session_key FROM accounts_wechataccount")
        raw_row = cursor.fetchone()
    assert all(openid not in column for column in raw_row)
    assert raw_row[0].startswith("enc:v1:")


def test_an_invalid_code_is_a_400_the_client_can_act_on(fake_wechat, hospital_a):
    response = _wechat_login("made-up-code")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_code_invalid"
    assert WeChatAccount.objects.count() == 0


def test_a_reused_code_is_refused(fake_wechat, hospital_a):
    code, _ = fake_wechat.issue_code()
    assert _wechat_login(code).status_code == 201
    response = _wechat_login(code)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_code_invalid"


def test_wechat_rate_limit_becomes_a_429(fake_wechat, hospital_a):
    response = _wechat_login("too-fast")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "wechat_rate_limited"


def test_wechat_system_busy_becomes_a_503(fake_wechat, hospital_a):
    response = _wechat_login("busy")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "wechat_busy"


def test_a_blocked_wechat_user_is_told_so(fake_wechat, hospital_a):
    response = _wechat_login("risky")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wechat_user_blocked"


def test_an_unreadable_wechat_answer_becomes_a_503(fake_wechat, hospital_a):
    response = _wechat_login("garbage")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "wechat_unavailable"


def test_wrong_app_secret_is_reported_as_a_server_side_problem(fake_wechat, hospital_a, settings):
    settings.WECHAT_APP_SECRET = "not-the-secret"
    code, _ = fake_wechat.issue_code()
    response = _wechat_login(code)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "wechat_error"


def test_unreachable_wechat_becomes_a_503(hospital_a, settings):
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"
    settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET = "wx-test-app", "wx-test-secret"
    response = _wechat_login("any")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "wechat_unavailable"


def test_unknown_hospital_is_a_404_before_calling_wechat(fake_wechat, db):
    code, _ = fake_wechat.issue_code()
    response = _wechat_login(code, hospital="nowhere")
    assert response.status_code == 404
    assert fake_wechat.requests == []


def test_missing_code_names_the_field(fake_wechat, hospital_a):
    response = APIClient().post(WECHAT_URL, {"hospital": "hospital-a"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["code"]
