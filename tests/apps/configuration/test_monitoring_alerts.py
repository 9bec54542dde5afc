"""Alerts reach platform administrators over /ws/v1/events/ (once, and again when they
recover); WebSocket connections are counted; queue depths come from the broker."""

import time
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.configuration.monitoring import collectors
from apps.configuration.monitoring.alerts import alerts_evaluate
from apps.configuration.monitoring.connections import process_name
from apps.configuration.monitoring.store import RedisStore, get_store
from apps.configuration.services import setting_set
from apps.configuration.tasks import evaluate_alerts
from apps.tenancy.roles import Role
from hospital_platform.asgi import application
from hospital_platform.celery import app as celery_app
from tests.factories import HospitalFactory, member_of

from .test_monitoring import analyse, monitoring_store, run_tasks  # noqa: F401 (monitoring_store: a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("monitoring_store")]


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    # database_sync_to_async threads keep connections that would block dropping the test database.
    yield
    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def _people():
    hospital = HospitalFactory(slug=f"mon-{uuid.uuid4().hex[:6]}")
    platform_admin = member_of(hospital, Role.PLATFORM_ADMIN)
    hospital_admin = member_of(hospital, Role.HOSPITAL_ADMIN)
    tokens = [token_issue(user=user, kind=ApiToken.Kind.PASSWORD)[0] for user in (platform_admin, hospital_admin)]
    return platform_admin, *tokens


async def _connect(token):
    communicator = WebsocketCommunicator(application, "/ws/v1/events/",
                                         headers=[(b"authorization", f"Bearer {token}".encode())])
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "connection.ready"
    return communicator


@database_sync_to_async
def _set_platform(key, value, admin):
    setting_set(key=key, value=value, actor=admin, role=Role.PLATFORM_ADMIN, hospital_id=None)


async def test_a_crossed_threshold_alerts_platform_admins_once_then_recovers():
    # Given a platform admin and a hospital admin connected, and alerts from 3 runs on
    platform_admin, admin_token, hospital_admin_token = await _people()
    await _set_platform("monitoring.task_min_runs_for_alert", 3, platform_admin)
    platform_ws, hospital_ws = await _connect(admin_token), await _connect(hospital_admin_token)

    # when a task fails 3 times out of 3 and the alert job runs twice
    await database_sync_to_async(run_tasks)(analyse, 3, error="PACS unreachable")
    evaluate = evaluate_alerts
    await database_sync_to_async(lambda: evaluate.delay().get())()
    await database_sync_to_async(lambda: evaluate.delay().get())()

    # then the platform admin gets exactly one alert, saying what and how bad
    event = await platform_ws.receive_json_from(timeout=5)
    assert event["type"] == "monitoring.alert" and event["hospital"] is None
    assert event["data"]["key"] == "task_failure_rate:testing.monitoring.analyse"
    assert (event["data"]["value"], event["data"]["threshold"]) == (1.0, 0.2)
    assert "testing.monitoring.analyse" in event["data"]["message"]
    assert await platform_ws.receive_nothing(timeout=0.5)
    # and the hospital admin gets nothing
    assert await hospital_ws.receive_nothing(timeout=0.2)

    # when enough runs succeed to bring the rate under 20% (3 of 20)
    await database_sync_to_async(run_tasks)(analyse, 17)
    await database_sync_to_async(lambda: evaluate.delay().get())()
    await database_sync_to_async(lambda: evaluate.delay().get())()

    # then exactly one recovery follows
    recovered = await platform_ws.receive_json_from(timeout=5)
    assert recovered["type"] == "monitoring.recovered"
    assert recovered["data"]["key"] == "task_failure_rate:testing.monitoring.analyse"
    assert recovered["data"]["since"] == event["data"]["since"] and recovered["data"]["recovered_at"]
    assert await platform_ws.receive_nothing(timeout=0.5)
    assert get_store().alerts_active() == {}
    for communicator in (platform_ws, hospital_ws):
        await communicator.disconnect()


async def test_websocket_connections_are_counted():
    store = get_store()
    # Given no connections in this process
    before = (await database_sync_to_async(collectors.monitoring_snapshot)())["websockets"]["connections"]
    _platform_admin, admin_token, hospital_admin_token = await _people()

    # when two clients connect
    first, second = await _connect(admin_token), await _connect(hospital_admin_token)
    during = (await database_sync_to_async(collectors.monitoring_snapshot)())["websockets"]

    # then both count, under this process
    assert during["connections"] == before + 2
    own = next(row for row in during["processes"] if row["process"] == process_name())
    assert own["connections"] == before + 2
    if isinstance(store, RedisStore):
        # and the reporter thread publishes the count for other processes to read
        deadline = time.monotonic() + 5
        while store.websocket_counts().get(process_name(), {}).get("count") != before + 2:
            assert time.monotonic() < deadline, store.websocket_counts()
            time.sleep(0.05)

    # and disconnecting takes them off
    await first.disconnect()
    await second.disconnect()
    after = (await database_sync_to_async(collectors.monitoring_snapshot)())["websockets"]["connections"]
    assert after == before


@pytest.fixture
def private_queue():
    """A queue on the real broker that no worker consumes (not `default`, which other
    test runs may share)."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL); CI always runs it")
    name = f"monitoring-test-{uuid.uuid4().hex[:8]}"
    yield name
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_delete(name)


@pytest.mark.redis
async def test_queue_depth_is_read_from_the_broker_and_alerts(private_queue, monkeypatch):
    # Given a platform admin listening and a queue-depth threshold of 5
    platform_admin, admin_token, _ = await _people()
    await _set_platform("monitoring.queue_depth_alert", 5, platform_admin)
    platform_ws = await _connect(admin_token)
    monkeypatch.setattr(collectors, "queue_names", lambda: [private_queue])
    monkeypatch.setattr(collectors, "celery_eager", lambda: False)

    # when 6 tasks wait in the queue with no worker
    def queue_up():
        with celery_app.connection_for_write() as connection:
            for _ in range(6):
                celery_app.send_task("testing.monitoring.succeed", queue=private_queue, connection=connection)

    await database_sync_to_async(queue_up)()
    snapshot = await database_sync_to_async(collectors.monitoring_snapshot)()
    await database_sync_to_async(alerts_evaluate)()

    # then the depth is the broker's, and the admin is alerted
    assert snapshot["queues"] == [{"queue": private_queue, "depth": 6}]
    event = await platform_ws.receive_json_from(timeout=5)
    assert (event["type"], event["data"]["key"], event["data"]["value"]) == (
        "monitoring.alert", f"queue_depth:{private_queue}", 6)

    # when the queue is drained
    def drain():
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(private_queue)

    await database_sync_to_async(drain)()
    await database_sync_to_async(alerts_evaluate)()

    # then it recovers
    recovered = await platform_ws.receive_json_from(timeout=5)
    assert (recovered["type"], recovered["data"]["key"]) == ("monitoring.recovered", f"queue_depth:{private_queue}")
    await platform_ws.disconnect()
