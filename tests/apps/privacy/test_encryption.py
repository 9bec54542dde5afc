import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection

from apps.patients.models import Patient
from apps.patients.services import patient_create
from apps.privacy.encryption import DecryptionError, KeyRing, blind_index, key_id_of
from apps.tenancy.context import tenant_context

NATIONAL_ID = "110101199003077777"
PHONE = "13800138000"
KEY_ONE = "test1:dGVzdC1rZXktb25lLTAxMjM0NTY3ODlhYmNkZWYwMTI="
KEY_TWO = "test2:dGVzdC1rZXktdHdvLTAxMjM0NTY3ODlhYmNkZWYwMTI="


def _raw_row(patient_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id, national_id_index, phone, phone_index, name "
                       "FROM patients_patient WHERE id = %s", [patient_id])
        return cursor.fetchone()


def test_identifiers_round_trip(hospital_a):
    patient = patient_create(hospital_id=hospital_a.pk, name="Li", national_id=NATIONAL_ID, phone=PHONE)
    with tenant_context(hospital_a.pk):
        loaded = Patient.objects.get(pk=patient.pk)
    assert (loaded.national_id, loaded.phone) == (NATIONAL_ID, PHONE)


def test_the_database_row_holds_no_plaintext(hospital_a):
    # Given a patient with identifiers, when we read the raw row as a dump would
    patient = patient_create(hospital_id=hospital_a.pk, name="Li", national_id=NATIONAL_ID, phone=PHONE)
    row = _raw_row(patient.pk)
    # then neither identifier (nor a recognisable part of it) is in any column
    assert not any(NATIONAL_ID in value or PHONE in value or "19900307" in value for value in row[:4])
    assert row[0].startswith("enc:v1:test1:") and row[2].startswith("enc:v1:test1:")


def test_equal_values_encrypt_differently_but_index_the_same(hospital_a):
    first = patient_create(hospital_id=hospital_a.pk, name="One", national_id=NATIONAL_ID)
    second = patient_create(hospital_id=hospital_a.pk, name="Two", national_id=NATIONAL_ID)
    first_row, second_row = _raw_row(first.pk), _raw_row(second.pk)
    assert first_row[0] != second_row[0]
    assert first_row[1] == second_row[1] == blind_index(NATIONAL_ID, kind="national_id")


def test_blind_index_finds_a_patient_whatever_the_formatting(hospital_a):
    patient = patient_create(hospital_id=hospital_a.pk, name="Li", national_id="11010119900307777x")
    with tenant_context(hospital_a.pk):
        found = Patient.objects.get(national_id_index=blind_index("110101 19900307 777X", kind="national_id"))
    assert found.pk == patient.pk


def test_blind_index_separates_kinds():
    assert blind_index("13800138000", kind="phone") != blind_index("13800138000", kind="national_id")


def test_lookups_on_an_encrypted_field_are_refused(hospital_a):
    with pytest.raises(FieldError, match="blind index"):
        Patient.objects.filter(national_id=NATIONAL_ID)


def test_a_ciphertext_moved_to_another_column_does_not_decrypt():
    ring = KeyRing.parse(KEY_ONE, "test1")
    sealed = ring.encrypt(NATIONAL_ID, context="patients.patient.national_id")
    with pytest.raises(DecryptionError):
        ring.decrypt(sealed, context="patients.patient.phone")


def test_a_tampered_ciphertext_does_not_decrypt():
    ring = KeyRing.parse(KEY_ONE, "test1")
    sealed = ring.encrypt(NATIONAL_ID, context="c")
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(DecryptionError):
        ring.decrypt(tampered, context="c")


def test_a_missing_key_is_reported_by_its_id():
    sealed = KeyRing.parse(KEY_TWO, "test2").encrypt("x", context="c")
    with pytest.raises(DecryptionError, match="test2"):
        KeyRing.parse(KEY_ONE, "test1").decrypt(sealed, context="c")


def test_rotation_keeps_old_rows_readable_and_the_command_reencrypts_them(hospital_a, settings):
    # Given a row written under key one
    patient = patient_create(hospital_id=hospital_a.pk, name="Li", national_id=NATIONAL_ID, phone=PHONE)
    # when key two joins the ring and becomes active
    settings.FIELD_ENCRYPTION_KEYS = f"{KEY_ONE},{KEY_TWO}"
    settings.FIELD_ENCRYPTION_ACTIVE_KEY_ID = "test2"
    # then the old row still reads
    with tenant_context(hospital_a.pk):
        assert Patient.objects.get(pk=patient.pk).national_id == NATIONAL_ID
    assert key_id_of(_raw_row(patient.pk)[0]) == "test1"
    # and after the rotation command it is under key two, with the same index
    old_index = _raw_row(patient.pk)[1]
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))
    row = _raw_row(patient.pk)
    assert (key_id_of(row[0]), key_id_of(row[2]), row[1]) == ("test2", "test2", old_index)
    # and it reads with key one gone from the ring
    settings.FIELD_ENCRYPTION_KEYS = KEY_TWO
    with tenant_context(hospital_a.pk):
        reloaded = Patient.objects.get(pk=patient.pk)
    assert (reloaded.national_id, reloaded.phone) == (NATIONAL_ID, PHONE)


def test_empty_identifiers_stay_empty(hospital_a):
    patient = patient_create(hospital_id=hospital_a.pk, name="No ID")
    assert _raw_row(patient.pk)[:4] == ("", "", "", "")
