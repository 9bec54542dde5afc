from io import StringIO

from django.contrib.auth import authenticate
from django.core.management import call_command

from apps.patients.models import Encounter, Patient
from apps.core.demo_data import national_id_check_digit
from apps.tenancy.models import Hospital, Membership


def _seed():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_makes_both_hospitals_every_role_and_patients(db):
    output = _seed()
    assert set(Hospital.objects.values_list("slug", flat=True)) == {"demo-a", "demo-b"}
    for slug in ("demo-a", "demo-b"):
        for role in ("platform_admin", "hospital_admin", "doctor", "compliance_officer", "patient"):
            user = authenticate(username=f"{role}@{slug}.example", password="demo-pass-2024")
            assert user is not None, (role, slug)
            assert Membership.objects.get(user=user).role == role
    assert Patient.unscoped_objects.count() == 40
    assert "doctor@demo-a.example" in output


def test_seed_is_idempotent(db):
    _seed()
    counts = (Hospital.objects.count(), Membership.objects.count(), Patient.unscoped_objects.count())
    output = _seed()
    assert (Hospital.objects.count(), Membership.objects.count(), Patient.unscoped_objects.count()) == counts
    assert "(0 new)" in output
    assert "clinical records: 0 new" in output


def test_seed_writes_a_few_clinical_records_for_the_ner_pages(db):
    _seed()
    records = Encounter.unscoped_objects.exclude(record_text="")
    assert records.count() == 6 and {e.hospital.slug for e in records} == {"demo-a", "demo-b"}
    assert all(e.attending and e.attending.username.startswith("doctor@") for e in records)


def test_demo_national_ids_have_valid_check_digits(db):
    _seed()
    for patient in Patient.unscoped_objects.all():
        assert patient.national_id[-1] == national_id_check_digit(patient.national_id[:17])


def test_check_digit_matches_a_published_example():
    # 11010519491231002X is the standard's worked example.
    assert national_id_check_digit("11010519491231002") == "X"
