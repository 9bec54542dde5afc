"""A second instance of the platform on loopback: its own PostgreSQL database
(migrated on first use, kept between runs like --reuse-db), its own server process
(`manage.py runserver`, the ASGI server), the same code. Tests and the share
benchmark share a case from this process's platform to it for real.

Its partners are set up through the platform's own services (a `manage.py shell`
script in the peer's environment), and what it stored is read from its database."""

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg2

ROOT = Path(__file__).resolve().parents[2]

_SETUP = """
import json, os
from django.db import connection
from apps.partners.services import partner_create, partner_set_status
from apps.tenancy.roles import Role
with connection.cursor() as cursor:
    cursor.execute("TRUNCATE partners_externalrarecase, partners_inboundnonce, partners_sharingpartner CASCADE")
for spec in json.loads(os.environ["PEER_PARTNERS"]):
    created = partner_create(name=spec["code"], code=spec["code"], endpoint_url="http://127.0.0.1:9",
                             our_id_at_partner="peer", research_focus=["*"], data_categories=["condition"],
                             hmac_key=spec["key"], role=Role.PLATFORM_ADMIN)
    if spec.get("status", "active") != "active":
        partner_set_status(partner_id=created.partner.pk, status=spec["status"], role=Role.PLATFORM_ADMIN)
"""


@dataclass
class PeerPlatform:
    url: str
    dsn: str

    def query(self, sql: str, params=()) -> list[tuple]:
        with psycopg2.connect(self.dsn) as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def external_cases(self, share_id: str) -> list[dict]:
        rows = self.query("SELECT id, icd10_code, bundle FROM partners_externalrarecase WHERE share_id = %s",
                          [share_id])
        return [{"id": row[0], "icd10_code": row[1], "bundle": row[2]} for row in rows]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dsn(params: dict, name: str) -> str:
    parts = [f"dbname={name}", f"host={params.get('HOST') or '127.0.0.1'}", f"port={params.get('PORT') or 5432}"]
    if params.get("USER"):
        parts.append(f"user={params['USER']}")
    if params.get("PASSWORD"):
        parts.append(f"password={params['PASSWORD']}")
    return " ".join(parts)


def _url(params: dict, name: str) -> str:
    user = params.get("USER") or ""
    auth = f"{user}:{params['PASSWORD']}@" if params.get("PASSWORD") else (f"{user}@" if user else "")
    return f"postgres://{auth}{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{name}"


def _ensure_database(params: dict, name: str) -> None:
    admin = psycopg2.connect(_dsn(params, "postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()


@contextmanager
def peer_platform(*, database_params: dict, name: str, redis_url: str, partners: list[dict],
                  log_path: Path | None = None, timeout: float = 900, workers: int = 0):
    """Migrate (if needed) and start the peer; `partners` are the platforms it knows:
    [{"code", "key", "status"}]. `workers` > 0 serves it with gunicorn (that many
    processes, as in production) instead of the development server."""
    _ensure_database(database_params, name)
    environment = {**os.environ, "DATABASE_URL": _url(database_params, name), "REDIS_URL": redis_url,
                   "DJANGO_SETTINGS_MODULE": "hospital_platform.settings.test", "CELERY_TASK_ALWAYS_EAGER": "1",
                   "PEER_PARTNERS": json.dumps(partners)}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=environment, check=True,
                   timeout=timeout)
    subprocess.run([*manage, "shell", "-c", _SETUP], cwd=ROOT, env=environment, check=True, timeout=300)
    port = _free_port()
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    command = [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"] if not workers else \
        [sys.executable, "-m", "gunicorn", "hospital_platform.wsgi:application", "-b", f"127.0.0.1:{port}",
         "-w", str(workers), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the peer platform did not start (see {log_path})")
            time.sleep(0.5)
        yield PeerPlatform(url=url, dsn=_dsn(database_params, name))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if log_path:
            log.close()
