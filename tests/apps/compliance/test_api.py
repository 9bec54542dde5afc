import pytest
from django.utils import timezone

from apps.compliance.models import ViolationCase
from apps.patients.services import patient_create
from apps.privacy.models import AuditEvent
from apps.privacy.services import audit_record
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

BASE = "/api/v1/compliance"


@pytest.fixture
def reads(hospital_a, hospital_b, doctor_a, doctor_b, patient_a):
    patient_b = patient_create(hospital_id=hospital_b.pk, name="李四")
    audit_record(action="patient.read", actor=doctor_a, role=Role.DOCTOR, hospital_id=hospital_a.pk,
                 object_type="patient", object_id=patient_a.pk, patient_id=patient_a.pk)
    audit_record(action="patient.read", actor=doctor_b, role=Role.DOCTOR, hospital_id=hospital_b.pk,
                 object_type="patient", object_id=patient_b.pk, patient_id=patient_b.pk)
    return patient_b


def _case(hospital, **fields):
    with tenant_context(hospital.pk):
        return ViolationCase.objects.create(hospital=hospital, rule="no_care_relationship", severity="medium",
                                            summary="planted", dedup_key=f"k{ViolationCase.objects.count()}",
                                            **fields)


def test_officer_sees_only_their_hospitals_events(officer_a, reads, doctor_a):
    body = client_for(officer_a).get(f"{BASE}/events/", {"action": "patient.read"}).json()
    assert [row["actor_id"] for row in body["results"]] == [doctor_a.pk]


def test_officer_filters_by_patient_and_outcome(officer_a, reads, patient_a):
    client = client_for(officer_a)
    assert client.get(f"{BASE}/events/", {"patient": patient_a.pk, "outcome": "denied"}).json()["results"] == []
    assert len(client.get(f"{BASE}/patients/{patient_a.pk}/timeline/").json()["results"]) >= 1


def test_a_bad_filter_is_a_400_with_the_field(officer_a):
    response = client_for(officer_a).get(f"{BASE}/events/", {"since": "yesterday"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid" and "since" in response.json()["error"]["fields"]


def test_an_officer_asking_for_another_hospital_is_refused(officer_a, hospital_b, reads):
    client = client_for(officer_a)
    by_header = client.get(f"{BASE}/events/", HTTP_X_HOSPITAL=hospital_b.slug)
    by_param = client.get(f"{BASE}/events/", {"hospital": hospital_b.slug})
    assert (by_header.status_code, by_header.json()["error"]["code"]) == (403, "hospital_not_allowed")
    assert (by_param.status_code, by_param.json()["error"]["code"]) == (400, "hospital_not_allowed")


def test_another_hospitals_patient_timeline_is_a_404(officer_a, reads):
    response = client_for(officer_a).get(f"{BASE}/patients/{reads.pk}/timeline/")
    assert response.status_code == 404


def test_doctors_cannot_search_the_audit_log(doctor_a):
    response = client_for(doctor_a).get(f"{BASE}/events/")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_export_then_verify_and_a_forged_manifest(officer_a, reads):
    client = client_for(officer_a)
    exported = client.post(f"{BASE}/events/export/", {"action": "patient.read"}, format="json").json()
    ok = client.post(f"{BASE}/manifests/verify/", {"manifest": exported["manifest"], "csv": exported["csv"]},
                     format="json")
    assert ok.status_code == 200 and ok.json()["file_checked"] is True
    forged = dict(exported["manifest"], row_count=0)
    refused = client.post(f"{BASE}/manifests/verify/", {"manifest": forged}, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "manifest_signature_invalid")


def test_chain_verification_over_the_api(officer_a, reads):
    body = client_for(officer_a).post(f"{BASE}/chains/verify/").json()
    assert body["ok"] is True and body["chains"]


def test_case_workflow_is_enforced_and_audited(officer_a, hospital_a):
    case = _case(hospital_a)
    client = client_for(officer_a)
    too_early = client.post(f"{BASE}/cases/{case.pk}/resolve/", {"resolution": "justified", "note": "ok"},
                            format="json")
    assert (too_early.status_code, too_early.json()["error"]["code"]) == (409, "case_transition_invalid")
    assert client.post(f"{BASE}/cases/{case.pk}/investigate/").json()["status"] == "investigating"
    no_note = client.post(f"{BASE}/cases/{case.pk}/resolve/", {"resolution": "justified", "note": ""}, format="json")
    assert no_note.status_code == 400
    done = client.post(f"{BASE}/cases/{case.pk}/resolve/", {"resolution": "violation_confirmed",
                                                            "note": "confirmed with the ward"}, format="json").json()
    assert (done["status"], done["resolution"], done["assignee"]) == ("resolved", "violation_confirmed", officer_a.pk)
    actions = list(AuditEvent.objects.filter(object_type="violation_case", object_id=str(case.pk))
                   .values_list("action", flat=True))
    assert {"compliance.case_investigating", "compliance.case_resolved"} <= set(actions)


def test_cases_are_assigned_to_officers_only(officer_a, doctor_a, hospital_a):
    case = _case(hospital_a)
    response = client_for(officer_a).post(f"{BASE}/cases/{case.pk}/assign/", {"assignee": doctor_a.pk}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid")


def test_another_hospitals_case_is_a_404(officer_a, hospital_b):
    case = _case(hospital_b)
    assert client_for(officer_a).get(f"{BASE}/cases/{case.pk}/").status_code == 404


def test_monthly_report_counts_by_rule(officer_a, hospital_a):
    case = _case(hospital_a)
    client = client_for(officer_a)
    client.post(f"{BASE}/cases/{case.pk}/investigate/")
    client.post(f"{BASE}/cases/{case.pk}/resolve/", {"resolution": "justified", "note": "ward round"}, format="json")
    month = timezone.localtime(case.opened_at).strftime("%Y-%m")
    report = client.get(f"{BASE}/reports/monthly/", {"month": month}).json()
    [row] = report["by_rule"]
    assert (row["rule"], row["opened"], row["justified"], row["still_open"]) == ("no_care_relationship", 1, 1, 0)
    assert client.get(f"{BASE}/reports/monthly/", {"month": "2026-13"}).status_code == 400


def test_consent_over_the_api_and_for_another_hospitals_patient(officer_a, patient_a, reads):
    client = client_for(officer_a)
    created = client.post(f"{BASE}/consents/", {"patient": patient_a.pk, "purpose": "research",
                                                "decision": "granted", "channel": "paper"}, format="json")
    assert created.status_code == 201
    foreign = client.post(f"{BASE}/consents/", {"patient": reads.pk, "purpose": "research", "decision": "granted",
                                                "channel": "paper"}, format="json")
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (404, "patient_not_found")
    assert [r["decision"] for r in client.get(f"{BASE}/consents/", {"patient": patient_a.pk}).json()] == ["granted"]


def test_a_patient_sees_who_accessed_their_record_without_names(hospital_a, doctor_a):
    patient_user = member_of(hospital_a, Role.PATIENT)
    record = patient_create(hospital_id=hospital_a.pk, name="赵六", user=patient_user)
    audit_record(action="patient.read", actor=doctor_a, role=Role.DOCTOR, hospital_id=hospital_a.pk,
                 object_type="patient", object_id=record.pk, patient_id=record.pk)
    [entry] = client_for(patient_user).get(f"{BASE}/my-access/").json()["results"]
    assert (entry["role"], entry["action"], entry["staff"]) == ("doctor", "patient.read", None)


def test_names_show_when_the_policy_says_so(hospital_a, doctor_a):
    from apps.configuration.services import setting_set

    with tenant_context(hospital_a.pk):
        setting_set(key="compliance.patient_view_shows_names", value=True, actor=None, role=Role.PLATFORM_ADMIN,
                    hospital_id=hospital_a.pk)
    patient_user = member_of(hospital_a, Role.PATIENT)
    record = patient_create(hospital_id=hospital_a.pk, name="赵六", user=patient_user)
    audit_record(action="patient.read", actor=doctor_a, role=Role.DOCTOR, hospital_id=hospital_a.pk,
                 object_type="patient", object_id=record.pk, patient_id=record.pk)
    [entry] = client_for(patient_user).get(f"{BASE}/my-access/").json()["results"]
    assert entry["staff"] == doctor_a.username


def test_watch_lists_are_set_over_the_api_and_audited(officer_a, patient_a, doctor_a):
    client = client_for(officer_a)
    assert client.put(f"{BASE}/watch/patients/{patient_a.pk}/", {"vip": True}, format="json").status_code == 200
    bad = client.put(f"{BASE}/watch/staff/{doctor_a.pk}/", {"work_start_hour": 8, "work_end_hour": 8}, format="json")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid")
    half = client.put(f"{BASE}/watch/staff/{doctor_a.pk}/", {"work_start_hour": 20}, format="json")
    assert (half.status_code, half.json()["error"]["code"]) == (400, "invalid")
    night = client.put(f"{BASE}/watch/staff/{doctor_a.pk}/", {"work_start_hour": 20, "work_end_hour": 8}, format="json")
    assert (night.status_code, night.json()["working_hours"]) == (200, [20, 8])
    assert AuditEvent.objects.filter(action="compliance.patient_watch_set").count() == 1


def test_one_real_token_used_from_two_countries_opens_a_case(hospital_a, doctor_a, patient_a):
    from apps.patients.services import encounter_create

    from .conftest import cases, detect

    with tenant_context(hospital_a.pk):
        encounter_create(patient=patient_a, attending=doctor_a, started_at=timezone.now())
    client = client_for(doctor_a)
    # given the same bearer token calls the API from Shanghai and, minutes later, from Moscow
    assert client.get(f"/api/v1/patients/{patient_a.pk}/", REMOTE_ADDR="114.80.1.1").status_code == 200
    assert client.get(f"/api/v1/patients/{patient_a.pk}/", REMOTE_ADDR="95.24.3.3").status_code == 200
    detect(hospital_a)
    [case] = cases(hospital_a, "token_multi_country")
    assert case.evidence["countries"] == ["CN", "RU"] and case.subject_user_id == doctor_a.pk
