"""The async backbone end to end: an administrator's API call queues a Celery task on
Redis, a real worker runs it under the hospital's tenant context, the task publishes
through the Redis channel layer, and a WebSocket client receives the event."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connections

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.realtime.models import Notice
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import HospitalFactory, member_of
from tests.support.live import connect_events, real_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture
def default_worker():
    with real_worker(["default"]) as app:
        yield app


@database_sync_to_async
def _set_up():
    hospital = HospitalFactory(slug="live-a", name="Live A")
    other = HospitalFactory(slug="live-b", name="Live B")
    admin = member_of(hospital, Role.HOSPITAL_ADMIN)
    doctor = member_of(hospital, Role.DOCTOR)
    other_doctor = member_of(other, Role.DOCTOR)
    tokens = {user: token_issue(user=user, kind=ApiToken.Kind.PASSWORD)[0] for user in (doctor, other_doctor)}
    return hospital, admin, tokens[doctor], tokens[other_doctor]


async def test_a_notice_travels_api_to_worker_to_websocket(default_worker):
    # Given a doctor of hospital A and one of hospital B, both connected
    hospital, admin, doctor_token, other_token = await _set_up()
    doctor_ws, other_ws = await connect_events(doctor_token), await connect_events(other_token)

    # when A's administrator sends a notice to A's doctors through the API
    response = await sync_to_async(lambda: client_for(admin).post(
        "/api/v1/notices/", {"title": "停电通知", "body": "Ward 3 power cut at 14:00", "roles": ["doctor"]},
        format="json"))()
    assert response.status_code == 201, response.json()

    # then the worker delivers it to A's doctor over the WebSocket
    event = await doctor_ws.receive_json_from(timeout=20)
    assert event["type"] == "notice.created"
    assert event["data"]["title"] == "停电通知"
    assert event["hospital"] == hospital.pk
    # and not to B's doctor
    assert await other_ws.receive_nothing(timeout=1)
    # and the notice is marked delivered, so a redelivered task sends nothing twice
    notice_id = response.json()["id"]

    def delivered():
        with tenant_context(hospital.pk):
            return Notice.objects.get(pk=notice_id).delivered_at is not None

    assert await database_sync_to_async(delivered)()
    # by the worker, through the broker (not inline)
    from celery.worker import state

    assert state.total_count["realtime.notice_deliver"] >= 1
    for communicator in (doctor_ws, other_ws):
        await communicator.disconnect()
    await database_sync_to_async(connections.close_all)()
