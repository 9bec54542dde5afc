"""A real Celery worker in its own process, for end-to-end tests and benchmarks.

It runs `celery -A hospital_platform worker` against the same database and Redis as
the caller, on a queue of its own: the broker is shared with other test runs, and a
worker of theirs must not take our tasks (nor ours theirs). `route_ml_tasks_to` sends
this process's `ml.*` tasks there.
"""

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this process is connected to (the test database in tests)."""
    params = connection.settings_dict
    user = params["USER"] or ""
    auth = f"{user}:{params['PASSWORD']}@" if params.get("PASSWORD") else (f"{user}@" if user else "")
    return f"postgres://{auth}{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


@contextmanager
def worker_process(queue: str, *, env: dict | None = None, log_path: Path | None = None):
    """Start a worker consuming `queue` (solo pool, one task at a time) and stop it after."""
    environment = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
                   "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE",
                                                            "hospital_platform.settings.test"),
                   "MEDIA_ROOT": str(settings.MEDIA_ROOT), "OMP_THREAD_LIMIT": "1", "CELERY_ML_QUEUE": queue,
                   **(env or {})}
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hospital_platform", "worker", "-Q", queue, "--pool", "solo",
         "-n", f"{queue}@%h", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log_path:
            log.close()


@contextmanager
def route_ml_tasks_to(queue: str, *, pattern: str = "ml.*"):
    """Send this process's tasks named like `pattern` (the ML ones by default) to `queue`."""
    from hospital_platform.celery import app

    previous = (app.conf.task_routes, app.conf.task_always_eager)
    app.conf.task_routes = {pattern: {"queue": queue}}
    app.conf.task_always_eager = False
    app.amqp.flush_routes()
    app.amqp.router = app.amqp.Router()
    try:
        yield app
    finally:
        app.conf.task_routes, app.conf.task_always_eager = previous
        app.amqp.flush_routes()
        app.amqp.router = app.amqp.Router()
        with app.connection_for_write() as broker:
            broker.default_channel.queue_delete(queue)


def unique_queue(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(condition, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met in time")
