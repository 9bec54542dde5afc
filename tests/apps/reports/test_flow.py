"""Upload to analysed report with the real pipeline (Tesseract), Celery eager: the items,
the interpretation, the status events on the channel layer, and the failures a user
can act on."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.privacy.models import AuditEvent
from apps.realtime.groups import staff_group, user_group
from apps.reports.models import LabReport
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.support.upload_files import jpeg_bytes, pdf_bytes, report_photo, text_page

from .conftest import REPORTS_URL, upload_file

pytestmark = pytest.mark.django_db


def _listen(group: str) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def _events(channel: str) -> list[dict]:
    layer, events = get_channel_layer(), []
    while _pending(layer, channel):
        events.append(async_to_sync(layer.receive)(channel)["event"])
    return events


def _pending(layer, channel) -> bool:
    # The in-memory layer keeps a queue per channel; receive() would block on an empty one.
    return bool(getattr(layer, "channels", {}).get(channel) and not layer.channels[channel].empty())


@pytest.fixture
def in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    yield
    channel_layers.backends.pop("default", None)


def _upload(client, data, patient=None, name="report.jpg", content_type="image/jpeg", callbacks=None):
    fields = {"file": upload_file(data, name=name, content_type=content_type)}
    if patient is not None:
        fields["patient"] = patient.pk
    with callbacks(execute=True):
        response = client.post(REPORTS_URL, fields, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_a_report_photo_is_read_interpreted_and_announced(in_memory_layer, hospital_a, doctor_a, patient_a,
                                                          django_capture_on_commit_callbacks):
    image, truth = report_photo(seed=1, rotation=90)
    doctors = _listen(staff_group(hospital_a.pk, Role.DOCTOR))
    # When a doctor uploads a photo of a blood count, turned a quarter
    report_id = _upload(client_for(doctor_a), jpeg_bytes(image), patient_a,
                        callbacks=django_capture_on_commit_callbacks)
    # then the report is preliminary with the indicators read off the photo
    with tenant_context(hospital_a.pk):
        report = LabReport.objects.get(pk=report_id)
        items = {item.code: item for item in report.items.all()}
        interpretation = report.interpretation
    assert (report.status, report.engine, report.rotation) == ("preliminary", "tesseract", 90)
    exact = sum(1 for row in truth["items"] if row["code"] in items and items[row["code"]].value == row["value"])
    # (the platform's test, not the OCR's: most values read exactly is enough here)
    assert exact >= 15, f"{exact} of {len(truth['items'])} read exactly"
    assert set(report.model_versions) == {"ocr", "interpretation"} and report.timings_ms["total_ms"] > 0
    # with flags where the values are out of range, and an interpretation citing them
    abnormal = {code for code, item in items.items() if item.flag in ("H", "L")}
    assert abnormal and interpretation.urgency in ("routine", "soon", "urgent")
    cited = {code for statement in interpretation.content["abnormal"] for code in statement["codes"]}
    assert cited <= set(items)
    # and the doctors heard every step, ending with the whole report
    events = _events(doctors)
    statuses = [event["data"]["status"] for event in events if event["type"] == "lab_report.status"]
    assert statuses == ["received", "processing", "preliminary"]
    ready = next(event for event in events if event["type"] == "lab_report.ready")
    assert ready["data"]["id"] == report_id and len(ready["data"]["items"]) == len(items)
    assert AuditEvent.objects.filter(action="lab_report.analyse", object_id=str(report_id)).exists()


def test_a_pdf_scan_is_analysed_too(hospital_a, doctor_a, patient_a, django_capture_on_commit_callbacks):
    image, _truth = report_photo(seed=2, rotation=0)
    report_id = _upload(client_for(doctor_a), pdf_bytes(image), patient_a, name="r.pdf",
                        content_type="application/pdf", callbacks=django_capture_on_commit_callbacks)
    with tenant_context(hospital_a.pk):
        report = LabReport.objects.get(pk=report_id)
        assert (report.status, report.page_count, report.pages_analysed) == ("preliminary", 1, 1)
        assert report.items.count() >= 15


def test_a_page_without_indicators_fails_with_a_reason(in_memory_layer, hospital_a, patient_user, patient_a,
                                                       django_capture_on_commit_callbacks):
    own = _listen(user_group(patient_user.pk))
    # When a patient uploads a photo of a printed notice instead of a report
    report_id = _upload(client_for(patient_user), jpeg_bytes(text_page()),
                        callbacks=django_capture_on_commit_callbacks)
    # then the report failed, saying what to do, and nothing half-written remains
    body = client_for(patient_user).get(f"{REPORTS_URL}{report_id}/").json()
    assert (body["status"], body["failure_code"]) == ("failed", "no_indicators") and body["failure_message"]
    with tenant_context(hospital_a.pk):
        report = LabReport.objects.get(pk=report_id)
        assert not report.items.exists() and not hasattr(report, "interpretation")
    # and the patient heard it over their own channel
    last = [event for event in _events(own) if event["type"] == "lab_report.status"][-1]
    assert (last["data"]["status"], last["data"]["failure_code"]) == ("failed", "no_indicators")
