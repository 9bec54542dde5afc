"""Tenant isolation: the ORM scope, and PostgreSQL row-level security under it."""

import pytest
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from apps.patients.models import Patient
from apps.patients.services import patient_create
from apps.privacy.models import AuditEvent
from apps.tenancy.context import current_hospital_id, tenant_context, unscoped
from apps.tenancy.models import TenantOwnedModel


@pytest.fixture
def two_hospitals_with_patients(hospital_a, hospital_b):
    patient_create(hospital_id=hospital_a.pk, name="A One", national_id="110101199001011234")
    patient_create(hospital_id=hospital_a.pk, name="A Two")
    patient_create(hospital_id=hospital_b.pk, name="B One")
    return hospital_a, hospital_b


def test_orm_outside_any_context_sees_no_tenant_rows(two_hospitals_with_patients):
    assert Patient.objects.count() == 0


def test_orm_in_a_context_sees_only_that_hospital(two_hospitals_with_patients):
    hospital_a, _ = two_hospitals_with_patients
    with tenant_context(hospital_a.pk):
        names = sorted(Patient.objects.values_list("name", flat=True))
    assert names == ["A One", "A Two"]


def test_unscoped_sees_every_hospital_and_is_audited(two_hospitals_with_patients):
    with unscoped(reason="test: count all patients"):
        total = Patient.objects.count()
    assert total == 3
    # (the test's own connection is the owner outside any context, so it reads the log)
    event = AuditEvent.objects.filter(action="tenancy.unscoped").get()
    assert (event.chain.split("/")[0], event.detail) == ("platform", {"reason": "test: count all patients"})


def test_unscoped_refuses_to_run_without_a_reason(db):
    with pytest.raises(ValueError):
        with unscoped(reason=""):
            pass


def test_context_is_restored_after_a_nested_context(hospital_a, hospital_b):
    with tenant_context(hospital_a.pk):
        with tenant_context(hospital_b.pk):
            assert current_hospital_id() == hospital_b.pk
        assert current_hospital_id() == hospital_a.pk
    assert current_hospital_id() is None


def test_every_tenant_owned_model_has_a_non_null_hospital():
    tenant_models = [m for m in apps.get_models() if issubclass(m, TenantOwnedModel)]
    assert tenant_models, "expected tenant-owned models"
    for model in tenant_models:
        field = model._meta.get_field("hospital")
        assert field.null is False, model


# --- PostgreSQL row-level security -------------------------------------------------------


def _raw(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else cursor.rowcount


def test_every_tenant_table_has_rls_enabled_and_forced(postgres):
    tables = {m._meta.db_table for m in apps.get_models() if issubclass(m, TenantOwnedModel)}
    rows = _raw("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
                [list(tables)])
    assert {name: (enabled, forced) for name, enabled, forced in rows} == {t: (True, True) for t in tables}


def test_application_role_cannot_bypass_rls(postgres):
    rows = _raw("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [settings.DATABASE_APP_ROLE])
    assert rows == [(False, False)]


def test_tenant_transactions_run_as_the_application_role(postgres, hospital_a):
    with tenant_context(hospital_a.pk):
        assert _raw("SELECT current_user")[0][0] == settings.DATABASE_APP_ROLE
    assert _raw("SELECT current_user")[0][0] != settings.DATABASE_APP_ROLE


def test_raw_sql_under_a_cannot_read_b(postgres, two_hospitals_with_patients):
    hospital_a, hospital_b = two_hospitals_with_patients
    with tenant_context(hospital_a.pk):
        all_rows = _raw("SELECT hospital_id FROM patients_patient")
        asked_for_b = _raw("SELECT count(*) FROM patients_patient WHERE hospital_id = %s", [hospital_b.pk])
    assert {hospital for (hospital,) in all_rows} == {hospital_a.pk}
    assert len(all_rows) == 2
    assert asked_for_b == [(0,)]


def test_raw_sql_under_a_cannot_update_or_delete_b(postgres, two_hospitals_with_patients):
    hospital_a, hospital_b = two_hospitals_with_patients
    with tenant_context(hospital_a.pk):
        updated = _raw("UPDATE patients_patient SET name = 'hacked' WHERE hospital_id = %s", [hospital_b.pk])
        deleted = _raw("DELETE FROM patients_patient WHERE hospital_id = %s", [hospital_b.pk])
    assert (updated, deleted) == (0, 0)
    with tenant_context(hospital_b.pk):
        assert list(Patient.objects.values_list("name", flat=True)) == ["B One"]


def test_raw_sql_under_a_cannot_insert_into_b(postgres, two_hospitals_with_patients):
    hospital_a, hospital_b = two_hospitals_with_patients
    with tenant_context(hospital_a.pk):
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic():
                _raw("INSERT INTO patients_patient (hospital_id, name, sex, national_id, national_id_index, phone, "
                     "phone_index, medical_record_number, created_at) "
                     "VALUES (%s, 'intruder', 'U', '', '', '', '', 'X1', now())", [hospital_b.pk])


def test_raw_sql_under_a_cannot_move_a_row_to_b(postgres, two_hospitals_with_patients):
    hospital_a, hospital_b = two_hospitals_with_patients
    with tenant_context(hospital_a.pk):
        with pytest.raises(DatabaseError, match="row-level security"):
            with transaction.atomic():
                _raw("UPDATE patients_patient SET hospital_id = %s", [hospital_b.pk])


def test_raw_sql_with_no_hospital_sees_nothing(postgres, two_hospitals_with_patients):
    with tenant_context(None):
        assert _raw("SELECT count(*) FROM patients_patient") == [(0,)]


def test_application_role_cannot_switch_off_rls(postgres, hospital_a):
    with tenant_context(hospital_a.pk):
        with pytest.raises(DatabaseError):
            with transaction.atomic():
                _raw("ALTER TABLE patients_patient DISABLE ROW LEVEL SECURITY")
