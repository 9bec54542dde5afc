"""Bulk publishing through the Redis channel layer: one pipeline finds which user groups
anyone listens to, and only those get the event."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.realtime.groups import user_group
from apps.realtime.publish import publish_many
from apps.tenancy.roles import Role
from tests.factories import HospitalFactory, member_of
from tests.support.live import connect_events

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

NOBODY = 900_000_000  # user ids far above any this test run creates


@database_sync_to_async
def _connected_patient():
    hospital = HospitalFactory(slug="bulk-publish")
    user = member_of(hospital, Role.PATIENT)
    return hospital, user, token_issue(user=user, kind=ApiToken.Kind.WECHAT)[0]


async def test_publish_many_reaches_the_listening_user_among_hundreds_who_are_not():
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL); CI always runs it")
    # Given one connected patient and 300 events, one of them theirs
    hospital, user, token = await _connected_patient()
    communicator = await connect_events(token)
    events = [("test.bulk", {"n": n}, [user.pk if n == 150 else NOBODY + n]) for n in range(300)]

    # The layer sees exactly one group with a member
    groups = [user_group(user_ids[0]) for _type, _data, user_ids in events]
    assert await get_channel_layer().groups_with_members(groups) == {user_group(user.pk)}

    # When they are published outside any transaction (so at once)
    sent = await database_sync_to_async(publish_many)(events, hospital_id=hospital.pk)

    # Then the patient gets theirs, and only theirs
    assert sent == 300
    event = await communicator.receive_json_from(timeout=10)
    assert (event["type"], event["data"], event["hospital"]) == ("test.bulk", {"n": 150}, hospital.pk)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()
    await database_sync_to_async(connections.close_all)()
