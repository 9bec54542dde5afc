"""Reading, signing off and reprocessing reports: scoping, visibility to patients,
sign-off edits kept as a diff and audited, and the status rules (409s)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.privacy.models import AuditEvent
from apps.reports.models import LabItem, LabReport, SignOff
from apps.reports.services import lab_report_begin, lab_report_fail
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

from .conftest import REPORTS_URL, make_preliminary, set_hospital_setting, submit

pytestmark = pytest.mark.django_db


def _failed(patient, actor, code="no_indicators"):
    report = submit(patient, actor)
    with tenant_context(patient.hospital_id):
        lab_report_begin(report_id=report.pk, attempt=report.attempt)
        return lab_report_fail(report_id=report.pk, attempt=report.attempt, code=code, reason="nothing read")


def test_staff_list_the_hospitals_reports_with_their_flag_counts(doctor_a, patient_a, patient_b, doctor_b):
    report = make_preliminary(patient_a, doctor_a)
    make_preliminary(patient_b, doctor_b)
    rows = client_for(doctor_a).get(REPORTS_URL).json()["results"]
    assert [row["id"] for row in rows] == [report.pk]
    with tenant_context(patient_a.hospital_id):
        expected = LabItem.objects.filter(report=report, flag__in=("H", "L")).count()
    assert expected > 0 and rows[0]["flags_count"] == expected
    assert (rows[0]["status"], rows[0]["patient_name"]) == ("preliminary", "张三")


def test_the_list_runs_a_fixed_number_of_queries(doctor_a, patient_a):
    client = client_for(doctor_a)
    make_preliminary(patient_a, doctor_a)
    client.get(REPORTS_URL)  # the first request also loads per-process caches
    with CaptureQueriesContext(connection) as one:
        client.get(REPORTS_URL)
    for seed in range(2, 5):
        make_preliminary(patient_a, doctor_a, seed=seed)
    with CaptureQueriesContext(connection) as four:
        assert len(client.get(REPORTS_URL).json()["results"]) == 4
    # (audit appends vary by one or two statements with the chain shard they land on)
    report_queries = [[q["sql"] for q in run.captured_queries if "reports_" in q["sql"]] for run in (one, four)]
    assert len(report_queries[0]) == len(report_queries[1]) == 2, report_queries[1]  # count, page


def test_detail_shows_items_interpretation_and_is_audited(doctor_a, patient_a):
    report = make_preliminary(patient_a, doctor_a)
    body = client_for(doctor_a).get(f"{REPORTS_URL}{report.pk}/").json()
    assert len(body["items"]) == 22 and body["items"][0]["code"] == "WBC"
    assert body["interpretation"]["urgency"] == "soon"
    assert body["content_visible"] is True and body["sign_off"] is None
    assert body["model_versions"] == {"ocr": "tesseract:5.3.0", "interpretation": "truth-fixture"}
    event = AuditEvent.objects.get(action="lab_report.read")
    assert (event.object_id, event.patient_id) == (str(report.pk), patient_a.pk)


def test_another_hospitals_report_is_a_404_everywhere(doctor_a, patient_b, doctor_b):
    report = make_preliminary(patient_b, doctor_b)
    client = client_for(doctor_a)
    for method, path in [("get", ""), ("get", "file/"), ("post", "sign-off/"), ("post", "reprocess/")]:
        response = getattr(client, method)(f"{REPORTS_URL}{report.pk}/{path}", {}, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found"), path
    with tenant_context(patient_b.hospital_id):
        assert LabReport.objects.get(pk=report.pk).status == "preliminary"


def test_the_uploaded_file_is_served_to_staff_and_audited(doctor_a, patient_a):
    report = make_preliminary(patient_a, doctor_a)
    response = client_for(doctor_a).get(f"{REPORTS_URL}{report.pk}/file/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    assert AuditEvent.objects.filter(action="lab_report.file_read", object_id=str(report.pk)).count() == 1


def test_a_patient_sees_a_report_only_after_sign_off_by_default(doctor_a, patient_user, patient_a):
    report = make_preliminary(patient_a, doctor_a)
    patient = client_for(patient_user)
    # Given a preliminary report a doctor uploaded, the patient cannot see it
    assert patient.get(REPORTS_URL).json()["results"] == []
    assert patient.get(f"{REPORTS_URL}{report.pk}/").status_code == 404
    # when the doctor signs it off
    assert client_for(doctor_a).post(f"{REPORTS_URL}{report.pk}/sign-off/", {}, format="json").status_code == 200
    # then the patient sees it, results included
    body = patient.get(f"{REPORTS_URL}{report.pk}/").json()
    assert (body["status"], body["content_visible"], len(body["items"])) == ("final", True, 22)


def test_a_hospital_may_show_preliminary_reports_to_patients(hospital_a, doctor_a, patient_user, patient_a):
    set_hospital_setting(hospital_a, "reports.patients_see_preliminary", True)
    report = make_preliminary(patient_a, doctor_a)
    body = client_for(patient_user).get(f"{REPORTS_URL}{report.pk}/").json()
    assert (body["status"], body["content_visible"], len(body["items"])) == ("preliminary", True, 22)


def test_a_patient_follows_their_own_upload_but_sees_results_only_when_visible(patient_user, patient_a):
    report = make_preliminary(patient_a, patient_user, role=Role.PATIENT)
    body = client_for(patient_user).get(f"{REPORTS_URL}{report.pk}/").json()
    assert (body["status"], body["content_visible"], body["items"], body["interpretation"]) == (
        "preliminary", False, [], None)
    assert body["flags_count"] is None  # not even how many results are abnormal


def test_a_patient_does_not_see_other_patients_reports(hospital_a, doctor_a, patient_a):
    from apps.patients.services import patient_create

    report = make_preliminary(patient_a, doctor_a)
    client_for(doctor_a).post(f"{REPORTS_URL}{report.pk}/sign-off/", {}, format="json")
    other_user = member_of(hospital_a, Role.PATIENT)
    patient_create(hospital_id=hospital_a.pk, name="王五", user=other_user)
    assert client_for(other_user).get(f"{REPORTS_URL}{report.pk}/").status_code == 404


def test_sign_off_with_edits_makes_the_report_final_and_audits_the_diff(doctor_a, patient_a, hospital_a):
    report = make_preliminary(patient_a, doctor_a)
    with tenant_context(hospital_a.pk):
        wbc = LabItem.objects.get(report=report, code="WBC")
    old_value, old_flag = wbc.value, wbc.flag
    # When the doctor corrects a misread value and the conclusion, then signs off
    response = client_for(doctor_a).post(f"{REPORTS_URL}{report.pk}/sign-off/", {
        "items": [{"id": wbc.pk, "value": 12.5, "flag": "H"}],
        "conclusion": {"text_zh": "白细胞升高，建议复查", "text_en": "WBC raised; repeat the test"},
        "urgency": "soon", "comment": "checked against the paper copy"}, format="json")
    # then the report is final with the corrections
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "final"
    item = next(row for row in body["items"] if row["code"] == "WBC")
    assert (item["value"], item["value_text"], item["flag"]) == (12.5, "12.5", "H")
    assert body["interpretation"]["content"]["conclusion"]["text_zh"] == "白细胞升高，建议复查"
    # and the sign-off keeps who and the diff (before, after)
    expected_items = [{"id": wbc.pk, "code": "WBC", "changes": {"value": [old_value, 12.5]}
                       | ({"flag": [old_flag, "H"]} if old_flag != "H" else {})}]
    with tenant_context(hospital_a.pk):
        sign_off = SignOff.objects.get(report=report)
    assert sign_off.signed_by == doctor_a and sign_off.edits["items"] == expected_items
    assert sign_off.edits["interpretation"]["conclusion.text_en"][1] == "WBC raised; repeat the test"
    assert body["sign_off"]["signed_by"] == doctor_a.username
    # and the audit event carries the same diff
    event = AuditEvent.objects.get(action="lab_report.sign_off")
    assert (event.actor_id, event.patient_id, event.detail["edits"]) == (doctor_a.pk, patient_a.pk, sign_off.edits)


def test_a_report_is_signed_off_once(doctor_a, patient_a):
    report = make_preliminary(patient_a, doctor_a)
    client = client_for(doctor_a)
    assert client.post(f"{REPORTS_URL}{report.pk}/sign-off/", {}, format="json").status_code == 200
    response = client.post(f"{REPORTS_URL}{report.pk}/sign-off/", {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "already_signed_off")


@pytest.mark.parametrize("state", ["received", "processing", "failed"])
def test_only_a_preliminary_report_can_be_signed_off(doctor_a, patient_a, state):
    report = submit(patient_a, doctor_a)
    if state != "received":
        with tenant_context(patient_a.hospital_id):
            lab_report_begin(report_id=report.pk, attempt=report.attempt)
            if state == "failed":
                lab_report_fail(report_id=report.pk, attempt=report.attempt, code="no_indicators", reason="r")
    response = client_for(doctor_a).post(f"{REPORTS_URL}{report.pk}/sign-off/", {}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "report_not_ready")
    assert not AuditEvent.objects.filter(action="lab_report.sign_off", outcome="success").exists()


def test_only_doctors_sign_off(hospital_a, doctor_a, patient_a, patient_user):
    report = make_preliminary(patient_a, doctor_a)
    for user in (member_of(hospital_a, Role.HOSPITAL_ADMIN), patient_user):
        response = client_for(user).post(f"{REPORTS_URL}{report.pk}/sign-off/", {}, format="json")
        assert response.status_code in (403, 404)
    with tenant_context(hospital_a.pk):
        assert LabReport.objects.get(pk=report.pk).status == "preliminary"


def test_an_edit_of_an_item_of_another_report_is_refused_and_changes_nothing(doctor_a, patient_a, hospital_a):
    report = make_preliminary(patient_a, doctor_a)
    other = make_preliminary(patient_a, doctor_a, seed=2)
    with tenant_context(hospital_a.pk):
        foreign = LabItem.objects.filter(report=other).first()
    response = client_for(doctor_a).post(f"{REPORTS_URL}{report.pk}/sign-off/",
                                         {"items": [{"id": foreign.pk, "value": 1.0}]}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid")
    with tenant_context(hospital_a.pk):
        assert LabReport.objects.get(pk=report.pk).status == "preliminary"
        assert LabItem.objects.get(pk=foreign.pk).value == foreign.value


def test_a_bad_flag_in_an_edit_is_a_400(doctor_a, patient_a):
    report = make_preliminary(patient_a, doctor_a)
    response = client_for(doctor_a).post(f"{REPORTS_URL}{report.pk}/sign-off/",
                                         {"items": [{"id": 1, "flag": "X"}]}, format="json")
    assert response.status_code == 400 and "items.0.flag" in response.json()["error"]["fields"]


def test_a_failed_report_is_reprocessed_by_staff(doctor_a, patient_a, hospital_a, django_capture_on_commit_callbacks):
    report = _failed(patient_a, doctor_a)
    body = client_for(doctor_a).get(f"{REPORTS_URL}{report.pk}/").json()
    assert (body["status"], body["failure_code"]) == ("failed", "no_indicators") and body["failure_message"]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client_for(doctor_a).post(f"{REPORTS_URL}{report.pk}/reprocess/")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["failure_code"]) == ("received", "")
    assert len(queued) == 2  # the status event and the analysis task
    with tenant_context(hospital_a.pk):
        assert LabReport.objects.get(pk=report.pk).attempt == 2
    assert AuditEvent.objects.get(action="lab_report.reprocess").detail == {"previous_failure": "no_indicators",
                                                                            "attempt": 2}


def test_only_a_failed_report_is_reprocessed(doctor_a, patient_a):
    report = make_preliminary(patient_a, doctor_a)
    response = client_for(doctor_a).post(f"{REPORTS_URL}{report.pk}/reprocess/")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_failed")


def test_a_patient_cannot_reprocess(patient_user, patient_a):
    report = _failed(patient_a, patient_user)
    assert client_for(patient_user).post(f"{REPORTS_URL}{report.pk}/reprocess/").status_code == 403
