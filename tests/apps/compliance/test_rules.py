"""Each rule with a planted violation and a look-alike that must not open a case."""

import datetime

import pytest
from django.utils import timezone

from apps.compliance.consent import consent_record
from apps.compliance.models import PatientWatch, StaffProfile
from apps.patients.services import encounter_create, patient_create
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Membership
from apps.tenancy.roles import Role
from tests.factories import member_of

from .conftest import at_local, cases, detect, detect_today, in_department, record


@pytest.fixture
def doctor_in_cardiology(hospital_a, cardiology):
    doctor = member_of(hospital_a, Role.DOCTOR)
    in_department(doctor, hospital_a, cardiology)
    return doctor


def _encounter(patient, *, attending=None, department=None, days_ago=2):
    # two days: before any at_local() moment of "today", which can be up to 26 hours ago
    with tenant_context(patient.hospital_id):
        return encounter_create(patient=patient, attending=attending, department=department,
                                started_at=timezone.now() - datetime.timedelta(days=days_ago))


def test_reading_a_patient_with_no_care_link_opens_a_case(hospital_a, doctor_a, patient_a):
    # given a doctor with no encounter, diagnosis or department link to the patient
    event = record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10))
    # when the rules run
    detect_today(hospital_a)
    # then one case names the doctor, the patient and the event
    [case] = cases(hospital_a, "no_care_relationship")
    assert (case.subject_user_id, case.patient_id, case.event_ids) == (doctor_a.pk, patient_a.pk, [str(event.pk)])


def test_the_attending_doctor_reads_without_a_case(hospital_a, doctor_a, patient_a):
    _encounter(patient_a, attending=doctor_a)
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10))
    detect_today(hospital_a)
    assert cases(hospital_a, "no_care_relationship") == []


def test_a_doctor_of_the_treating_department_reads_without_a_case(hospital_a, doctor_in_cardiology, patient_a,
                                                                 cardiology):
    _encounter(patient_a, department=cardiology)
    record(hospital_a, actor=doctor_in_cardiology, patient=patient_a, occurred_at=at_local(10))
    detect_today(hospital_a)
    assert cases(hospital_a) == []


def test_a_registered_care_link_provider_counts(hospital_a, doctor_a, patient_a):
    from apps.compliance import care_links

    # given another app (booking, on its branch) registers appointments as care links
    care_links.register_care_link_provider(
        "test.appointments", lambda pairs, at, link_days: {(doctor_a.pk, patient_a.pk)} & pairs)
    try:
        record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10))
        detect_today(hospital_a)
    finally:
        care_links._providers.pop("test.appointments")
    assert cases(hospital_a, "no_care_relationship") == []


def test_rerunning_detection_opens_nothing_twice(hospital_a, doctor_a, patient_a):
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10))
    detect_today(hospital_a)
    # the next run re-reads the overlap
    detect_today(hospital_a)
    assert len(cases(hospital_a, "no_care_relationship")) == 1


def test_bulk_reads_beyond_the_role_threshold_open_a_case(hospital_a, doctor_a, settings):
    with tenant_context(hospital_a.pk):
        from apps.configuration.services import setting_set
        setting_set(key="compliance.bulk_threshold_doctor", value=5, actor=None,
                    role=Role.PLATFORM_ADMIN, hospital_id=hospital_a.pk)
    patients = [patient_create(hospital_id=hospital_a.pk, name=f"病人{n}") for n in range(3)]
    # given two list pages of 3 patients within a minute: 6 > 5 (the case opens at the second page)
    for minute in (0, 1):
        record(hospital_a, action="patient.list", actor=doctor_a, occurred_at=at_local(10, minute),
               detail={"patient_ids": [p.pk for p in patients]})
    record(hospital_a, actor=doctor_a, patient=patients[0], occurred_at=at_local(10, 2))
    detect_today(hospital_a)
    [case] = cases(hospital_a, "bulk_access")
    assert (case.evidence["records"], case.evidence["threshold"]) == (6, 5)


def test_reads_under_the_threshold_open_no_bulk_case(hospital_a, doctor_a, patient_a):
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10))
    detect_today(hospital_a)
    assert cases(hospital_a, "bulk_access") == []


def test_access_at_night_opens_an_outside_hours_case(hospital_a, doctor_a, patient_a):
    _encounter(patient_a, attending=doctor_a)
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(2, 30))
    detect_today(hospital_a)
    [case] = cases(hospital_a, "outside_working_hours")
    assert case.evidence["local_times"] == ["02:30"]


def test_a_night_shift_profile_makes_night_access_normal(hospital_a, doctor_a, patient_a):
    _encounter(patient_a, attending=doctor_a)
    with tenant_context(hospital_a.pk):
        StaffProfile.objects.create(hospital=hospital_a, user=doctor_a, work_start_hour=0, work_end_hour=8)
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(2, 30))
    detect_today(hospital_a)
    assert cases(hospital_a, "outside_working_hours") == []


def test_a_night_shift_over_midnight_covers_both_evenings_and_mornings(hospital_a, doctor_a, patient_a):
    # given a night shift from 20:00 to 08:00 the next morning
    _encounter(patient_a, attending=doctor_a, days_ago=3)
    with tenant_context(hospital_a.pk):
        StaffProfile.objects.create(hospital=hospital_a, user=doctor_a, work_start_hour=20, work_end_hour=8)
    # when the doctor reads in the evening and the small hours, and once in the afternoon
    for hour in (21, 2, 7, 14):
        record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(hour, 30, days_ago=1))
    detect(hospital_a, now=at_local(23, 0, days_ago=1))
    # then only the afternoon is outside the shift
    [case] = cases(hospital_a, "outside_working_hours")
    assert case.evidence == {"working_hours": [20, 8], "local_times": ["14:30"]}


def test_former_patient_now_in_another_department_opens_an_outside_department_case(
        hospital_a, doctor_in_cardiology, patient_a, cardiology, oncology):
    # given the cardiologist treated the patient last month, and the patient is now in oncology
    _encounter(patient_a, attending=doctor_in_cardiology, department=cardiology, days_ago=30)
    _encounter(patient_a, department=oncology, days_ago=2)
    record(hospital_a, actor=doctor_in_cardiology, patient=patient_a, occurred_at=at_local(10))
    detect_today(hospital_a)
    [case] = cases(hospital_a, "outside_department")
    assert case.evidence["patient_department"] == oncology.pk
    assert cases(hospital_a, "no_care_relationship") == []


def _read_with_watch_lists(hospital, doctor, patient, *, surname, staff_area, patient_area):
    _encounter(patient, attending=doctor)
    with tenant_context(hospital.pk):
        StaffProfile.objects.create(hospital=hospital, user=doctor, surname=surname, address_area=staff_area)
        PatientWatch.objects.create(hospital=hospital, patient=patient, address_area=patient_area)
    record(hospital, actor=doctor, patient=patient, occurred_at=at_local(10))
    detect_today(hospital)
    return cases(hospital, "relative_or_neighbour")


def test_same_surname_and_address_area_opens_a_case(hospital_a, doctor_a, patient_a):
    [case] = _read_with_watch_lists(hospital_a, doctor_a, patient_a, surname="张", staff_area="110105",
                                    patient_area="110105")
    assert case.evidence == {"surname": "张", "address_area": "110105"}


def test_a_latin_surname_matches_whatever_its_case_on_the_watch_list(hospital_a, doctor_a):
    patient = patient_create(hospital_id=hospital_a.pk, name="John Smith")
    found = _read_with_watch_lists(hospital_a, doctor_a, patient, surname="Smith ", staff_area="110105",
                                   patient_area=" 110105")
    assert len(found) == 1


def test_same_surname_elsewhere_is_not_a_case(hospital_a, doctor_a, patient_a):
    assert _read_with_watch_lists(hospital_a, doctor_a, patient_a, surname="张", staff_area="310101",
                                  patient_area="110105") == []


def test_a_vip_record_opened_without_care_link_is_high_severity(hospital_a, patient_a):
    admin = member_of(hospital_a, Role.HOSPITAL_ADMIN)
    with tenant_context(hospital_a.pk):
        PatientWatch.objects.create(hospital=hospital_a, patient=patient_a, vip=True)
    record(hospital_a, actor=admin, role=Role.HOSPITAL_ADMIN, patient=patient_a, occurred_at=at_local(10))
    detect_today(hospital_a)
    [case] = cases(hospital_a, "vip_record")
    assert case.severity == "high"


def test_repeated_failed_logins_open_a_case(hospital_a, doctor_a):
    for second in range(5):
        record(hospital_a, action="auth.login", actor=None, role="", outcome="denied", object_type="",
               occurred_at=at_local(10) + datetime.timedelta(seconds=second), ip="114.80.1.1",
               detail={"username": doctor_a.username, "reason": "bad_credentials"})
    detect_today(hospital_a)
    [case] = cases(hospital_a, "failed_logins")
    assert (case.subject_user_id, case.evidence["failures"]) == (doctor_a.pk, 5)


def test_a_few_failed_logins_are_not_a_case(hospital_a, doctor_a):
    for second in range(3):
        record(hospital_a, action="auth.login", role="", outcome="denied", object_type="",
               occurred_at=at_local(10) + datetime.timedelta(seconds=second),
               detail={"username": doctor_a.username})
    detect_today(hospital_a)
    assert cases(hospital_a, "failed_logins") == []


def test_one_token_from_two_countries_opens_a_case(hospital_a, doctor_a, patient_a):
    _encounter(patient_a, attending=doctor_a)
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10), ip="114.80.1.1",
           detail={"token_id": 77})
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10, 20), ip="95.24.3.3",
           detail={"token_id": 77})
    detect_today(hospital_a)
    [case] = cases(hospital_a, "token_multi_country")
    assert case.evidence["countries"] == ["CN", "RU"]


def test_one_token_from_the_lan_and_china_is_not_a_case(hospital_a, doctor_a, patient_a):
    _encounter(patient_a, attending=doctor_a)
    for minute, ip in ((0, "10.1.2.3"), (5, "114.80.1.1"), (9, "111.1.1.1")):
        record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10, minute), ip=ip,
               detail={"token_id": 78})
    detect_today(hospital_a)
    assert cases(hospital_a, "token_multi_country") == []


def test_access_after_revocation_opens_a_case(hospital_a, doctor_a, patient_a):
    _encounter(patient_a, attending=doctor_a)
    Membership.objects.filter(user=doctor_a).update(active=False, revoked_at=at_local(9))
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10))
    detect_today(hospital_a)
    [case] = cases(hospital_a, "access_after_revocation")
    assert case.subject_user_id == doctor_a.pk


def test_access_before_revocation_is_not_a_case(hospital_a, doctor_a, patient_a):
    _encounter(patient_a, attending=doctor_a)
    Membership.objects.filter(user=doctor_a).update(active=False, revoked_at=at_local(11))
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10))
    detect_today(hospital_a)
    assert cases(hospital_a, "access_after_revocation") == []


def test_an_export_without_consent_or_deidentification_opens_two_cases(hospital_a, doctor_a, patient_a):
    other = patient_create(hospital_id=hospital_a.pk, name="王五")
    consent_record(hospital_id=hospital_a.pk, patient_id=other.pk, purpose="research", decision="granted",
                   channel="paper", recorded_at=at_local(8))
    record(hospital_a, action="reports.export", actor=doctor_a, object_type="dataset", occurred_at=at_local(10),
           detail={"patient_ids": [patient_a.pk, other.pk], "purpose": "research", "deidentified": False})
    detect_today(hospital_a)
    [consent_case] = cases(hospital_a, "egress_without_consent")
    assert consent_case.evidence["patients_without_consent"] == [patient_a.pk]
    assert len(cases(hospital_a, "egress_not_deidentified")) == 1


def test_a_consented_deidentified_export_is_not_a_case(hospital_a, doctor_a, patient_a):
    consent_record(hospital_id=hospital_a.pk, patient_id=patient_a.pk, purpose="research", decision="granted",
                   channel="wechat", recorded_at=at_local(8))
    record(hospital_a, action="reports.export", actor=doctor_a, object_type="dataset", occurred_at=at_local(10),
           detail={"patient_ids": [patient_a.pk], "purpose": "research", "deidentified": True})
    detect_today(hospital_a)
    assert cases(hospital_a, "egress_without_consent") == cases(hospital_a, "egress_not_deidentified") == []


def test_consent_withdrawn_before_the_export_counts_as_none(hospital_a, doctor_a, patient_a):
    consent_record(hospital_id=hospital_a.pk, patient_id=patient_a.pk, purpose="research", decision="granted",
                   channel="wechat", recorded_at=at_local(7))
    consent_record(hospital_id=hospital_a.pk, patient_id=patient_a.pk, purpose="research", decision="withdrawn",
                   channel="wechat", recorded_at=at_local(8))
    record(hospital_a, action="reports.export", actor=doctor_a, object_type="dataset", occurred_at=at_local(10),
           detail={"patient_ids": [patient_a.pk], "purpose": "research", "deidentified": True})
    detect_today(hospital_a)
    assert len(cases(hospital_a, "egress_without_consent")) == 1


def test_a_disabled_rule_opens_nothing(hospital_a, doctor_a, patient_a):
    from apps.configuration.services import setting_set

    with tenant_context(hospital_a.pk):
        setting_set(key="compliance.rule_no_care_relationship_enabled", value=False, actor=None,
                    role=Role.PLATFORM_ADMIN, hospital_id=hospital_a.pk)
    record(hospital_a, actor=doctor_a, patient=patient_a, occurred_at=at_local(10))
    detect_today(hospital_a)
    assert cases(hospital_a, "no_care_relationship") == []


def test_rules_never_see_another_hospitals_events(hospital_a, hospital_b, doctor_b):
    patient_b = patient_create(hospital_id=hospital_b.pk, name="李四")
    record(hospital_b, actor=doctor_b, patient=patient_b, occurred_at=at_local(10))
    detect_today(hospital_a)
    assert cases(hospital_a) == [] and cases(hospital_b) == []
