"""The web admin through Django's test client: login, each role's dashboard, the
hospital switch, the htmx figures fragment, CSRF for htmx, and translation."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.privacy.models import AuditEvent, AuditOutcome
from apps.tenancy.middleware import SESSION_HOSPITAL_KEY
from apps.tenancy.models import Membership
from apps.tenancy.roles import Role
from tests.factories import PASSWORD, UserFactory, member_of

from .pages import figures_in, navigation_in, text_of

DASHBOARD = reverse("webadmin:dashboard")
LOGIN = reverse("webadmin:login")
FIGURES = reverse("webadmin:dashboard-figures")
SWITCH = reverse("webadmin:switch-hospital")

BOOKING_ADMIN = ["booking_web:day", "booking_web:schedules", "booking_web:experts", "booking_web:statistics"]
PATIENT_SERVICES = ["reminders_web:adherence", "tips_web:list"]
CLINICAL = ["imaging_web:studies", "nlp_web:entities", "rarecases_web:registry", "rarecases_web:search"]
PARTNERS = ["partners_web:list", "partners_web:shares", "partners_web:decisions", "partners_web:external"]
EXPECTED_NAVIGATION = {
    Role.PLATFORM_ADMIN: ["webadmin:dashboard", "reports_web:list", *BOOKING_ADMIN, *CLINICAL, *PATIENT_SERVICES,
                          *PARTNERS, "configuration_web:settings", "configuration_web:algorithms", "configuration_web:monitoring",
                          "configuration_web:periodic", "api-docs"],
    Role.HOSPITAL_ADMIN: ["webadmin:dashboard", "reports_web:list", *BOOKING_ADMIN, *CLINICAL, *PATIENT_SERVICES,
                          *PARTNERS, "configuration_web:settings", "configuration_web:algorithms", "configuration_web:monitoring",
                          "api-docs"],
    Role.DOCTOR: ["webadmin:dashboard", "reports_web:list", "booking_web:day", *CLINICAL, *PATIENT_SERVICES,
                  "partners_web:external", "configuration_web:settings"],
    Role.COMPLIANCE_OFFICER: ["webadmin:dashboard", "compliance_web:events", "compliance_web:cases",
                              "compliance_web:chains", "compliance_web:manifest-verify", "compliance_web:report",
                              *PARTNERS, "configuration_web:settings"],
    Role.PATIENT: ["webadmin:dashboard"],
}


def log_in(client, user):
    return client.post(LOGIN, {"username": user.username, "password": PASSWORD})


@pytest.fixture
def doctor_at_two_hospitals(hospital_a, hospital_b):
    user = member_of(hospital_a, Role.DOCTOR)
    Membership.objects.create(user=user, hospital=hospital_b, role=Role.HOSPITAL_ADMIN)
    return user


def test_login_page_renders_the_form(client, db):
    # When
    response = client.get(LOGIN)

    # Then
    assert response.status_code == 200
    assert "webadmin/login.html" in [template.name for template in response.templates]
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_login_page_speaks_chinese_by_default(client, db):
    # When: a browser that states no language preference
    response = client.get(LOGIN)

    # Then
    assert response.headers["Content-Language"] == "zh-hans"
    assert "用户名" in response.content.decode()
    assert "<title>登录 · 医院管理平台</title>" in response.content.decode()


def test_wrong_password_shows_an_error_on_the_login_page(client, doctor_a):
    # When
    response = client.post(LOGIN, {"username": doctor_a.username, "password": "not-the-password"})

    # Then: the form comes back with the error, no redirect, no session
    assert response.status_code == 200
    assert text_of(response.content, "login-error") == "用户名或密码错误。"
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", list(Role))
def test_each_role_logs_in_to_its_dashboard_with_its_figures(client, clinic, expected_figures, role):
    # Given
    user = clinic.users[role]

    # When
    login = log_in(client, user)
    dashboard = client.get(login.url)

    # Then
    assert login.status_code == 302
    assert login.url == DASHBOARD
    assert dashboard.status_code == 200
    assert figures_in(dashboard.content) == expected_figures[role]


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_its_own_navigation(client, clinic, role):
    # Given
    client.force_login(clinic.users[role])

    # When
    response = client.get(DASHBOARD)

    # Then
    assert navigation_in(response.content) == EXPECTED_NAVIGATION[role]


def test_top_bar_names_the_hospital_and_the_role_in_words(client, clinic):
    # Given
    client.force_login(clinic.users[Role.COMPLIANCE_OFFICER])

    # When
    response = client.get(DASHBOARD)

    # Then
    assert text_of(response.content, "current-hospital") == "Hospital A 合规专员"
    assert text_of(response.content, "current-role") == "合规专员"


def test_anonymous_visitor_is_sent_to_the_login_page(client, db):
    # When
    response = client.get(DASHBOARD)

    # Then
    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={DASHBOARD}"


def test_user_without_a_hospital_is_told_to_ask_for_one(client, db):
    # Given
    client.force_login(UserFactory())

    # When
    response = client.get(DASHBOARD)

    # Then
    assert response.status_code == 200
    assert text_of(response.content, "no-hospital").startswith("您的账号尚未加入任何医院")
    assert figures_in(response.content) == {}


def test_logout_ends_the_session(client, doctor_a):
    # Given
    client.force_login(doctor_a)

    # When
    response = client.post(reverse("webadmin:logout"))

    # Then
    assert response.status_code == 302
    assert response.url == LOGIN
    assert client.get(DASHBOARD).status_code == 302


def test_hospital_switcher_lists_every_hospital_of_a_user_with_two(client, doctor_at_two_hospitals):
    # Given
    client.force_login(doctor_at_two_hospitals)

    # When
    response = client.get(DASHBOARD)

    # Then
    options = re.findall(r'<option value="(hospital-[ab])"', response.content.decode())
    assert options == ["hospital-a", "hospital-b"]


def test_hospital_switcher_is_hidden_from_a_user_with_one_hospital(client, doctor_a):
    # Given
    client.force_login(doctor_a)

    # When
    response = client.get(DASHBOARD)

    # Then
    assert text_of(response.content, "hospital-switcher") is None


def test_switching_to_another_own_hospital_changes_hospital_and_role(client, doctor_at_two_hospitals):
    # Given
    client.force_login(doctor_at_two_hospitals)

    # When
    response = client.post(SWITCH, {"hospital": "hospital-b"}, follow=True)

    # Then
    assert client.session[SESSION_HOSPITAL_KEY] == "hospital-b"
    assert text_of(response.content, "current-hospital") == "Hospital B 医院管理员"
    assert text_of(response.content, "message") == "已切换到Hospital B。"


def test_switching_hospital_is_audited_at_the_new_hospital(client, doctor_at_two_hospitals, hospital_b):
    # Given
    client.force_login(doctor_at_two_hospitals)

    # When
    client.post(SWITCH, {"hospital": "hospital-b"})

    # Then
    event = AuditEvent.objects.get(action="tenancy.switch_hospital")
    assert (event.actor_id, event.hospital_id, event.role, event.outcome) == (
        doctor_at_two_hospitals.pk, hospital_b.pk, Role.HOSPITAL_ADMIN, AuditOutcome.SUCCESS)


def test_switching_to_a_foreign_hospital_is_refused(client, doctor_a, hospital_b):
    # Given: a doctor of hospital A only
    client.force_login(doctor_a)

    # When
    response = client.post(SWITCH, {"hospital": hospital_b.slug}, follow=True)

    # Then: still at A, told why
    assert SESSION_HOSPITAL_KEY not in client.session
    assert text_of(response.content, "current-hospital") == "Hospital A 医生"
    assert text_of(response.content, "message") == "您不属于该医院。"


def test_refused_switch_is_audited_as_denied(client, doctor_a, hospital_a, hospital_b):
    # Given
    client.force_login(doctor_a)

    # When
    client.post(SWITCH, {"hospital": hospital_b.slug})

    # Then: recorded at the hospital the doctor acts for, not at the one asked for
    event = AuditEvent.objects.get(action="tenancy.switch_hospital")
    assert (event.hospital_id, event.outcome, event.detail) == (
        hospital_a.pk, AuditOutcome.DENIED, {"hospital": "hospital-b"})


def test_platform_admin_may_switch_to_a_hospital_without_membership(client, hospital_a, hospital_b):
    # Given
    admin = member_of(hospital_a, Role.PLATFORM_ADMIN)
    client.force_login(admin)

    # When
    response = client.post(SWITCH, {"hospital": hospital_b.slug}, follow=True)

    # Then
    assert text_of(response.content, "current-hospital") == "Hospital B 平台管理员"


def test_switching_without_choosing_a_hospital_keeps_the_current_one(client, doctor_at_two_hospitals):
    # Given
    client.force_login(doctor_at_two_hospitals)

    # When
    response = client.post(SWITCH, {"hospital": " "}, follow=True)

    # Then
    assert SESSION_HOSPITAL_KEY not in client.session
    assert text_of(response.content, "message") == "请选择要切换到的医院。"


def test_switch_hospital_refuses_get(client, doctor_at_two_hospitals):
    # Given
    client.force_login(doctor_at_two_hospitals)

    # When
    response = client.get(SWITCH, {"hospital": "hospital-b"})

    # Then
    assert response.status_code == 405
    assert SESSION_HOSPITAL_KEY not in client.session


def test_figures_fragment_returns_the_current_figures_alone(client, clinic, expected_figures):
    # Given
    client.force_login(clinic.users[Role.HOSPITAL_ADMIN])

    # When: htmx's periodic refresh
    response = client.get(FIGURES, headers={"HX-Request": "true"})

    # Then: the figures, without the page around them, and never cached
    assert response.status_code == 200
    assert figures_in(response.content) == expected_figures[Role.HOSPITAL_ADMIN]
    assert b"<html" not in response.content
    assert "no-store" in response.headers["Cache-Control"]


def test_figures_fragment_sends_an_anonymous_caller_to_login(client, db):
    # When: the session has expired under an open dashboard
    response = client.get(FIGURES, headers={"HX-Request": "true"})

    # Then: no login page swapped into the panel; htmx is told to navigate instead
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == f"{LOGIN}?next={DASHBOARD}"
    assert response.content == b""


def test_pages_load_the_vendored_htmx(client, doctor_a):
    # Given
    client.force_login(doctor_a)

    # When
    response = client.get(DASHBOARD)
    script = client.get("/static/vendor/htmx/htmx.min.js")

    # Then
    assert b'<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in response.content
    assert script.status_code == 200
    assert b'version:"2.0.11"' in b"".join(script.streaming_content)


def test_csrf_header_that_htmx_sends_passes_the_csrf_check(doctor_at_two_hospitals):
    # Given: a browser-like client that enforces CSRF, on a page rendered for it
    client = Client(enforce_csrf_checks=True)
    client.force_login(doctor_at_two_hospitals)
    page = client.get(DASHBOARD).content.decode()
    headers = json.loads(re.search(r"<body hx-headers='([^']*)'>", page).group(1))

    # When: an htmx POST carries only that header, no form token
    response = client.post(SWITCH, {"hospital": "hospital-b"}, headers=headers)

    # Then
    assert response.status_code == 302
    assert client.session[SESSION_HOSPITAL_KEY] == "hospital-b"


def test_post_without_the_csrf_header_is_refused(doctor_at_two_hospitals):
    # Given
    client = Client(enforce_csrf_checks=True)
    client.force_login(doctor_at_two_hospitals)
    client.get(DASHBOARD)

    # When
    response = client.post(SWITCH, {"hospital": "hospital-b"})

    # Then
    assert response.status_code == 403
    assert SESSION_HOSPITAL_KEY not in client.session


def test_choosing_english_translates_the_shell_and_the_role(client, clinic):
    # Given
    client.force_login(clinic.users[Role.DOCTOR])

    # When
    client.post(reverse("set_language"), {"language": "en", "next": DASHBOARD})
    response = client.get(DASHBOARD)

    # Then
    assert response.headers["Content-Language"] == "en"
    assert text_of(response.content, "dashboard-title") == "Dashboard"
    assert text_of(response.content, "current-role") == "Doctor"
    assert "New patients (7 days)" in response.content.decode()
