import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.configuration.services import setting_set
from apps.imaging.models import Finding, ImagingStudy, Review
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from ml.imaging.synth import phantom
from tests.conftest import client_for
from tests.factories import member_of
from tests.ml.imaging.samples import dicom_bytes, jpeg_bytes, png16_bytes, png_bytes, png_header_only

STUDIES = "/api/v1/imaging/studies/"


def _upload(client, patient, data: bytes, name: str = "chest.png", **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    payload = {"file": SimpleUploadedFile(name, data), **fields}
    if patient is not None:
        payload["patient"] = patient.pk
    return client.post(STUDIES, payload, format="multipart")


def _phantom_png(seed=3, lesions=2, size=320):
    return png_bytes(phantom(size, lesions=lesions, seed=seed).image)


def _analysed_study(client, patient, capture, **kwargs):
    with capture(execute=True):
        response = _upload(client, patient, _phantom_png(**kwargs))
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_a_png_flows_from_upload_to_preliminary_findings_and_a_pushed_event(
        doctor_a, patient_a, hospital_a, django_capture_on_commit_callbacks, listen):
    # Given a doctor listening for events
    listener = listen(doctor_a.pk)
    client = client_for(doctor_a)
    # When they upload a phantom X-ray (the ml task runs eagerly after commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, patient_a, _phantom_png())
    # Then the study is analysed, every finding preliminary with model name, version and confidence
    assert response.status_code == 201
    detail = client.get(f"{STUDIES}{response.json()['id']}/").json()
    assert detail["status"] == "preliminary"
    assert detail["detector_model"].startswith("cxr-lesion-detector:")
    assert 0 <= detail["lesion_probability"] <= 1 and 0 < detail["lesion_threshold"] < 1
    for finding in detail["findings"]:
        assert finding["preliminary"] and finding["verdict"] == "pending"
        assert finding["model_name"] == "cxr-lesion-detector" and finding["model_version"]
        assert 0 < finding["confidence"] <= 1 and len(finding["box"]) == 4
    # And the result was pushed to the uploader
    pushed = [message["event"] for message in listener.events()]
    analysed = [event for event in pushed if event["type"] == "imaging.study.analysed"]
    assert len(analysed) == 1 and analysed[0]["data"]["study"] == detail["id"]
    assert analysed[0]["data"]["status"] == "preliminary"
    # And the upload and the analysis were audited
    actions = set(AuditEvent.objects.filter(object_type="imaging_study").values_list("action", flat=True))
    assert {"imaging_study.upload", "imaging_study.analyse", "imaging_study.read"} <= actions


def test_the_display_image_and_heatmap_are_served_and_audited(doctor_a, patient_a, django_capture_on_commit_callbacks):
    import cv2

    client = client_for(doctor_a)
    study_id = _analysed_study(client, patient_a, django_capture_on_commit_callbacks)
    image = client.get(f"{STUDIES}{study_id}/image/")
    heatmap = client.get(f"{STUDIES}{study_id}/heatmap/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    decoded = cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape == (320, 320, 3)
    assert cv2.imdecode(np.frombuffer(heatmap.content, np.uint8), cv2.IMREAD_UNCHANGED).shape == (320, 320, 4)
    assert AuditEvent.objects.filter(action="imaging_study.image_read", object_id=str(study_id)).exists()
    assert AuditEvent.objects.filter(action="imaging_study.heatmap_read", object_id=str(study_id)).exists()


def test_a_dicom_upload_keeps_its_metadata_and_a_deidentified_copy(doctor_a, patient_a, hospital_a,
                                                                   django_capture_on_commit_callbacks):
    pixels = (phantom(128, seed=2).image.astype(np.uint16) * 16)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client_for(doctor_a), patient_a, dicom_bytes(pixels, photometric="MONOCHROME1",
                                                                          window=(2000, 3000)), name="a.dcm")
    assert response.status_code == 201
    detail = client_for(doctor_a).get(f"{STUDIES}{response.json()['id']}/").json()
    assert detail["source_kind"] == "dicom" and detail["status"] == "preliminary"
    assert detail["dicom_metadata"]["PatientName"] == "Zhang^San"
    assert "PatientName" not in detail["deidentified_metadata"]
    assert detail["window_width"] == 3000.0


@pytest.mark.parametrize("data, name, code", [
    (b"%PDF-1.4 not an image", "report.pdf", "not_an_image"),
    (dicom_bytes(None), "sr.dcm", "dicom_without_pixels"),
    (dicom_bytes(np.zeros((8, 8), np.uint16), transfer_syntax="1.2.840.10008.1.2.4.90",
                 pixel_data=b"\xff\x4f\xff\x51" + b"\0" * 30), "j2k.dcm", "unsupported_transfer_syntax"),
    (png16_bytes(), "deep.png", "unsupported_bit_depth"),
    (png_header_only(20_000, 20_000), "huge.png", "image_too_large"),
])
def test_bad_input_is_a_clear_4xx_and_nothing_is_written(doctor_a, patient_a, hospital_a, data, name, code,
                                                         _media_in_tmp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client_for(doctor_a), patient_a, data, name=name)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    with tenant_context(hospital_a.pk):
        assert not ImagingStudy.objects.exists()
    assert not any(p.is_file() for p in _media_in_tmp.rglob("*")) if _media_in_tmp.exists() else True
    assert AuditEvent.objects.filter(action="imaging_study.upload", outcome="invalid").exists()


def test_upload_without_a_file_or_for_another_hospitals_patient_is_refused(doctor_a, patient_a, patient_b):
    client = client_for(doctor_a)
    missing = client.post(STUDIES, {"patient": patient_a.pk}, format="multipart")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid"
    elsewhere = _upload(client, patient_b, _phantom_png())
    assert elsewhere.status_code == 404


def test_sign_off_needs_a_verdict_for_every_finding_and_reasons_for_overrides(
        doctor_a, patient_a, hospital_a, django_capture_on_commit_callbacks):
    client = client_for(doctor_a)
    study_id = _analysed_study(client, patient_a, django_capture_on_commit_callbacks)
    with tenant_context(hospital_a.pk):
        study = ImagingStudy.objects.get(pk=study_id)
        # Given two model findings (made here so the test does not depend on the model's recall)
        first, second = [Finding.objects.create(hospital=hospital_a, study=study, label="nodule", x1=10, y1=10,
                                                x2=40 + i, y2=40, confidence=0.7, model_name="m", model_version="1")
                         for i in range(2)]
        pending = list(study.findings.filter(verdict="pending").values_list("pk", flat=True))
    url = f"{STUDIES}{study_id}/review/"
    # When signing off with one finding left out
    partial = client.post(url, {"decision": "sign_off", "findings": [{"id": first.pk, "verdict": "confirmed"}]},
                          format="json")
    assert partial.status_code == 400 and partial.json()["error"]["code"] == "findings_unreviewed"
    # When rejecting a finding without a reason
    verdicts = [{"id": pk, "verdict": "confirmed"} for pk in pending if pk != second.pk]
    no_reason = client.post(url, {"decision": "sign_off",
                                  "findings": verdicts + [{"id": second.pk, "verdict": "rejected"}]}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["error"]["code"] == "reason_required"
    with tenant_context(hospital_a.pk):
        assert not Review.objects.exists() and ImagingStudy.objects.get(pk=study_id).status == "preliminary"
    # Then a complete review with an edit, a rejection and an added finding signs it off
    edited = [{"id": first.pk, "verdict": "edited", "box": [12, 12, 44, 44], "label": "mass",
               "reason": "larger than drawn"} if v["id"] == first.pk else v for v in verdicts]
    done = client.post(url, {"decision": "sign_off", "comment": "ok",
                             "findings": edited + [{"id": second.pk, "verdict": "rejected", "reason": "rib crossing"}],
                             "added": [{"label": "nodule", "box": [100, 100, 120, 120], "reason": "missed"}]},
                       format="json")
    assert done.status_code == 201, done.json()
    with tenant_context(hospital_a.pk):
        first.refresh_from_db()
        assert first.verdict == "edited" and first.label == "mass" and first.box == [12, 12, 44, 44]
        assert first.original == {"label": "nodule", "box": [10.0, 10.0, 40.0, 40.0]}
        assert Finding.objects.get(pk=second.pk).reason == "rib crossing"
        assert Finding.objects.filter(study_id=study_id, verdict="added").count() == 1
        assert ImagingStudy.objects.get(pk=study_id).status == "signed_off"
        review = Review.objects.get()
        assert {c["verdict"] for c in review.changes} >= {"edited", "rejected", "added"}
    assert AuditEvent.objects.filter(action="imaging_study.sign_off", actor_id=doctor_a.pk).exists()
    # And a second review is refused
    again = client.post(url, {"decision": "reject", "comment": "x"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_reviewable"


def test_rejecting_a_study_needs_a_reason(doctor_a, patient_a, django_capture_on_commit_callbacks):
    client = client_for(doctor_a)
    study_id = _analysed_study(client, patient_a, django_capture_on_commit_callbacks)
    url = f"{STUDIES}{study_id}/review/"
    assert client.post(url, {"decision": "reject"}, format="json").json()["error"]["code"] == "reason_required"
    assert client.post(url, {"decision": "reject", "comment": "motion blur"}, format="json").status_code == 201
    assert client.get(f"{STUDIES}{study_id}/").json()["status"] == "rejected"


def test_only_a_doctor_reviews(hospital_a, patient_a, doctor_a, patient_user_a, django_capture_on_commit_callbacks):
    study_id = _analysed_study(client_for(doctor_a), patient_a, django_capture_on_commit_callbacks)
    admin = member_of(hospital_a, Role.HOSPITAL_ADMIN)
    for user in (admin, patient_user_a):
        response = client_for(user).post(f"{STUDIES}{study_id}/review/", {"decision": "reject", "comment": "x"},
                                         format="json")
        assert response.status_code == 403


def test_a_patient_sees_their_study_but_not_preliminary_findings(
        doctor_a, patient_a, patient_user_a, hospital_a, django_capture_on_commit_callbacks):
    study_id = _analysed_study(client_for(doctor_a), patient_a, django_capture_on_commit_callbacks)
    with tenant_context(hospital_a.pk):
        Finding.objects.create(hospital=hospital_a, study_id=study_id, label="mass", x1=1, y1=1, x2=9, y2=9,
                               confidence=0.9, model_name="m", model_version="1")
    mine = client_for(patient_user_a)
    detail = mine.get(f"{STUDIES}{study_id}/").json()
    assert detail["status"] == "preliminary" and detail["findings"] == []
    assert "dicom_metadata" not in detail and "lesion_probability" not in detail
    assert mine.get(f"{STUDIES}{study_id}/heatmap/").status_code == 403


def test_a_patient_uploads_for_themselves_and_hears_only_the_status(patient_user_a, patient_a, listen,
                                                                    django_capture_on_commit_callbacks):
    listener = listen(patient_user_a.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client_for(patient_user_a), None, jpeg_bytes(phantom(256, seed=1).image), name="me.jpg")
    assert response.status_code == 201 and response.json()["patient"] == patient_a.pk
    pushed = [message["event"] for message in listener.events()]
    assert [event["data"] for event in pushed] == [{"study": response.json()["id"], "status": "preliminary"}]


def test_another_hospital_sees_nothing(doctor_a, doctor_b, patient_a, django_capture_on_commit_callbacks):
    study_id = _analysed_study(client_for(doctor_a), patient_a, django_capture_on_commit_callbacks)
    other = client_for(doctor_b)
    assert other.get(STUDIES).json()["results"] == []
    assert other.get(f"{STUDIES}{study_id}/").status_code == 404
    assert other.post(f"{STUDIES}{study_id}/review/", {"decision": "reject", "comment": "x"},
                      format="json").status_code == 404


def test_per_class_thresholds_come_from_the_hospitals_configuration(
        doctor_a, patient_a, hospital_a, django_capture_on_commit_callbacks):
    # Given the hospital raises both detector thresholds to 1.0 (nothing can reach it)
    admin = member_of(hospital_a, Role.HOSPITAL_ADMIN)
    with tenant_context(hospital_a.pk):
        for key in ("imaging.threshold.mass", "imaging.threshold.nodule"):
            setting_set(key=key, value=1.0, actor=admin, role=Role.HOSPITAL_ADMIN, hospital_id=hospital_a.pk)
    study_id = _analysed_study(client_for(doctor_a), patient_a, django_capture_on_commit_callbacks)
    assert client_for(doctor_a).get(f"{STUDIES}{study_id}/").json()["findings"] == []


def test_similar_studies_are_this_hospitals_earlier_studies_most_similar_first(
        doctor_a, patient_a, doctor_b, patient_b, django_capture_on_commit_callbacks):
    client = client_for(doctor_a)
    first = _analysed_study(client, patient_a, django_capture_on_commit_callbacks, seed=1)
    second = _analysed_study(client, patient_a, django_capture_on_commit_callbacks, seed=2)
    _analysed_study(client_for(doctor_b), patient_b, django_capture_on_commit_callbacks, seed=1)
    similar = client.get(f"{STUDIES}{second}/").json()["similar"]
    assert [row["id"] for row in similar] == [first]
    assert -1 <= similar[0]["similarity"] <= 1


def test_the_list_is_audited_and_its_query_count_does_not_grow(doctor_a, patient_a, hospital_a, settings,
                                                               django_capture_on_commit_callbacks):
    settings.AUDIT_CHAIN_SHARDS = 1  # a new shard's first append also creates its head
    client = client_for(doctor_a)
    _analysed_study(client, patient_a, django_capture_on_commit_callbacks, seed=1)
    with CaptureQueriesContext(connection) as few:
        client.get(STUDIES)
    for seed in (2, 3):
        _analysed_study(client, patient_a, django_capture_on_commit_callbacks, seed=seed)
    with CaptureQueriesContext(connection) as many:
        rows = client.get(STUDIES).json()["results"]
    assert len(rows) == 3 and len(many) == len(few)
    assert AuditEvent.objects.filter(action="imaging_study.list").count() == 2
