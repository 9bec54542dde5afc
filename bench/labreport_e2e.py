"""End-to-end time of a lab report: from the upload request to the analysed report
arriving over the WebSocket, with a warm ML worker (engines loaded once).

    .venv/bin/python bench/labreport_e2e.py [--uploads 20] [--engine tesseract] [--database reports]

What runs, all real and on this machine:

* PostgreSQL (`--database`, created and migrated if missing) and Redis (broker and
  channel layer);
* daphne serving the ASGI application (HTTP API and /ws/v1/events/) on a free port;
* one Celery worker process (`celery -A hospital_platform worker --pool solo`) on a
  queue of its own, to which this run's `ml.*` tasks are routed (the broker is shared);
* the client: httpx posts each synthetic report photo (ml.labreport.synth, a new seed
  each time, rotated and photographed) as a doctor, and a websockets client connected
  as that doctor waits for the report's `lab_report.ready` event.

Two warm-up uploads load the engine in the worker and are not counted. Uploads go one
at a time (the worker has one core to itself at best). Prints p50/p95 of the whole
trip and of its parts: the upload request, queue wait (upload answered -> the
"processing" event) and analysis (processing -> ready). Writes JSON to bench/results/.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time

from _django import ROOT, percentile, setup_django

RESULTS = ROOT / "bench" / "results"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _set_up(engine: str):
    from apps.accounts.models import ApiToken
    from apps.accounts.services import token_issue
    from apps.configuration.services import setting_set
    from apps.patients.models import Patient
    from apps.patients.services import patient_create
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Hospital, Membership
    from apps.tenancy.roles import Role
    from django.contrib.auth import get_user_model

    hospital, _ = Hospital.objects.get_or_create(slug="bench-labreport", defaults={"name": "Bench lab reports"})
    users = get_user_model().objects
    doctor, _ = users.get_or_create(username="bench-labreport-doctor@example.test")
    admin, _ = users.get_or_create(username="bench-labreport-admin@example.test")
    Membership.objects.get_or_create(user=doctor, hospital=hospital, defaults={"role": Role.DOCTOR})
    Membership.objects.get_or_create(user=admin, hospital=hospital, defaults={"role": Role.HOSPITAL_ADMIN})
    with tenant_context(hospital.pk):
        patient = Patient.objects.filter(name="基准患者").first() or patient_create(
            hospital_id=hospital.pk, name="基准患者", sex="F")
    setting_set(key="algorithm.ocr", value=engine, actor=admin, role=Role.HOSPITAL_ADMIN, hospital_id=hospital.pk)
    token, _ = token_issue(user=doctor, kind=ApiToken.Kind.PASSWORD)
    return patient.pk, token


def _start_server(port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "hospital_platform.asgi:application"], cwd=ROOT, env=env,
                            stdout=open(RESULTS / "labreport_e2e_server.log", "wb"), stderr=subprocess.STDOUT)


async def _wait_for_server(base: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError("daphne did not start")


async def _one(client, ws, base, token, patient_id, photo: bytes) -> dict:
    started = time.perf_counter()
    response = await client.post(f"{base}/api/v1/reports/", headers={"Authorization": f"Bearer {token}"},
                                 data={"patient": str(patient_id)},
                                 files={"file": ("report.jpg", photo, "image/jpeg")})
    answered = time.perf_counter()
    assert response.status_code == 201, response.text
    report_id = response.json()["id"]
    processing = None
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=300))
        if event["data"].get("id") != report_id:
            continue
        if event["type"] == "lab_report.status" and event["data"]["status"] == "processing":
            processing = time.perf_counter()
        if event["type"] == "lab_report.status" and event["data"]["status"] == "failed":
            raise RuntimeError(f"report {report_id} failed: {event['data']}")
        if event["type"] == "lab_report.ready":
            done = time.perf_counter()
            return {"report": report_id, "total_ms": (done - started) * 1000, "upload_ms": (answered - started) * 1000,
                    "queue_ms": ((processing or done) - answered) * 1000,
                    "analysis_ms": (done - (processing or answered)) * 1000,
                    "items": len(event["data"]["items"]), "worker_timings_ms": event["data"]["timings_ms"]}


async def _run(base: str, token: str, patient_id: int, uploads: int, warmup: int) -> list[dict]:
    import httpx
    import websockets

    from tests.support.upload_files import jpeg_bytes, report_photo

    photos = [jpeg_bytes(report_photo(seed=1000 + index, rotation=None)[0]) for index in range(warmup + uploads)]
    ws_url = base.replace("http://", "ws://") + "/ws/v1/events/"
    async with websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"},
                                  max_size=None) as ws, httpx.AsyncClient(timeout=120) as client:
        assert json.loads(await ws.recv())["type"] == "connection.ready"
        results = []
        for index, photo in enumerate(photos):
            result = await _one(client, ws, base, token, patient_id, photo)
            label = "warm-up" if index < warmup else f"{index - warmup + 1}/{uploads}"
            print(f"  {label}: {result['total_ms']:.0f} ms, {result['items']} items", flush=True)
            if index >= warmup:
                results.append(result)
        return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--engine", default="tesseract", choices=["tesseract", "rapidocr", "crnn", "auto"])
    parser.add_argument("--database", default="reports")
    args = parser.parse_args()

    media = RESULTS / "labreport-media"
    media.mkdir(parents=True, exist_ok=True)
    os.environ["MEDIA_ROOT"] = str(media)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.labreport_settings"
    setup_django(args.database)
    from django.db import connections

    from tests.support.celery_worker import route_ml_tasks_to, unique_queue, worker_process

    patient_id, token = _set_up(args.engine)
    connections.close_all()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    queue = unique_queue("bench-labreport")
    # The web process queues the analysis: it routes ml.* to our worker's queue.
    server = _start_server(port, {**os.environ, "CELERY_ML_QUEUE": queue})
    try:
        with route_ml_tasks_to(queue), worker_process(queue, log_path=RESULTS / "labreport_e2e_worker.log"):
            asyncio.run(_wait_for_server(base))
            results = asyncio.run(_run(base, token, patient_id, args.uploads, args.warmup))
    finally:
        server.terminate()
        server.wait(timeout=30)

    def summary(key):
        values = [result[key] for result in results]
        return {"p50": round(percentile(values, 0.5), 1), "p95": round(percentile(values, 0.95), 1)}

    figures = {"engine": args.engine, "uploads": len(results), "cpu_count": os.cpu_count(),
               "total_ms": summary("total_ms"), "upload_ms": summary("upload_ms"), "queue_ms": summary("queue_ms"),
               "analysis_ms": summary("analysis_ms"),
               "items_min": min(result["items"] for result in results)}
    print(f"\nlab report upload -> WebSocket, engine {args.engine}, {len(results)} uploads, warm worker")
    for key in ("total_ms", "upload_ms", "queue_ms", "analysis_ms"):
        print(f"  {key[:-3]:<9} p50 {figures[key]['p50']:>8.0f} ms   p95 {figures[key]['p95']:>8.0f} ms")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"labreport_e2e_{args.engine}.json").write_text(json.dumps({**figures, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
