from django.core.files.uploadedfile import SimpleUploadedFile

from apps.imaging.models import Finding, ImagingStudy
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context
from ml.imaging.synth import phantom
from tests.factories import PASSWORD
from tests.ml.imaging.samples import png16_bytes, png_bytes


def _login(client, user):
    assert client.login(username=user.get_username(), password=PASSWORD)
    return client


def test_a_doctor_uploads_in_the_web_admin_and_lands_on_the_viewer(client, doctor_a, patient_a, hospital_a,
                                                                   django_capture_on_commit_callbacks):
    _login(client, doctor_a)
    assert client.get("/imaging/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/imaging/", {"patient": patient_a.pk,
                                             "file": SimpleUploadedFile("c.png", png_bytes(phantom(256, seed=5).image))})
    assert response.status_code == 302
    viewer = client.get(response["Location"])
    assert viewer.status_code == 200
    page = viewer.content.decode()
    assert 'data-testid="viewer-canvas"' in page and "data-heatmap-url" in page and 'id="imaging-boxes"' in page
    assert AuditEvent.objects.filter(action="imaging_study.read", actor_id=doctor_a.pk).exists()


def test_a_bad_file_in_the_web_admin_is_refused_with_its_status(client, doctor_a, patient_a, hospital_a):
    _login(client, doctor_a)
    response = client.post("/imaging/", {"patient": patient_a.pk, "file": SimpleUploadedFile("d.png", png16_bytes())})
    assert response.status_code == 400
    with tenant_context(hospital_a.pk):
        assert not ImagingStudy.objects.exists()


def test_the_review_form_signs_off(client, doctor_a, patient_a, hospital_a, django_capture_on_commit_callbacks):
    _login(client, doctor_a)
    with django_capture_on_commit_callbacks(execute=True):
        location = client.post("/imaging/", {"patient": patient_a.pk, "file": SimpleUploadedFile(
            "c.png", png_bytes(phantom(256, seed=6).image))})["Location"]
    study_id = int(location.rstrip("/").rsplit("/", 1)[1])
    with tenant_context(hospital_a.pk):
        finding = Finding.objects.create(hospital=hospital_a, study_id=study_id, label="nodule", x1=1, y1=1, x2=9,
                                         y2=9, confidence=0.5, model_name="m", model_version="1")
        pending = list(Finding.objects.filter(study_id=study_id).values_list("pk", flat=True))
    form = {"decision": "sign_off", **{f"verdict-{pk}": "confirmed" for pk in pending},
            f"verdict-{finding.pk}": "rejected", f"reason-{finding.pk}": "artefact"}
    assert client.post(f"/imaging/{study_id}/review/", form).status_code == 302
    with tenant_context(hospital_a.pk):
        assert ImagingStudy.objects.get(pk=study_id).status == "signed_off"
        assert Finding.objects.get(pk=finding.pk).reason == "artefact"


def test_patients_do_not_get_the_web_viewer(client, patient_user_a):
    _login(client, patient_user_a)
    assert client.get("/imaging/").status_code == 403
