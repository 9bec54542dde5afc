"""Shared set-up for in-process benchmarks: a throwaway PostgreSQL database of their
own (created if missing, migrated), Redis as cache, fixed bench keys."""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(database: str, *, admin_url: str = "postgres://root@127.0.0.1:5432/postgres",
                 redis_url: str = "redis://127.0.0.1:6379/0", migrate: bool = True):
    import psycopg2

    parts = urlsplit(admin_url)
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{database}"')
    connection.close()
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{database}"))
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hospital_platform.settings.test")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def drop_database(database: str, *, admin_url: str = "postgres://root@127.0.0.1:5432/postgres"):
    """Drop a benchmark's own database (connections to it are ended)."""
    import psycopg2

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    connection.close()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def wait_for_worker(app, name_part: str, timeout: float = 120) -> None:
    """Until a Celery worker whose name contains `name_part` answers a ping."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if any(name_part in name for reply in replies for name in reply):
            return
    raise SystemExit("the worker did not start")
