"""A WebSocket client that hears nothing for longer than the channel layer's 5 s
blocking read must stay connected and still receive the next event (it was closed
with 1011 when the Redis client's own read timeout was also 5 s)."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.realtime.groups import user_group
from apps.tenancy.roles import Role
from hospital_platform.asgi import application
from tests.factories import HospitalFactory, member_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@database_sync_to_async
def _doctor_token():
    user = member_of(HospitalFactory(slug="idle-a", name="Idle A"), Role.DOCTOR)
    return user, token_issue(user=user, kind=ApiToken.Kind.PASSWORD)[0]


async def test_an_idle_connection_survives_and_receives_the_next_event():
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL); CI always runs it")
    user, token = await _doctor_token()
    communicator = WebsocketCommunicator(application, "/ws/v1/events/",
                                         headers=[(b"authorization", f"Bearer {token}".encode())])
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from(timeout=5))["type"] == "connection.ready"
    # Given nothing to hear for longer than one blocking read
    await asyncio.sleep(7)
    # when an event is sent to the user, then it arrives on the same connection
    await get_channel_layer().group_send(user_group(user.pk), {"type": "realtime.event",
                                                               "event": {"type": "ping.test", "data": {}}})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ping.test"
    await communicator.disconnect()
    await database_sync_to_async(connections.close_all)()
