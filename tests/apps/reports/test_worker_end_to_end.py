"""Upload -> OCR -> extraction -> interpretation -> WebSocket, for real: PostgreSQL,
Redis as broker and channel layer, a Celery worker in its own process (started with
`celery -A hospital_platform worker`), and WebSocket clients on the ASGI application.

The worker consumes a queue of its own (the broker is shared with other test runs);
this process routes `ml.*` tasks to it, exactly as production routes them to `ml`.
"""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connections

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.patients.services import patient_create
from apps.reports.models import LabReport
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.support.live import connect_events as _listen
from tests.conftest import client_for, is_postgres
from tests.factories import HospitalFactory, member_of
from tests.support.celery_worker import route_ml_tasks_to, unique_queue, worker_process
from tests.support.upload_files import jpeg_bytes, report_photo

from .conftest import REPORTS_URL, upload_file

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture
def ml_worker(tmp_path):
    if not settings.REDIS_URL or not is_postgres():
        pytest.skip("needs PostgreSQL and Redis (set DATABASE_URL and REDIS_URL); CI always runs them")
    queue = unique_queue("labreport-e2e")
    with route_ml_tasks_to(queue), worker_process(queue, log_path=tmp_path / "worker.log") as process:
        yield process
    connections.close_all()


@database_sync_to_async
def _set_up():
    hospital = HospitalFactory(slug="e2e-a", name="E2E A")
    other = HospitalFactory(slug="e2e-b", name="E2E B")
    doctor, other_doctor = member_of(hospital, Role.DOCTOR), member_of(other, Role.DOCTOR)
    patient_user = member_of(hospital, Role.PATIENT)
    patient = patient_create(hospital_id=hospital.pk, name="陈明", sex="F", user=patient_user)
    tokens = {user: token_issue(user=user, kind=ApiToken.Kind.PASSWORD)[0]
              for user in (doctor, other_doctor, patient_user)}
    return hospital, doctor, patient, tokens[doctor], tokens[other_doctor], tokens[patient_user]


async def _until(communicator, event_type, report_id, timeout=180):
    """Events for this report up to and including the first of `event_type`."""
    seen = []
    while True:
        event = await communicator.receive_json_from(timeout=timeout)
        if event["data"].get("id") != report_id:
            continue  # another test run's event on the shared channel layer
        seen.append(event)
        if event["type"] == event_type:
            return seen
        assert event["data"].get("status") != "failed", event["data"]


async def test_an_uploaded_photo_reaches_the_doctors_as_an_analysed_report(ml_worker):
    # Given a doctor and a patient of hospital A, and a doctor of hospital B, all connected
    hospital, doctor, patient, doctor_token, other_token, patient_token = await _set_up()
    # (rendered before connecting: CPU work on the event loop would stall the clients' reads)
    image, truth = report_photo(seed=3, rotation=180)
    photo = jpeg_bytes(image)
    doctor_ws, other_ws, patient_ws = (await _listen(doctor_token), await _listen(other_token),
                                       await _listen(patient_token))

    # when the doctor uploads a photo of the patient's blood count through the API
    response = await sync_to_async(lambda: client_for(doctor).post(
        REPORTS_URL, {"file": upload_file(photo), "patient": patient.pk}, format="multipart"))()
    assert response.status_code == 201, response.json()
    report_id = response.json()["id"]

    # then the doctor hears it received, processing, analysed, and gets the whole report
    events = await _until(doctor_ws, "lab_report.ready", report_id)
    statuses = [event["data"]["status"] for event in events if event["type"] == "lab_report.status"]
    assert statuses == ["received", "processing", "preliminary"]
    report = events[-1]["data"]
    assert report["status"] == "preliminary" and report["engine"] == "tesseract" and report["rotation"] == 180
    values = {item["code"]: item["value"] for item in report["items"]}
    exact = sum(1 for row in truth["items"] if values.get(row["code"]) == row["value"])
    assert exact >= 15, f"{exact} of {len(truth['items'])} read exactly"
    assert report["interpretation"]["content"]["conclusion"]["text_zh"]

    # and it was the worker process that did it, not this one
    def stored():
        with tenant_context(hospital.pk):
            return LabReport.objects.get(pk=report_id)

    assert (await database_sync_to_async(stored)()).status == "preliminary"
    assert ml_worker.poll() is None  # still running

    # and hospital B's doctor heard nothing; the patient nothing before sign-off
    assert await other_ws.receive_nothing(timeout=1)
    assert await patient_ws.receive_nothing(timeout=0.5)

    # when the doctor signs it off, the patient receives the final report
    response = await sync_to_async(lambda: client_for(doctor).post(
        f"{REPORTS_URL}{report_id}/sign-off/", {}, format="json"))()
    assert response.status_code == 200
    final = (await _until(patient_ws, "lab_report.final", report_id, timeout=10))[-1]
    assert final["data"]["status"] == "final" and len(final["data"]["items"]) == len(report["items"])

    for communicator in (doctor_ws, other_ws, patient_ws):
        await communicator.disconnect()
    await database_sync_to_async(connections.close_all)()
