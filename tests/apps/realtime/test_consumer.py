"""The WebSocket endpoint: who may connect, which groups they join, what they get."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.realtime.publish import publish
from apps.tenancy.roles import Role
from hospital_platform.asgi import application
from tests.factories import HospitalFactory, member_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    # database_sync_to_async runs in a worker thread whose connection would otherwise
    # stay open and stop the test database from being dropped.
    yield
    from django.db import connections

    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def _user_with_token(hospital_slug, role):
    hospital = HospitalFactory(slug=hospital_slug, name=hospital_slug)
    user = member_of(hospital, role)
    raw, _token = token_issue(user=user, kind=ApiToken.Kind.PASSWORD)
    return user, hospital, raw


def _connect(path="/ws/v1/events/", token=None, headers=()):
    headers = list(headers)
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def test_token_client_connects_and_is_told_who_it_is():
    user, _hospital, raw = await _user_with_token("ws-a", Role.DOCTOR)
    communicator = _connect(token=raw)
    connected, _ = await communicator.connect()
    assert connected
    ready = await communicator.receive_json_from(timeout=5)
    assert ready == {"type": "connection.ready", "data": {"user": user.pk, "hospital": "ws-a", "role": "doctor"}}
    await communicator.disconnect()


async def test_token_may_come_in_the_query_string():
    _user, _hospital, raw = await _user_with_token("ws-q", Role.PATIENT)
    communicator = _connect(path=f"/ws/v1/events/?token={raw}")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.disconnect()


async def test_no_credentials_are_refused_with_4401(db):
    communicator = _connect()
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)
    await communicator.disconnect()  # end the refused consumer, or its layer read outlives the test


async def test_a_bad_token_is_refused_with_4401(db):
    communicator = _connect(token="hpt_nonsense")
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)
    await communicator.disconnect()  # end the refused consumer, or its layer read outlives the test


async def test_a_foreign_hospital_is_refused_with_4403():
    _user, _hospital, raw = await _user_with_token("ws-own", Role.DOCTOR)
    await database_sync_to_async(HospitalFactory)(slug="ws-other")
    communicator = _connect(path="/ws/v1/events/?hospital=ws-other", token=raw)
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4403)
    await communicator.disconnect()  # end the refused consumer, or its layer read outlives the test


async def test_ping_gets_pong_and_other_messages_an_error():
    _user, _hospital, raw = await _user_with_token("ws-p", Role.DOCTOR)
    communicator = _connect(token=raw)
    await communicator.connect()
    await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.send_json_to({"type": "join", "group": "hospital.1.role.doctor"})
    assert (await communicator.receive_json_from(timeout=5))["data"]["code"] == "unknown_message"
    await communicator.disconnect()


async def test_events_reach_the_user_and_their_role_group_only():
    doctor, hospital, doctor_token = await _user_with_token("ws-e", Role.DOCTOR)
    _admin, _, admin_token = await _user_with_token("ws-e", Role.HOSPITAL_ADMIN)
    doctor_ws, admin_ws = _connect(token=doctor_token), _connect(token=admin_token)
    for communicator in (doctor_ws, admin_ws):
        await communicator.connect()
        await communicator.receive_json_from(timeout=5)
    # when an event goes to the hospital's doctors
    await database_sync_to_async(publish)("test.event", {"n": 1}, hospital_id=hospital.pk, roles=[Role.DOCTOR])
    # then the doctor gets it and the administrator does not
    event = await doctor_ws.receive_json_from(timeout=5)
    assert (event["type"], event["data"], event["hospital"]) == ("test.event", {"n": 1}, hospital.pk)
    assert await admin_ws.receive_nothing(timeout=0.5)
    # and a personal event reaches just that user
    await database_sync_to_async(publish)("personal", {"n": 2}, user_ids=[doctor.pk])
    assert (await doctor_ws.receive_json_from(timeout=5))["type"] == "personal"
    for communicator in (doctor_ws, admin_ws):
        await communicator.disconnect()


async def test_session_clients_need_an_allowed_origin(settings):
    # Cookies are ambient credentials, so a cookie session must come from our own pages.
    settings.ALLOWED_HOSTS = ["admin.hospital.test"]
    doctor, _hospital, _raw = await _user_with_token("ws-s", Role.DOCTOR)

    async def connect_from(origin):
        communicator = WebsocketCommunicator(application, "/ws/v1/events/", headers=[(b"origin", origin)])
        communicator.scope["user"] = doctor  # what AuthMiddlewareStack finds in the session
        result = await communicator.connect()
        await communicator.disconnect()
        return result

    assert await connect_from(b"https://evil.example") == (False, 4401)
    assert (await connect_from(b"https://admin.hospital.test"))[0] is True
