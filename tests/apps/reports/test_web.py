"""The web admin's lab-report pages: list with flag counts, the report page with H/L
highlighted, sign-off with edits through the form, uploads, and who may see what."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.privacy.models import AuditEvent
from apps.reports.models import LabItem, LabReport, SignOff
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import member_of
from tests.support.upload_files import report_jpeg

from .conftest import make_preliminary, stored_files

pytestmark = pytest.mark.django_db


def web_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_navigation_links_the_reports_for_doctors(doctor_a):
    page = web_client(doctor_a).get("/").content.decode()
    assert 'href="/reports/"' in page


def test_the_list_shows_status_patient_and_flag_count(doctor_a, patient_a, hospital_a):
    report = make_preliminary(patient_a, doctor_a)
    with tenant_context(hospital_a.pk):
        flags = LabItem.objects.filter(report=report, flag__in=("H", "L")).count()
    page = web_client(doctor_a).get("/reports/").content.decode()
    row = re.search(rf'<tr data-report="{report.pk}">(.*?)</tr>', page, re.S).group(1)
    assert 'data-status="preliminary"' in row and "张三" in row
    assert re.search(r'data-testid="flags-count">(\d+)<', row).group(1) == str(flags)


def test_the_report_page_highlights_abnormal_items_and_shows_the_photo(doctor_a, patient_a, hospital_a):
    report = make_preliminary(patient_a, doctor_a)
    client = web_client(doctor_a)
    page = client.get(f"/reports/{report.pk}/").content.decode()
    with tenant_context(hospital_a.pk):
        abnormal = list(LabItem.objects.filter(report=report, flag__in=("H", "L")))
    for item in abnormal:
        assert f'<tr class="flag-{item.flag}" data-code="{item.code}">' in page
    assert 'data-testid="report-image"' in page and 'data-testid="sign-off-form"' in page
    image = client.get(f"/reports/{report.pk}/file/")
    assert image.status_code == 200 and b"".join(image.streaming_content)[:2] == b"\xff\xd8"
    assert AuditEvent.objects.filter(action="lab_report.read", object_id=str(report.pk)).exists()


def test_signing_off_through_the_form_records_only_what_changed(doctor_a, patient_a, hospital_a):
    report = make_preliminary(patient_a, doctor_a)
    with tenant_context(hospital_a.pk):
        items = list(LabItem.objects.filter(report=report))
    form = {f"item_{item.pk}_value": "" if item.value is None else repr(item.value) for item in items}
    form |= {f"item_{item.pk}_flag": item.flag for item in items}
    hgb = next(item for item in items if item.code == "HGB")
    form[f"item_{hgb.pk}_value"] = "99"
    form[f"item_{hgb.pk}_flag"] = "L"
    form |= {"conclusion_zh": "贫血，建议就诊", "conclusion_en": "Some results are outside their ranges",
             "urgency": "soon", "comment": ""}
    response = web_client(doctor_a).post(f"/reports/{report.pk}/sign-off/", form)
    assert response.status_code == 302
    with tenant_context(hospital_a.pk):
        sign_off = SignOff.objects.get(report=report)
        assert LabReport.objects.get(pk=report.pk).status == "final"
    assert [edit["code"] for edit in sign_off.edits["items"]] == ["HGB"]
    assert sign_off.edits["items"][0]["changes"]["value"] == [hgb.value, 99.0]
    assert list(sign_off.edits["interpretation"]) == ["conclusion.text_zh"]


def test_signing_off_twice_through_the_form_is_a_409(doctor_a, patient_a):
    report = make_preliminary(patient_a, doctor_a)
    client = web_client(doctor_a)
    form = {"urgency": "soon"}
    assert client.post(f"/reports/{report.pk}/sign-off/", form).status_code == 302
    assert client.post(f"/reports/{report.pk}/sign-off/", form).status_code == 409


def test_a_doctor_uploads_through_the_form(doctor_a, patient_a, hospital_a, media_root):
    upload = SimpleUploadedFile("r.jpg", report_jpeg(), content_type="image/jpeg")
    response = web_client(doctor_a).post("/reports/upload/", {"medical_record_number": patient_a.medical_record_number,
                                                              "file": upload})
    assert response.status_code == 302
    with tenant_context(hospital_a.pk):
        report = LabReport.objects.get()
    assert response["Location"] == f"/reports/{report.pk}/" and len(stored_files(media_root)) == 1


def test_a_bad_file_through_the_form_keeps_the_form_with_the_status(doctor_a, patient_a, media_root):
    upload = SimpleUploadedFile("r.jpg", b"not an image at all", content_type="image/jpeg")
    response = web_client(doctor_a).post("/reports/upload/", {"medical_record_number": patient_a.medical_record_number,
                                                              "file": upload})
    assert response.status_code == 415 and 'data-testid="upload-form"' in response.content.decode()
    assert stored_files(media_root) == []


def test_an_unknown_record_number_is_a_400(doctor_a, media_root):
    upload = SimpleUploadedFile("r.jpg", report_jpeg(), content_type="image/jpeg")
    response = web_client(doctor_a).post("/reports/upload/", {"medical_record_number": "MRN-NOPE", "file": upload})
    assert response.status_code == 400 and stored_files(media_root) == []


def test_another_hospitals_report_page_is_a_404(doctor_a, patient_b, doctor_b):
    report = make_preliminary(patient_b, doctor_b)
    client = web_client(doctor_a)
    assert client.get(f"/reports/{report.pk}/").status_code == 404
    assert client.get(f"/reports/{report.pk}/file/").status_code == 404


def test_patients_and_compliance_officers_do_not_get_the_pages(hospital_a, patient_user):
    for user in (patient_user, member_of(hospital_a, Role.COMPLIANCE_OFFICER)):
        assert web_client(user).get("/reports/").status_code == 403
