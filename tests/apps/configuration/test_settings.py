import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.configuration import selectors
from apps.configuration.registry import SettingDefinition, SettingValueError, declare, registry
from apps.configuration.selectors import setting_value
from apps.configuration.services import setting_reset, setting_set
from apps.core.exceptions import DomainError, NotFoundError, PermissionDeniedError
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

# Settings declared for these tests only (the registry is process-wide, declare is idempotent).
WINDOW = declare("testing.window_days", "int", default=14, minimum=1, maximum=90, description="test")
ENGINE = declare("testing.engine", "choice", default="tesseract", choices=("tesseract", "rapidocr"), description="t")
CUTOFF = declare("testing.cutoff", "time", default="15:00", description="test")
PERIOD = declare("testing.period", "int_range", default=[1, 7], minimum=0, maximum=365, description="test")
GLOBAL = declare("testing.global_limit", "int", default=5, minimum=1, maximum=10, description="test",
                 editable_by={Role.PLATFORM_ADMIN}, hospital_may_override=False)


@pytest.fixture(autouse=True)
def _fresh_process_cache():
    selectors.forget_local()
    yield
    selectors.forget_local()


@pytest.fixture
def hospital_admin(hospital_a):
    return member_of(hospital_a, Role.HOSPITAL_ADMIN)


@pytest.fixture
def platform_admin(hospital_a):
    return member_of(hospital_a, Role.PLATFORM_ADMIN)


def _set(key, value, *, actor, role=Role.HOSPITAL_ADMIN, hospital_id=None, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return setting_set(key=key, value=value, actor=actor, role=role, hospital_id=hospital_id)


# --- declarations -------------------------------------------------------------------------


@pytest.mark.parametrize("definition, raw, expected", [
    (WINDOW, 30, 30), (ENGINE, "rapidocr", "rapidocr"), (CUTOFF, "09:30", "09:30"), (PERIOD, [3, 30], [3, 30]),
])
def test_valid_values_are_accepted(definition, raw, expected):
    assert definition.clean(raw) == expected


@pytest.mark.parametrize("definition, raw", [
    (WINDOW, 0), (WINDOW, 91), (WINDOW, "14"), (WINDOW, 14.5), (WINDOW, True), (ENGINE, "paddle"),
    (CUTOFF, "25:00"), (CUTOFF, "3pm"), (PERIOD, [30, 3]), (PERIOD, [1]), (PERIOD, [1, 400]),
])
def test_invalid_values_are_refused(definition, raw):
    with pytest.raises(SettingValueError):
        definition.clean(raw)


def test_a_declaration_with_an_invalid_default_is_refused():
    with pytest.raises(SettingValueError):
        SettingDefinition(key="testing.bad", type="int", default=100, maximum=10, description="x")


def test_declaring_the_same_key_differently_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        declare("testing.window_days", "int", default=7, minimum=1, maximum=90, description="test")


def test_apps_declare_their_settings_in_code():
    assert registry.get("accounts.login_failure_limit") is not None


# --- reading and writing --------------------------------------------------------------------


def test_default_then_platform_then_hospital_value(hospital_a, hospital_admin, platform_admin,
                                                   django_capture_on_commit_callbacks):
    with tenant_context(hospital_a.pk):
        assert setting_value(WINDOW.key) == 14
        _set(WINDOW.key, 21, actor=platform_admin, role=Role.PLATFORM_ADMIN,
             django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
        assert setting_value(WINDOW.key) == 21
        _set(WINDOW.key, 7, actor=hospital_admin, hospital_id=hospital_a.pk,
             django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
        assert setting_value(WINDOW.key) == 7


def test_values_are_per_hospital(hospital_a, hospital_b, hospital_admin, django_capture_on_commit_callbacks):
    with tenant_context(hospital_a.pk):
        _set(WINDOW.key, 3, actor=hospital_admin, hospital_id=hospital_a.pk,
             django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    with tenant_context(hospital_b.pk):
        assert setting_value(WINDOW.key) == 14


def test_typed_values_come_back_typed(hospital_a, hospital_admin, django_capture_on_commit_callbacks):
    with tenant_context(hospital_a.pk):
        _set(CUTOFF.key, "16:30", actor=hospital_admin, hospital_id=hospital_a.pk,
             django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
        assert setting_value(CUTOFF.key) == datetime.time(16, 30)
        assert setting_value(PERIOD.key) == (1, 7)


def test_reset_falls_back_to_the_next_level(hospital_a, hospital_admin, django_capture_on_commit_callbacks):
    with tenant_context(hospital_a.pk):
        _set(WINDOW.key, 3, actor=hospital_admin, hospital_id=hospital_a.pk,
             django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            assert setting_reset(key=WINDOW.key, actor=hospital_admin, role=Role.HOSPITAL_ADMIN,
                                 hospital_id=hospital_a.pk) is True
        assert setting_value(WINDOW.key) == 14


def test_a_change_is_audited_with_old_and_new_value(hospital_a, hospital_admin, django_capture_on_commit_callbacks):
    with tenant_context(hospital_a.pk):
        _set(WINDOW.key, 10, actor=hospital_admin, hospital_id=hospital_a.pk,
             django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
        _set(WINDOW.key, 12, actor=hospital_admin, hospital_id=hospital_a.pk,
             django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    details = [e.detail for e in AuditEvent.objects.filter(action="configuration.setting_set").order_by("occurred_at")]
    assert [(d["old"], d["new"]) for d in details] == [(None, 10), (10, 12)]


# --- refusals: 4xx, nothing changed, attempt audited ---------------------------------------------


@pytest.mark.parametrize("key, value, role, scope, error, outcome", [
    ("testing.window_days", 500, Role.HOSPITAL_ADMIN, "hospital", DomainError, "invalid"),
    ("testing.window_days", "many", Role.HOSPITAL_ADMIN, "hospital", DomainError, "invalid"),
    ("testing.no_such_key", 1, Role.HOSPITAL_ADMIN, "hospital", NotFoundError, "not_found"),
    ("testing.window_days", 5, Role.DOCTOR, "hospital", PermissionDeniedError, "denied"),
    ("testing.window_days", 5, Role.HOSPITAL_ADMIN, "platform", PermissionDeniedError, "denied"),
    ("testing.global_limit", 3, Role.PLATFORM_ADMIN, "hospital", DomainError, "invalid"),
    ("testing.global_limit", 3, Role.HOSPITAL_ADMIN, "platform", PermissionDeniedError, "denied"),
])
def test_refusals_change_nothing_and_are_audited(hospital_a, hospital_admin, key, value, role, scope, error, outcome):
    hospital_id = hospital_a.pk if scope == "hospital" else None
    with tenant_context(hospital_a.pk):
        with pytest.raises(error):
            setting_set(key=key, value=value, actor=hospital_admin, role=role, hospital_id=hospital_id)
        assert setting_value(WINDOW.key) == 14 and setting_value(GLOBAL.key) == 5
    assert AuditEvent.objects.get(action="configuration.setting_set").outcome == outcome


# --- the cache --------------------------------------------------------------------------------------


def test_reads_from_the_cache_make_no_query(hospital_a):
    with tenant_context(hospital_a.pk):
        setting_value(WINDOW.key)
        with CaptureQueriesContext(connection) as queries:
            for _ in range(100):
                setting_value(WINDOW.key)
    assert len(queries) == 0


def test_after_a_change_the_next_read_makes_one_query(hospital_a, hospital_admin, django_capture_on_commit_callbacks):
    with tenant_context(hospital_a.pk):
        setting_value(WINDOW.key)
        _set(WINDOW.key, 9, actor=hospital_admin, hospital_id=hospital_a.pk,
             django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
        with CaptureQueriesContext(connection) as queries:
            assert setting_value(WINDOW.key) == 9
            assert setting_value(WINDOW.key) == 9
    assert len(queries) == 1


def test_another_process_sees_a_change_within_the_check_interval(hospital_a, hospital_admin, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    # Given this process has read the value
    with tenant_context(hospital_a.pk):
        assert setting_value(WINDOW.key) == 14
        # when another process changes it (it bumps the shared version; our copy stays)
        _set(WINDOW.key, 30, actor=hospital_admin, hospital_id=hospital_a.pk,
             django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
        selectors._snapshots[hospital_a.pk] = selectors._Snapshot(version=-1, values={}, check_after=0)
        # then after the interval the shared version tells us to reload
        assert setting_value(WINDOW.key) == 30


def test_reading_another_hospitals_settings_outside_its_context_is_refused(hospital_a, hospital_b):
    with tenant_context(hospital_a.pk):
        with pytest.raises(RuntimeError):
            selectors.settings_effective(hospital_id=hospital_b.pk)


# --- the API ----------------------------------------------------------------------------------------


def test_staff_list_settings_with_their_source(doctor_a):
    rows = client_for(doctor_a).get("/api/v1/configuration/settings/").json()
    row = next(r for r in rows if r["key"] == WINDOW.key)
    assert (row["value"], row["source"], row["minimum"], row["maximum"]) == (14, "default", 1, 90)


def test_admin_changes_a_setting_through_the_api(hospital_admin):
    response = client_for(hospital_admin).put(f"/api/v1/configuration/settings/{WINDOW.key}/", {"value": 20},
                                              format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["value"], response.json()["source"]) == (20, "hospital")


def test_out_of_bounds_through_the_api_is_a_400_naming_the_value(hospital_admin):
    response = client_for(hospital_admin).put(f"/api/v1/configuration/settings/{WINDOW.key}/", {"value": 0},
                                              format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["value"]


def test_a_doctor_cannot_change_settings_through_the_api(doctor_a):
    response = client_for(doctor_a).put(f"/api/v1/configuration/settings/{WINDOW.key}/", {"value": 20},
                                        format="json")
    assert response.status_code == 403


def test_unknown_key_through_the_api_is_a_404(hospital_admin):
    response = client_for(hospital_admin).put("/api/v1/configuration/settings/testing.nope/", {"value": 1},
                                              format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_setting"


def test_the_api_answers_with_the_new_value_even_right_after_a_read(hospital_admin):
    # Given this process has just read the settings (its copy is fresh)
    client = client_for(hospital_admin)
    client.get("/api/v1/configuration/settings/")
    # when the value changes
    response = client.put(f"/api/v1/configuration/settings/{WINDOW.key}/", {"value": 30}, format="json")
    # then the answer shows the new value, not the cached one
    assert (response.json()["value"], response.json()["source"]) == (30, "hospital")
