"""Live pieces for end-to-end tests: a real Celery worker consuming from Redis and a
WebSocket client on the real ASGI application."""

import uuid
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections


def _route(celery_app, routes) -> None:
    celery_app.conf.task_routes = routes
    celery_app.amqp.flush_routes()
    celery_app.amqp.router = celery_app.amqp.Router()


@contextmanager
def real_worker(queues: list[str], *, private_ml_queue: bool = False):
    """A worker thread consuming `queues` through the broker (not eager); skips without Redis.

    With `private_ml_queue`, `ml.*` tasks go to a queue of this run's own, which the
    worker consumes instead of `ml`: other suites' workers on the shared Redis never take
    this run's tasks (they would not find its rows)."""
    from hospital_platform.celery import app as celery_app

    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL); CI always runs it")
    routes = celery_app.conf.task_routes
    if private_ml_queue:
        private = f"ml-test-{uuid.uuid4().hex[:8]}"
        _route(celery_app, {"ml.*": {"queue": private}})
        queues = [private if queue == "ml" else queue for queue in queues]
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()  # nothing left over from an earlier run
    try:
        with start_worker(celery_app, queues=queues, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield celery_app
    finally:
        celery_app.conf.task_always_eager = True
        if private_ml_queue:
            _route(celery_app, routes)
        connections.close_all()


async def connect_events(token: str) -> WebsocketCommunicator:
    """A client on /ws/v1/events/ with a bearer token, past the connection.ready message."""
    from hospital_platform.asgi import application

    communicator = WebsocketCommunicator(application, "/ws/v1/events/",
                                         headers=[(b"authorization", f"Bearer {token}".encode())])
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "connection.ready"
    return communicator
