"""The web admin in a real browser: Debian's Chromium driven by Playwright against
pytest-django's live server (so data is committed: `live_server` makes the tests
transactional)."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.patients.services import patient_create
from apps.tenancy.models import Membership
from apps.tenancy.roles import Role
from tests.factories import PASSWORD
from tests.support.browser import BROWSER_MARKS, browser, page  # noqa: F401 (fixtures)


ROLE_NAMES = {
    Role.PLATFORM_ADMIN: "平台管理员",
    Role.HOSPITAL_ADMIN: "医院管理员",
    Role.DOCTOR: "医生",
    Role.COMPLIANCE_OFFICER: "合规专员",
    Role.PATIENT: "患者",
}

pytestmark = BROWSER_MARKS


def log_in(page, user):
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit] >> nth=-1")
    page.wait_for_url("**/")


def figures_on(page) -> dict[str, int]:
    return {figure.get_attribute("data-figure"): int(figure.locator("[data-testid=figure-value]").inner_text())
            for figure in page.locator("[data-figure]").all()}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_logs_in_through_the_form_and_sees_its_figures(page, clinic, expected_figures, role):
    # When
    log_in(page, clinic.users[role])

    # Then
    assert page.locator("[data-testid=current-role]").inner_text() == ROLE_NAMES[role]
    assert figures_on(page) == expected_figures[role]


def test_wrong_password_keeps_the_browser_on_the_login_page(page, clinic):
    # Given
    page.goto("/login/")

    # When
    page.fill("#id_username", clinic.users[Role.DOCTOR].username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit] >> nth=-1")

    # Then
    assert page.locator("[data-testid=login-error]").inner_text() == "用户名或密码错误。"
    assert page.url.endswith("/login/")


def test_language_select_switches_from_chinese_to_english(page, clinic):
    # Given: the dashboard in Chinese
    log_in(page, clinic.users[Role.HOSPITAL_ADMIN])
    assert page.locator("[data-testid=dashboard-title]").inner_text() == "工作台"

    # When
    with page.expect_navigation():
        page.select_option("[data-testid=language-select]", "en")

    # Then
    assert page.locator("[data-testid=dashboard-title]").inner_text() == "Dashboard"
    assert page.locator("[data-testid=current-role]").inner_text() == "Hospital administrator"
    assert page.locator("html").get_attribute("lang") == "en"


def test_hospital_select_switches_the_hospital(page, clinic):
    # Given: a doctor at A who administers B as well
    doctor = clinic.users[Role.DOCTOR]
    Membership.objects.create(user=doctor, hospital=clinic.other_hospital, role=Role.HOSPITAL_ADMIN)
    log_in(page, doctor)

    # When
    page.select_option("[data-testid=hospital-select]", clinic.other_hospital.slug)
    with page.expect_navigation():
        page.click("[data-testid=hospital-switcher] button")

    # Then: B's figures, as its administrator
    assert page.locator("[data-testid=current-role]").inner_text() == "医院管理员"
    assert figures_on(page)["patients"] == 1


def test_refresh_button_reloads_the_figures_through_htmx(page, clinic):
    # Given: a doctor's dashboard, and then a patient registered elsewhere
    log_in(page, clinic.users[Role.DOCTOR])
    page.evaluate("window.stillTheSamePage = true")
    patient_create(hospital_id=clinic.hospital.pk, name="孙七")

    # When
    with page.expect_response("**/dashboard/figures/"):
        page.click("[data-testid=refresh-figures]")

    # Then: the panel shows the new count without a page load
    expect(page.locator("[data-figure=patients] [data-testid=figure-value]")).to_have_text("4")
    assert page.evaluate("window.stillTheSamePage") is True


def test_htmx_requests_carry_the_csrf_token_header(page, clinic):
    # Given
    log_in(page, clinic.users[Role.DOCTOR])

    page_token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]

    # When
    with page.expect_response("**/dashboard/figures/") as response_info:
        page.click("[data-testid=refresh-figures]")

    # Then
    request = response_info.value.request
    assert request.headers.get("hx-request") == "true"
    assert request.headers.get("x-csrftoken") == page_token != ""


def test_dashboard_lays_out_sidebar_beside_the_figures(page, clinic):
    # Given: an administrator of two hospitals, so the switcher shows too
    admin = clinic.users[Role.HOSPITAL_ADMIN]
    Membership.objects.create(user=admin, hospital=clinic.other_hospital, role=Role.DOCTOR)

    # When
    log_in(page, admin)
    screenshot = Path(settings.VAR_DIR) / "screenshots" / "dashboard-hospital-admin.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)

    # Then: navigation on the left, figures to its right in the first screen, styles applied
    navigation = page.locator("[data-testid=navigation]").bounding_box()
    figures = page.locator("[data-testid=figures]").bounding_box()
    assert navigation["x"] + navigation["width"] <= figures["x"]
    assert figures["y"] + figures["height"] < 800
    top_bar_colour = page.locator(".topbar").evaluate("element => getComputedStyle(element).backgroundColor")
    assert top_bar_colour == "rgb(11, 79, 138)"
    assert screenshot.stat().st_size > 10_000
