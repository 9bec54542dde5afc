"""Share throughput to a loopback partner and delivery time, with the partner failing
20 % of requests.

    PYTHONPATH=. .venv/bin/python bench/partner_share.py [--shares 300] [--fail 0.2] [--concurrency 4]

This platform: a fresh PostgreSQL database (h_partners) with one hospital, N rare
cases (patient, diagnosis, a signed-off lab report, consent) and a population that
lets k-anonymity pass; ONE `celery worker` process (threads pool, --concurrency)
against Redis on a queue of its own. The partner: a real second instance of the
platform (its own database h_partners_peer and server process, tests/support/
peer_platform.py, served by gunicorn) behind a loopback proxy answering a random --fail share of
requests with 503 (or drops the connection with --mode drop).

The bench process plays the registry: it sends `prediction_indexes_ready` for each
case, so each share goes decision -> consent and k check -> release (de-identify,
egress audit) -> FHIR Bundle -> queued -> worker -> signed POST -> the peer validates
and stores it. Two phases of --shares cases each:

* stream: the worker runs while the cases are announced one after another; delivery
  time per share = queued -> the partner's acknowledgement recorded (retries and
  their backoff included): p50, p95, max;
* burst: every share is released first, then one worker drains the backlog:
  throughput = shares / drain time.

Also: decisions/s (this process), attempts per share, the failures the partner
really returned, copies stored at the partner (exactly one per share), load average.
"""

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import time
import uuid

from _django import ROOT, drop_database, percentile, setup_django, wait_for_worker

DATABASE = "h_partners"
PEER_DATABASE = "h_partners_peer"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8")


def start_worker(queue: str, concurrency: int, log_path) -> subprocess.Popen:
    from django.db import connection

    params = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/"
                                         f"{params['NAME']}",
           "REDIS_URL": REDIS_URL, "DJANGO_SETTINGS_MODULE": "hospital_platform.settings.test",
           "CELERY_TASK_ALWAYS_EAGER": "0", "LOG_LEVEL": "WARNING"}
    output = open(log_path, "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hospital_platform", "worker", "-Q", queue, "--pool", "threads",
         "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "-l", "WARNING",
         "-n", f"partners-{queue}@%h"], cwd=ROOT, env=env, stdout=output, stderr=output)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shares", type=int, default=300, help="per phase (stream, then burst)")
    parser.add_argument("--fail", type=float, default=0.2, help="share of requests the partner fails")
    parser.add_argument("--mode", choices=("503", "drop"), default="503")
    parser.add_argument("--concurrency", type=int, default=4, help="worker threads")
    parser.add_argument("--peer-workers", type=int, default=2, help="gunicorn processes serving the partner")
    parser.add_argument("--retry-base", type=float, default=0.5, help="partners.retry_base_seconds")
    args = parser.parse_args()
    load_before = os.getloadavg()

    drop_database(DATABASE)
    setup_django(DATABASE, redis_url=REDIS_URL)
    from django.db import connection

    from apps.partners.models import OutboundShare, ShareAttempt
    from apps.partners.signing import key_generate
    from apps.rarecases.models import RareCase
    from apps.rarecases.signals import prediction_indexes_ready
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Hospital
    from hospital_platform.celery import app
    from tests.fakes.flaky_proxy import FailurePlan, FlakyProxy
    from tests.support.partners import partner_make, platform_admin, platform_settings, population, rare_case_make
    from tests.support.peer_platform import peer_platform

    app.conf.task_always_eager = False
    logs = ROOT / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    hospital = Hospital.objects.create(slug="bench-partners", name="Bench partners")
    admin = platform_admin(hospital)
    platform_settings(admin, approval_required=False, share_index_low=0.5, share_index_high=1.0,
                      retry_base_seconds=args.retry_base, retry_max_seconds=30.0, max_attempts=12)
    started = time.perf_counter()
    population(hospital, count=20)
    stream_cases = [rare_case_make(hospital, first=0.9) for _ in range(args.shares)]
    burst_cases = [rare_case_make(hospital, first=0.9) for _ in range(args.shares)]
    print(f"set-up: {2 * args.shares} rare cases with patient, diagnosis, lab report and consent in "
          f"{time.perf_counter() - started:.1f} s", flush=True)

    key = key_generate()
    params = dict(connection.settings_dict)
    with peer_platform(database_params=params, name=PEER_DATABASE, redis_url=REDIS_URL,
                       partners=[{"code": "bench-origin", "key": key}], log_path=logs / "partner-peer.log",
                       workers=args.peer_workers) as peer, \
            FlakyProxy(peer.url, FailurePlan(fraction=args.fail, mode=args.mode)) as proxy:
        partner_make(admin, code="bench-peer", endpoint_url=proxy.url, our_id="bench-origin", key=key,
                     focus=["*"])

        def announce(batch):
            begin = time.perf_counter()
            for case in batch:
                with tenant_context(hospital.pk):  # the registry's write of both indexes, then its signal
                    RareCase.objects.filter(pk=case.pk).update(second_prediction_index=0.1)
                    prediction_indexes_ready.send(sender=RareCase, case=case)
            return time.perf_counter() - begin

        def wait_settled(batch):
            ids = [case.pk for case in batch]
            deadline = time.monotonic() + 1800
            while True:
                with tenant_context(hospital.pk):
                    done = OutboundShare.objects.filter(case_id__in=ids, status__in=["delivered", "failed"]).count()
                if done == len(ids):
                    return time.perf_counter()
                if time.monotonic() > deadline:
                    raise SystemExit("gave up after 30 minutes")
                time.sleep(0.5)

        # Stream: the worker runs while the registry announces cases one after another.
        stream_queue = route_to(app, "stream")
        worker = start_worker(stream_queue, args.concurrency, logs / "partner-worker.log")
        try:
            wait_for_worker(app, f"partners-{stream_queue}")
            decided = announce(stream_cases)
            print(f"stream: {args.shares} decisions and releases in {decided:.1f} s", flush=True)
            wait_settled(stream_cases)
        finally:
            stop(app, worker, stream_queue)
        # Burst: every share released first, then one worker drains the backlog.
        burst_queue = route_to(app, "burst")
        announce(burst_cases)
        worker = start_worker(burst_queue, args.concurrency, logs / "partner-worker.log")
        try:
            wait_for_worker(app, f"partners-{burst_queue}")
            drain_began = time.perf_counter()
            drained = wait_settled(burst_cases) - drain_began
        finally:
            stop(app, worker, burst_queue)
        load_after = os.getloadavg()

        def figures(batch) -> dict:
            with tenant_context(hospital.pk):
                shares = list(OutboundShare.objects.filter(case__in=batch).values(
                    "pk", "share_id", "status", "attempts", "queued_at", "delivered_at"))
                attempts = list(ShareAttempt.objects.filter(share_id__in=[s["pk"] for s in shares])
                                .values_list("outcome", "duration_ms"))
            outcomes = collections.Counter(outcome for outcome, _ms in attempts)
            round_trips = [ms for outcome, ms in attempts if outcome in ("delivered", "duplicate")]
            stored = peer.query("SELECT count(*), count(DISTINCT share_id) FROM partners_externalrarecase "
                                "WHERE share_id::text = ANY(%s)", [[str(s["share_id"]) for s in shares]])[0]
            delivered = [s for s in shares if s["status"] == "delivered"]
            latencies = [(s["delivered_at"] - s["queued_at"]).total_seconds() for s in delivered]
            return {"shares": len(shares), "delivered": len(delivered), "failed": len(shares) - len(delivered),
                    "attempt_outcomes": dict(outcomes),
                    "attempts_per_share": dict(sorted(collections.Counter(s["attempts"] for s in shares).items())),
                    "stored_at_partner": stored[0], "distinct_at_partner": stored[1],
                    "queued_to_delivered_p50_s": round(percentile(latencies, 0.50), 3),
                    "queued_to_delivered_p95_s": round(percentile(latencies, 0.95), 3),
                    "queued_to_delivered_max_s": round(max(latencies), 3),
                    "accepted_request_round_trip_p50_ms": round(percentile(round_trips, 0.50), 1),
                    "accepted_request_round_trip_p95_ms": round(percentile(round_trips, 0.95), 1)}

        stream, burst = figures(stream_cases), figures(burst_cases)
        requests_failed = sum(1 for seen in proxy.seen if not seen.forwarded)
        requests = len(proxy.seen)

    result = {
        "partner_failure_rate_configured": args.fail, "failure_mode": args.mode,
        "requests_to_partner": requests, "requests_failed": requests_failed,
        "failure_rate_observed": round(requests_failed / max(1, requests), 3),
        "stream": {**stream, "decisions_per_second": round(args.shares / decided, 1)},
        "burst": {**burst, "drain_seconds": round(drained, 1),
                  "throughput_shares_per_second": round(burst["delivered"] / drained, 2)},
        "retry_base_seconds": args.retry_base, "worker": f"1 process, threads pool x{args.concurrency}",
        "partner_server": f"gunicorn x{args.peer_workers}" if args.peer_workers else "runserver",
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in load_after], "cpu_cores": os.cpu_count(),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    (logs / "partner_share.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))


def route_to(app, phase: str) -> str:
    queue = f"partners-bench-{phase}-{uuid.uuid4().hex[:6]}"
    app.conf.task_routes = {"partners.*": {"queue": queue}}
    app.amqp.flush_routes()
    app.amqp.router = app.amqp.Router()
    return queue


def stop(app, worker, queue: str) -> None:
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    with app.connection_for_write() as broker:
        broker.default_channel.queue_delete(queue)


if __name__ == "__main__":
    sys.exit(main())
