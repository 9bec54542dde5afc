"""Liveness and readiness probes for load balancers and orchestrators.

/healthz: the process answers (no dependency is touched).
/readyz:  the database, Redis and the Celery broker answer; 503 if any does not.
Services that are not configured (the embedded default) report "not_configured"
and do not fail readiness.
"""

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def healthz(request):
    return JsonResponse({"status": "ok"})


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as error:  # A probe reports failures; it must not raise them.
        return {"status": "error", "error": f"{type(error).__name__}: {error}"[:300],
                "ms": round((time.perf_counter() - started) * 1000, 1)}
    result = {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}
    if detail:
        result.update(detail)
    return result


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def _check_redis():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def _check_broker():
    from hospital_platform.celery import app

    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=2)


def readyz(request):
    checks = {"database": _timed(_check_database)}
    if settings.REDIS_URL:
        checks["redis"] = _timed(_check_redis)
    else:
        checks["redis"] = {"status": "not_configured"}
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = {"status": "not_configured", "mode": "eager"}
    else:
        checks["broker"] = _timed(_check_broker)
    ready = all(check["status"] in ("ok", "not_configured") for check in checks.values())
    return JsonResponse({"status": "ready" if ready else "not_ready", "checks": checks}, status=200 if ready else 503)
