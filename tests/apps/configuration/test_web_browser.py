"""The configuration pages in a real browser (Debian's Chromium through Playwright,
against pytest-django's live server), launched as tests/apps/webadmin/test_browser.py
does: inline changes through htmx, a refusal shown in the row, a model put into service."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.configuration.models import HospitalSettingValue, ModelDeployment
from apps.configuration.registry import declare
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import PASSWORD, member_of
from tests.support.browser import BROWSER_MARKS, browser, page  # noqa: F401 (fixtures)

from .conftest import TASK

WINDOW = declare("testing.browser_window_days", "int", default=14, minimum=1, maximum=90,
                 description="How many days ahead patients may book.")
ROW = f'tr[data-setting="{WINDOW.key}"]'

pytestmark = BROWSER_MARKS


@pytest.fixture
def hospital_admin(hospital_a):
    return member_of(hospital_a, Role.HOSPITAL_ADMIN)


def log_in(page, user):
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit] >> nth=-1")
    page.wait_for_url("**/")


def screenshot(page, name: str) -> Path:
    path = Path(settings.VAR_DIR) / "screenshots" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def stored_window(hospital):
    with tenant_context(hospital.pk):
        return HospitalSettingValue.objects.filter(key=WINDOW.key).values_list("value", flat=True).first()


def test_hospital_admin_changes_a_setting_inline_and_sees_the_new_value(page, hospital_admin, hospital_a):
    # Given: the settings page, reached through the navigation
    log_in(page, hospital_admin)
    page.click('[data-nav="configuration_web:settings"]')
    page.wait_for_url("**/configuration/settings/")
    page.evaluate("window.stillTheSamePage = true")
    row = page.locator(ROW)
    expect(row.locator("[data-testid=setting-value]")).to_have_text("14")

    # When
    row.locator("input[name=value]").fill("30")
    row.locator("[data-testid=setting-save]").click()

    # Then: the row alone was replaced, with the new value, its source and a confirmation
    expect(row.locator("[data-testid=setting-value]")).to_have_text("30")
    expect(row.locator("[data-testid=setting-source]")).to_have_text("本院")
    expect(row.locator("[data-testid=row-message]")).to_have_text(f"{WINDOW.key} 在本院现为 30。")
    assert page.evaluate("window.stillTheSamePage") is True
    assert stored_window(hospital_a) == 30
    screenshot(page, "configuration-settings-saved.png")


def test_out_of_bounds_value_shows_the_error_in_the_row_and_keeps_the_input(page, hospital_admin, hospital_a):
    # Given
    log_in(page, hospital_admin)
    page.goto("/configuration/settings/")
    row = page.locator(ROW)

    # When
    row.locator("input[name=value]").fill("91")
    with page.expect_response(f"**/settings/{WINDOW.key}/set/") as answer:
        row.locator("[data-testid=setting-save]").click()

    # Then: a 400 whose row htmx swapped in, with the service's message and the value typed
    assert answer.value.status == 400
    expect(row.locator("[data-testid=setting-error]")).to_have_text("不能大于 90。")
    expect(row.locator("input[name=value]")).to_have_value("91")
    expect(row.locator("[data-testid=setting-value]")).to_have_text("14")
    assert stored_window(hospital_a) is None
    shot = screenshot(page, "configuration-settings-error.png")
    assert shot.stat().st_size > 10_000


def test_hospital_admin_puts_a_registered_model_into_service(page, hospital_admin, hospital_a, registered):
    # Given
    log_in(page, hospital_admin)
    page.goto("/configuration/algorithms/")
    panel = page.locator(f'[data-task="{TASK}"]')
    expect(panel.locator("[data-testid=active-model]")).to_have_text("无")

    # When
    panel.locator("[data-testid=activate-form] select[name=artifact]").select_option(str(registered["v2"].pk))
    with page.expect_navigation():
        panel.locator("[data-testid=activate-form] button").click()

    # Then
    expect(page.locator("[data-testid=message]")).to_have_text(f"diagonal:v2 ({TASK}) 现在为本院的 {TASK} 提供服务。")
    expect(panel.locator("[data-testid=active-model]")).to_contain_text("diagonal v2")
    with tenant_context(hospital_a.pk):
        assert ModelDeployment.objects.get(task=TASK, retired_at__isnull=True).artifact_id == registered["v2"].pk
    screenshot(page, "configuration-algorithms.png")
