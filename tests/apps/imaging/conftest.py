import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.patients.services import patient_create
from apps.realtime.groups import user_group
from apps.tenancy.roles import Role
from tests.factories import member_of


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def patient_a(hospital_a):
    return patient_create(hospital_id=hospital_a.pk, name="王五")


@pytest.fixture
def patient_b(hospital_b):
    return patient_create(hospital_id=hospital_b.pk, name="赵六")


@pytest.fixture
def patient_user_a(hospital_a, patient_a):
    user = member_of(hospital_a, Role.PATIENT)
    patient_a.user = user
    patient_a.save(update_fields=["user"])
    return user


class EventListener:
    """Listens on a user's channel-layer group, like the WebSocket consumer does."""

    def __init__(self, user_id: int):
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(user_group(user_id), self.channel)

    def events(self) -> list[dict]:
        received = []
        while True:
            try:
                message = async_to_sync(self._receive)()
            except TimeoutError:
                return received
            received.append(message)

    async def _receive(self):
        import asyncio

        return await asyncio.wait_for(self.layer.receive(self.channel), timeout=0.5)


@pytest.fixture
def listen():
    return EventListener
