"""Uploading a lab report: what is accepted, what is refused with which status and code,
and that a refusal leaves nothing behind (no row, no file)."""

import hashlib

import pytest

from apps.privacy.models import AuditEvent
from apps.reports.models import LabReport
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of
from tests.support.upload_files import (blank_page, huge_page_pdf, jpeg_bytes, jpeg_claiming_size, pdf_bytes,
                                        png_bomb, png_bytes, report_jpeg, report_photo)

from .conftest import REPORTS_URL, stored_files, upload_file

pytestmark = pytest.mark.django_db


def _reports(hospital) -> list[LabReport]:
    with tenant_context(hospital.pk):
        return list(LabReport.objects.all())


def test_a_doctor_uploads_a_photo_for_a_patient(doctor_a, patient_a, media_root):
    data = report_jpeg()
    # When a doctor uploads a report photo for a patient
    response = client_for(doctor_a).post(REPORTS_URL, {"file": upload_file(data, name="张三 化验单.jpg"),
                                                       "patient": patient_a.pk}, format="multipart")
    # then it is received, with its size, type and checksum
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["patient"], body["content_type"], body["size"]) == (
        "received", patient_a.pk, "image/jpeg", len(data))
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    # and the file is stored once, under a random name (not the patient's file name)
    [path] = stored_files(media_root)
    assert path.read_bytes() == data
    assert "张三" not in str(path) and path.suffix == ".jpg" and len(path.stem) == 32
    # and the upload is audited against the patient
    event = AuditEvent.objects.get(action="lab_report.upload")
    assert (event.patient_id, event.actor_id, event.object_id) == (patient_a.pk, doctor_a.pk, str(body["id"]))


@pytest.mark.parametrize("kind, make, content_type", [
    ("png", lambda: png_bytes(report_photo()[0]), "image/png"),
    ("pdf", lambda: pdf_bytes(report_photo()[0]), "application/pdf"),
])
def test_png_and_pdf_are_accepted(doctor_a, patient_a, kind, make, content_type):
    response = client_for(doctor_a).post(REPORTS_URL, {"file": upload_file(make(), name=f"r.{kind}"),
                                                       "patient": patient_a.pk}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == content_type


def _truncated_jpeg():
    data = report_jpeg()
    return data[: len(data) // 2]


BAD_INPUTS = [
    ("a text file named .jpg", lambda: b"these are my blood results: all fine", 415, "not_an_image"),
    ("a GIF", lambda: b"GIF89a" + bytes(200), 415, "not_an_image"),
    ("a truncated JPEG", _truncated_jpeg, 400, "corrupt_image"),
    ("a 20,000 px square PNG bomb", lambda: png_bomb(20_000, 20_000), 413, "too_many_pixels"),
    ("a JPEG claiming 20,000 x 20,000", lambda: jpeg_claiming_size(20_000, 20_000), 413, "too_many_pixels"),
    ("a PDF page of 200 inches", huge_page_pdf, 413, "too_many_pixels"),
    ("a damaged PDF", lambda: b"%PDF-1.4\nnot really\n%%EOF", 400, "corrupt_pdf"),
    ("an empty page", lambda: jpeg_bytes(blank_page()), 400, "empty_page"),
]


@pytest.mark.parametrize("label, make, status, code", BAD_INPUTS, ids=[row[0] for row in BAD_INPUTS])
def test_bad_input_is_refused_with_its_code_and_leaves_nothing(doctor_a, patient_a, hospital_a, media_root,
                                                               label, make, status, code):
    # When a doctor uploads a bad file (declared as a JPEG whatever it is)
    response = client_for(doctor_a).post(REPORTS_URL, {"file": upload_file(make()), "patient": patient_a.pk},
                                         format="multipart")
    # then it is refused with the status and code, and a message saying what to do
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    # and nothing was stored: no row, no file
    assert _reports(hospital_a) == [] and stored_files(media_root) == []
    # and the refusal is on the audit record
    event = AuditEvent.objects.get(action="lab_report.create")
    assert (event.outcome, event.actor_id) == ("invalid", doctor_a.pk)


def test_a_file_over_the_byte_limit_is_a_413(doctor_a, patient_a, hospital_a, media_root, settings):
    data = pdf_bytes(report_photo()[0])
    settings.LAB_REPORT_MAX_UPLOAD_BYTES = len(data) - 1
    response = client_for(doctor_a).post(REPORTS_URL, {"file": upload_file(data, "r.pdf", "application/pdf"),
                                                       "patient": patient_a.pk}, format="multipart")
    assert (response.status_code, response.json()["error"]["code"]) == (413, "file_too_large")
    assert _reports(hospital_a) == [] and stored_files(media_root) == []


def test_a_body_far_over_the_limit_is_refused_before_it_is_parsed(doctor_a, patient_a, settings):
    settings.LAB_REPORT_MAX_UPLOAD_BYTES = 1000
    response = client_for(doctor_a).post(REPORTS_URL, {"file": upload_file(), "patient": patient_a.pk},
                                         format="multipart")
    assert (response.status_code, response.json()["error"]["code"]) == (413, "file_too_large")


def test_a_failing_write_after_the_file_is_stored_removes_the_file(doctor_a, patient_a, hospital_a, media_root,
                                                                  monkeypatch):
    # Given the audit append fails (say the database went away mid-request)
    import apps.reports.services as services

    def broken_audit(**kwargs):
        raise RuntimeError("database connection lost")

    monkeypatch.setattr(services, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        services.lab_report_submit(patient=patient_a, data=report_jpeg(), actor=doctor_a, role=Role.DOCTOR)
    # then neither the row nor the file survives
    assert _reports(hospital_a) == [] and stored_files(media_root) == []


def test_staff_must_say_which_patient(doctor_a):
    response = client_for(doctor_a).post(REPORTS_URL, {"file": upload_file()}, format="multipart")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["patient"])


def test_a_missing_file_is_a_400(doctor_a, patient_a):
    response = client_for(doctor_a).post(REPORTS_URL, {"patient": patient_a.pk}, format="multipart")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["file"])


def test_another_hospitals_patient_is_a_404(doctor_a, patient_b, media_root):
    response = client_for(doctor_a).post(REPORTS_URL, {"file": upload_file(), "patient": patient_b.pk},
                                         format="multipart")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert stored_files(media_root) == []


def test_a_patient_uploads_for_themselves(patient_user, patient_a):
    response = client_for(patient_user).post(REPORTS_URL, {"file": upload_file()}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["patient"] == patient_a.pk


def test_a_patient_cannot_upload_for_someone_else(hospital_a, patient_user, patient_a):
    from apps.patients.services import patient_create

    other = patient_create(hospital_id=hospital_a.pk, name="王五")
    response = client_for(patient_user).post(REPORTS_URL, {"file": upload_file(), "patient": other.pk},
                                             format="multipart")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_a_patient_account_without_a_record_cannot_upload(hospital_a):
    lone = member_of(hospital_a, Role.PATIENT)
    response = client_for(lone).post(REPORTS_URL, {"file": upload_file()}, format="multipart")
    assert response.status_code == 403


def test_a_compliance_officer_neither_uploads_nor_reads(hospital_a, patient_a):
    officer = client_for(member_of(hospital_a, Role.COMPLIANCE_OFFICER))
    response = officer.post(REPORTS_URL, {"file": upload_file(), "patient": patient_a.pk}, format="multipart")
    assert response.status_code == 403
    assert officer.get(REPORTS_URL).status_code == 403


def test_anonymous_callers_are_refused(api_client, patient_a):
    response = api_client.post(REPORTS_URL, {"file": upload_file(), "patient": patient_a.pk}, format="multipart")
    assert response.status_code == 401
