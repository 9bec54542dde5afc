"""The settings page of the web admin: every setting with its effective value and
source, inline changes through htmx, refusals shown next to the row."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from apps.configuration.models import HospitalSettingValue, PlatformSettingValue
from apps.configuration.registry import declare
from apps.configuration.selectors import setting_value
from apps.privacy.models import AuditEvent, AuditOutcome
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import member_of

WINDOW = declare("testing.web_window_days", "int", default=14, minimum=1, maximum=90,
                 description="How many days ahead patients may book.")
RATIO = declare("testing.web_ratio", "float", default=0.5, minimum=0.0, maximum=1.0, description="test")
FLAG = declare("testing.web_flag", "bool", default=True, description="test")
ENGINE = declare("testing.web_engine", "choice", default="tesseract", choices=("tesseract", "rapidocr"),
                 description="test")
CUTOFF = declare("testing.web_cutoff", "time", default="15:00", description="test")
PERIOD = declare("testing.web_period", "int_range", default=[1, 7], minimum=0, maximum=365, description="test")
LABEL = declare("testing.web_label", "str", default="", description="test")
GLOBAL = declare("testing.web_global_limit", "int", default=5, minimum=1, maximum=10, description="test",
                 editable_by={Role.PLATFORM_ADMIN}, hospital_may_override=False)

PAGE = reverse("configuration_web:settings")
HTMX = {"HX-Request": "true"}


def set_url(key):
    return reverse("configuration_web:setting-set", args=[key])


def reset_url(key):
    return reverse("configuration_web:setting-reset", args=[key])


def row_url(key):
    return reverse("configuration_web:setting-row", args=[key])


class _SettingRows(HTMLParser):
    """What each settings row (`<tr data-setting=key>`) shows: texts by data-testid,
    the values its inputs and selects would post, and its forms' actions."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, dict] = {}
        self._row = None
        self._open: list[dict] = []
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-setting" in attrs:
            self._row = self.rows.setdefault(attrs["data-setting"], {"texts": {}, "values": {}, "forms": []})
            return
        if self._row is None:
            return
        if tag == "form":
            self._row["forms"].append(attrs.get("action"))
        if tag == "input" and attrs.get("name") not in (None, "csrfmiddlewaretoken"):
            self._row["values"][attrs["name"]] = attrs.get("value")
        if tag == "select":
            self._select = attrs.get("name")
        if tag == "option" and self._select and "selected" in attrs:
            self._row["values"][self._select] = attrs.get("value")
        if tag not in ("input", "br", "option"):
            self._open.append({"tag": tag, "test_id": attrs.get("data-testid"), "text": []})

    def handle_endtag(self, tag):
        if self._row is None:
            return
        if tag == "tr" and not any(element["tag"] == "tr" for element in self._open):
            self._row = None
            return
        if tag == "select":
            self._select = None
        if tag in ("input", "br", "option") or not self._open:
            return
        element = self._open.pop()
        if element["test_id"]:
            text = " ".join("".join(element["text"]).split())
            self._row["texts"].setdefault(element["test_id"], text)

    def handle_data(self, data):
        for element in self._open:
            element["text"].append(data)


def rows_in(html: bytes) -> dict[str, dict]:
    parser = _SettingRows()
    parser.feed(html.decode())
    parser.close()
    return parser.rows


@pytest.fixture
def hospital_admin(hospital_a):
    return member_of(hospital_a, Role.HOSPITAL_ADMIN)


@pytest.fixture
def platform_admin(hospital_a):
    return member_of(hospital_a, Role.PLATFORM_ADMIN)


@pytest.fixture
def admin_client(client, hospital_admin):
    client.force_login(hospital_admin)
    return client


def stored_value(hospital, key):
    with tenant_context(hospital.pk):
        return HospitalSettingValue.objects.filter(key=key).values_list("value", flat=True).first()


def effective_value(hospital, key):
    with tenant_context(hospital.pk):
        return setting_value(key)


# --- reading ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.COMPLIANCE_OFFICER])
def test_staff_who_are_not_administrators_see_every_setting_read_only(client, hospital_a, role):
    # Given
    client.force_login(member_of(hospital_a, role))

    # When
    response = client.get(PAGE)

    # Then: every declared setting with its value and source, and no form to change one
    assert response.status_code == 200
    rows = rows_in(response.content)
    assert rows[WINDOW.key]["texts"]["setting-value"] == "14"
    assert rows[WINDOW.key]["texts"]["setting-source"] == "默认"
    assert rows[PERIOD.key]["texts"]["setting-value"] == "1 – 7"
    assert rows[FLAG.key]["texts"]["setting-value"] == "是"
    assert "How many days ahead patients may book." in response.content.decode()
    assert "accounts.login_failure_limit" in rows
    assert all(row["forms"] == [] for row in rows.values())


def test_administrator_gets_an_inline_form_per_editable_setting(admin_client):
    # When
    rows = rows_in(admin_client.get(PAGE).content)

    # Then: the current value fills the form; platform-only settings stay read-only
    assert rows[WINDOW.key]["forms"] == [set_url(WINDOW.key)]
    assert rows[WINDOW.key]["values"] == {"value": "14"}
    assert rows[PERIOD.key]["values"] == {"low": "1", "high": "7"}
    assert rows[GLOBAL.key]["forms"] == []
    assert rows[GLOBAL.key]["texts"]["setting-read-only"] == "您的角色不能修改此设置。"


def test_platform_admin_chooses_the_scope_and_edits_platform_only_settings(client, platform_admin):
    # Given
    client.force_login(platform_admin)

    # When
    rows = rows_in(client.get(PAGE).content)

    # Then
    assert rows[WINDOW.key]["values"] == {"value": "14", "scope": "hospital"}
    assert rows[GLOBAL.key]["forms"] == [set_url(GLOBAL.key)]
    assert "scope" not in rows[GLOBAL.key]["values"]


def test_patients_may_not_open_the_settings_page(client, hospital_a):
    # Given
    client.force_login(member_of(hospital_a, Role.PATIENT))

    # When
    response = client.get(PAGE)

    # Then
    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    # When
    response = client.get(PAGE)

    # Then
    assert response.status_code == 302
    assert response.url.startswith(reverse("webadmin:login"))


def test_an_expired_session_answers_htmx_with_a_redirect_header(client, db):
    # When
    response = client.post(set_url(WINDOW.key), {"value": "30"}, headers=HTMX)

    # Then
    assert response.status_code == 401
    assert response["HX-Redirect"].startswith(reverse("webadmin:login"))


def test_an_unknown_setting_is_a_404(admin_client):
    # When
    response = admin_client.post(set_url("testing.no_such_setting"), {"value": "1"}, headers=HTMX)

    # Then
    assert response.status_code == 404


# --- changing -----------------------------------------------------------------------------


def test_inline_change_redirects_to_the_updated_row(admin_client, hospital_a, django_capture_on_commit_callbacks):
    # When
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(set_url(WINDOW.key), {"value": "30"}, headers=HTMX)
    row_response = admin_client.get(response.url, headers=HTMX)

    # Then: stored for this hospital, and the row htmx swaps in says so
    assert response.status_code == 302 and response.url == row_url(WINDOW.key)
    assert stored_value(hospital_a, WINDOW.key) == 30
    row = rows_in(row_response.content)[WINDOW.key]
    assert row["texts"]["setting-value"] == "30"
    assert row["texts"]["setting-source"] == "本院"
    assert row["texts"]["row-message"] == "testing.web_window_days 在本院现为 30。"
    assert row["values"]["value"] == "30"
    assert row["forms"] == [set_url(WINDOW.key), reset_url(WINDOW.key)]


def test_the_change_is_audited_with_old_and_new_value(admin_client, hospital_admin, django_capture_on_commit_callbacks):
    # When
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(set_url(WINDOW.key), {"value": "30"}, headers=HTMX)

    # Then
    event = AuditEvent.objects.get(action="configuration.setting_set", object_id=WINDOW.key)
    assert (event.actor_id, event.role, event.detail["new"]) == (hospital_admin.pk, Role.HOSPITAL_ADMIN, 30)


@pytest.mark.parametrize("setting, posted, stored", [
    (WINDOW, {"value": "30"}, 30),
    (RATIO, {"value": "0.25"}, 0.25),
    (FLAG, {"value": "false"}, False),
    (ENGINE, {"value": "rapidocr"}, "rapidocr"),
    (CUTOFF, {"value": "09:30"}, "09:30"),
    (PERIOD, {"low": "3", "high": "30"}, [3, 30]),
    (LABEL, {"value": "东院区"}, "东院区"),
])
def test_form_strings_reach_the_service_as_the_settings_type(admin_client, hospital_a, setting, posted, stored,
                                                             django_capture_on_commit_callbacks):
    # When
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(set_url(setting.key), posted, headers=HTMX)

    # Then
    assert response.status_code == 302
    assert stored_value(hospital_a, setting.key) == stored


def test_out_of_bounds_value_shows_the_services_error_and_changes_nothing(admin_client, hospital_a):
    # When
    response = admin_client.post(set_url(WINDOW.key), {"value": "91"}, headers=HTMX)

    # Then: the row comes back with the message and the value typed, nothing is stored
    assert response.status_code == 400
    row = rows_in(response.content)[WINDOW.key]
    assert row["texts"]["setting-error"] == "不能大于 90。"
    assert row["values"] == {"value": "91"}
    assert row["texts"]["setting-value"] == "14"
    assert stored_value(hospital_a, WINDOW.key) is None
    refusal = AuditEvent.objects.get(action="configuration.setting_set", object_id=WINDOW.key)
    assert (refusal.outcome, refusal.detail["attempted"]) == (AuditOutcome.INVALID, 91)


def test_a_low_end_above_the_high_end_is_refused_with_both_numbers_kept(admin_client, hospital_a):
    # When
    response = admin_client.post(set_url(PERIOD.key), {"low": "30", "high": "3"}, headers=HTMX)

    # Then
    assert response.status_code == 400
    row = rows_in(response.content)[PERIOD.key]
    assert row["texts"]["setting-error"] == "下限不能大于上限。"
    assert row["values"] == {"low": "30", "high": "3"}
    assert stored_value(hospital_a, PERIOD.key) is None


def test_text_that_is_not_a_number_is_refused_before_the_service(admin_client, hospital_a):
    # When
    response = admin_client.post(set_url(WINDOW.key), {"value": "many"}, headers=HTMX)

    # Then
    assert response.status_code == 400
    assert rows_in(response.content)[WINDOW.key]["texts"]["setting-error"] == "输入整数。"
    assert not AuditEvent.objects.filter(action="configuration.setting_set").exists()


def test_a_doctor_cannot_post_changes(client, doctor_a, hospital_a):
    # Given
    client.force_login(doctor_a)

    # When
    change = client.post(set_url(WINDOW.key), {"value": "30"}, headers=HTMX)
    reset = client.post(reset_url(WINDOW.key), {"scope": "hospital"}, headers=HTMX)

    # Then
    assert (change.status_code, reset.status_code) == (403, 403)
    assert stored_value(hospital_a, WINDOW.key) is None


def test_a_hospital_admin_cannot_set_a_platform_wide_value(admin_client, hospital_a):
    # When: the scope a hospital admin's form never offers, posted anyway
    response = admin_client.post(set_url(WINDOW.key), {"value": "30", "scope": "platform"}, headers=HTMX)

    # Then
    assert response.status_code == 403
    row = rows_in(response.content)[WINDOW.key]
    assert row["texts"]["setting-error"] == "只有平台管理员可以修改全平台的值。"
    assert row["values"]["value"] == "30"
    assert not PlatformSettingValue.objects.filter(key=WINDOW.key).exists()
    assert stored_value(hospital_a, WINDOW.key) is None


def test_a_hospital_admin_cannot_change_a_platform_only_setting(admin_client):
    # When
    response = admin_client.post(set_url(GLOBAL.key), {"value": "7"}, headers=HTMX)

    # Then
    assert response.status_code == 403
    assert not PlatformSettingValue.objects.filter(key=GLOBAL.key).exists()


def test_platform_admin_sets_a_platform_wide_value_every_hospital_inherits(client, platform_admin, hospital_b,
                                                                          django_capture_on_commit_callbacks):
    # Given
    client.force_login(platform_admin)

    # When
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(set_url(WINDOW.key), {"value": "21", "scope": "platform"}, headers=HTMX)
    row = rows_in(client.get(response.url).content)[WINDOW.key]

    # Then
    assert response.status_code == 302
    assert PlatformSettingValue.objects.get(key=WINDOW.key).value == 21
    assert effective_value(hospital_b, WINDOW.key) == 21
    assert (row["texts"]["setting-value"], row["texts"]["setting-source"]) == ("21", "平台")
    assert row["texts"]["row-message"] == "testing.web_window_days 在全平台现为 21。"


def test_platform_admin_changes_a_platform_only_setting_without_choosing_a_scope(
        client, platform_admin, django_capture_on_commit_callbacks):
    # Given
    client.force_login(platform_admin)

    # When
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(set_url(GLOBAL.key), {"value": "7"}, headers=HTMX)

    # Then
    assert response.status_code == 302
    assert PlatformSettingValue.objects.get(key=GLOBAL.key).value == 7


def test_reset_falls_back_to_the_inherited_value(admin_client, hospital_a, django_capture_on_commit_callbacks):
    # Given: a hospital value over a platform one
    PlatformSettingValue.objects.create(key=WINDOW.key, value=21)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(set_url(WINDOW.key), {"value": "30"}, headers=HTMX)
    assert rows_in(admin_client.get(PAGE).content)[WINDOW.key]["forms"] == [set_url(WINDOW.key), reset_url(WINDOW.key)]

    # When
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reset_url(WINDOW.key), {"scope": "hospital"}, headers=HTMX)
    row = rows_in(admin_client.get(response.url).content)[WINDOW.key]

    # Then: the platform's value shows again, and a hospital admin cannot remove that one
    assert response.status_code == 302
    assert stored_value(hospital_a, WINDOW.key) is None
    assert (row["texts"]["setting-value"], row["texts"]["setting-source"]) == ("21", "平台")
    assert row["texts"]["row-message"] == "testing.web_window_days 现使用继承的值。"
    assert row["forms"] == [set_url(WINDOW.key)]


def test_a_hospital_admin_cannot_reset_the_platform_value(admin_client):
    # Given
    PlatformSettingValue.objects.create(key=WINDOW.key, value=21)

    # When
    response = admin_client.post(reset_url(WINDOW.key), {"scope": "platform"}, headers=HTMX)

    # Then
    assert response.status_code == 403
    assert rows_in(response.content)[WINDOW.key]["texts"]["setting-error"] == "只有平台管理员可以修改全平台的值。"
    assert PlatformSettingValue.objects.filter(key=WINDOW.key).exists()


# --- without htmx ---------------------------------------------------------------------------


def test_without_htmx_a_change_redirects_to_the_page_with_a_message(admin_client, hospital_a,
                                                                   django_capture_on_commit_callbacks):
    # When
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(set_url(WINDOW.key), {"value": "30"})
    page = admin_client.get(PAGE)

    # Then
    assert response.status_code == 302 and response.url == PAGE + "#setting-testing-web_window_days"
    assert rows_in(page.content)[WINDOW.key]["texts"]["setting-value"] == "30"
    assert "testing.web_window_days 在本院现为 30。" in page.content.decode()


def test_without_htmx_a_refusal_renders_the_page_with_the_error_and_the_input(admin_client, hospital_a):
    # When
    response = admin_client.post(set_url(WINDOW.key), {"value": "0"})

    # Then
    assert response.status_code == 400
    row = rows_in(response.content)[WINDOW.key]
    assert row["texts"]["setting-error"] == "不能小于 1。"
    assert row["values"] == {"value": "0"}
    assert "testing.web_window_days 未修改，原因见该设置旁。" in response.content.decode()
    assert stored_value(hospital_a, WINDOW.key) is None
