"""Imaging end to end: DICOM, PNG and JPEG uploads through the API, the analysis on a
real Celery worker consuming the `ml` queue from Redis, and the result pushed over the
Redis channel layer to the uploader's WebSocket (and to nobody at another hospital)."""

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.patients.services import patient_create
from apps.tenancy.roles import Role
from ml.imaging.synth import phantom
from tests.conftest import client_for
from tests.factories import HospitalFactory, member_of
from tests.ml.imaging.samples import dicom_bytes, jpeg_bytes, png_bytes
from tests.support.live import connect_events, real_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture
def ml_worker():
    with real_worker(["ml"], private_ml_queue=True) as app:
        yield app


@database_sync_to_async
def _set_up():
    hospital = HospitalFactory(slug="img-live-a", name="Imaging A")
    other = HospitalFactory(slug="img-live-b", name="Imaging B")
    doctor = member_of(hospital, Role.DOCTOR)
    other_doctor = member_of(other, Role.DOCTOR)
    patient = patient_create(hospital_id=hospital.pk, name="钱七")
    tokens = [token_issue(user=user, kind=ApiToken.Kind.PASSWORD)[0] for user in (doctor, other_doctor)]
    return doctor, patient, tokens


async def test_dicom_png_and_jpeg_flow_through_a_real_worker_to_the_websocket(ml_worker, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    doctor, patient, (doctor_token, other_token) = await _set_up()
    doctor_ws, other_ws = await connect_events(doctor_token), await connect_events(other_token)
    image = phantom(256, lesions=2, seed=12).image
    uploads = {"a.dcm": dicom_bytes(image.astype(np.uint16) * 16), "b.png": png_bytes(image),
               "c.jpg": jpeg_bytes(image)}
    for name, data in uploads.items():
        # When the doctor uploads the study
        response = await sync_to_async(lambda: client_for(doctor).post(
            "/api/v1/imaging/studies/", {"patient": patient.pk, "file": SimpleUploadedFile(name, data)},
            format="multipart"))()
        assert response.status_code == 201, response.json()
        # Then the worker's result arrives over the WebSocket (through the user group and the
        # doctors' group: the same envelope id, which clients use to drop the repeat)
        event = await doctor_ws.receive_json_from(timeout=60)
        assert event["type"] == "imaging.study.analysed"
        assert event["data"]["study"] == response.json()["id"] and event["data"]["status"] == "preliminary"
        repeat = await doctor_ws.receive_json_from(timeout=5)
        assert repeat["id"] == event["id"]
    # And nothing reached the other hospital's doctor
    assert await other_ws.receive_nothing(timeout=1)
    from celery.worker import state

    assert state.total_count["ml.imaging_study_analyse"] >= 3
    for communicator in (doctor_ws, other_ws):
        await communicator.disconnect()
    await database_sync_to_async(connections.close_all)()
