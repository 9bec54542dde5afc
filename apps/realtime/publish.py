"""The one way every app pushes an event to WebSocket clients."""

import asyncio
import concurrent.futures
import logging
import os
import threading
import uuid

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction
from django.utils import timezone

from .groups import PLATFORM_ADMINS_GROUP, staff_group, user_group

logger = logging.getLogger(__name__)


def publish(event_type: str, data: dict, *, user_ids=(), hospital_id: int | None = None, roles=(),
            platform_admins: bool = False) -> dict:
    """Send `data` as `event_type` to the given users and to the hospital's staff in
    `roles` (and, with `platform_admins`, to every connected platform administrator),
    after the current transaction commits (an event never announces a write that was
    rolled back). Call from sync code: services and tasks.

    Returns the envelope that will be sent.
    """
    if roles and hospital_id is None:
        raise ValueError("publishing to roles needs the hospital_id")
    groups = [user_group(user_id) for user_id in user_ids]
    groups += [staff_group(hospital_id, role) for role in roles]
    if platform_admins:
        groups.append(PLATFORM_ADMINS_GROUP)
    envelope = {
        "id": uuid.uuid4().hex,
        "type": event_type,
        "occurred_at": timezone.now().isoformat(),
        "hospital": hospital_id,
        "data": data,
    }

    def send():
        layer = get_channel_layer()
        for group in groups:
            try:
                async_to_sync(layer.group_send)(group, {"type": "realtime.event", "event": envelope})
            except Exception:  # A push is best effort; the data is already committed.
                logger.exception("realtime publish to %s failed", group)

    transaction.on_commit(send)
    return envelope


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process, on a daemon thread, for bulk sends: the channel
    layer keeps its Redis connections per loop, so a long-lived loop reuses them
    where async_to_sync would open new ones for every call."""
    global _loop
    if _loop is None:
        with _loop_lock:
            if _loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="realtime-publish", daemon=True).start()
                _loop = loop
    return _loop


_bulk_in_flight: concurrent.futures.Future | None = None
_bulk_lock = threading.Lock()


def publish_many(events: list[tuple[str, dict, list[int]]], *, hospital_id: int | None = None) -> int:
    """Send many user events after commit: (event_type, data, user_ids) each. Bulk
    senders (dose reminders) use it: on Redis the groups nobody listens to are found
    with one pipeline (see ChannelLayer.groups_with_members), where `publish` costs about
    4 ms an event (a new loop and connection per call), and the caller does not wait for
    Redis unless its previous batch is still on its way. Returns how many group messages
    it was given (on Redis, those for groups nobody is in are dropped)."""
    messages = []
    occurred_at = timezone.now().isoformat()
    # Event ids from one os.urandom call (uuid4() per event asks the kernel each time).
    entropy = os.urandom(16 * len(events))
    for index, (event_type, data, user_ids) in enumerate(events):
        event_id = uuid.UUID(bytes=entropy[16 * index:16 * index + 16], version=4).hex
        envelope = {"id": event_id, "type": event_type, "occurred_at": occurred_at, "hospital": hospital_id,
                    "data": data}
        messages += [(user_group(user_id), {"type": "realtime.event", "event": envelope}) for user_id in user_ids]

    async def send_all():
        layer = get_channel_layer()
        pending = messages
        if hasattr(layer, "groups_with_members"):  # Redis: one pipeline skips the groups nobody is in
            try:
                listened = await layer.groups_with_members([group for group, _message in messages])
            except Exception:  # Best effort, as in publish().
                logger.exception("realtime publish of %s messages failed", len(messages))
                return
            pending = [(group, message) for group, message in messages if group in listened]
        for group, message in pending:
            try:
                await layer.group_send(group, message)
            except Exception:  # Best effort, as in publish().
                logger.exception("realtime publish to %s failed", group)

    def send():
        global _bulk_in_flight
        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            async_to_sync(send_all)()  # one process: the consumers' own loop must see it
            return
        # The caller goes on with its next batch while this one reaches Redis; one batch
        # at a time per process, so a slow Redis slows the caller rather than piling up.
        with _bulk_lock:
            if _bulk_in_flight is not None:
                _bulk_in_flight.result(timeout=120)
            _bulk_in_flight = asyncio.run_coroutine_threadsafe(send_all(), _background_loop())

    if messages:
        transaction.on_commit(send)
    return len(messages)
