"""Reminder dispatch: 100,000 doses due in the same minute, one real Celery worker.

    .venv/bin/python bench/reminders_dispatch.py [--doses 100000] [--kill-at 0.3]

Builds a fresh PostgreSQL database with one hospital of N patients, each with a WeChat
account with subscription quota, a plan and one dose due now; starts the loopback
WeChat fake (tests/fakes/wechat_server.py) in this process and ONE `celery worker`
process (solo pool) against Redis; then runs beat's dispatch job once and measures
the time until every dose is recorded sent. Counts duplicates (a dose WeChat received
twice) and misses (a dose WeChat never received), and how many were only in-app.

With --kill-at F the worker is SIGKILLed once a fraction F of the messages went out,
a second worker is started, and beat ticks every 10 s (lease 30 s) until all are sent:
the restart scenario of tests/apps/reminders/test_dispatch_worker.py at full size.

BENCH_DATABASE names the throwaway database (default hp_bench_reminders); it is
dropped and made again on each run. Prints the load average before and after, and the
CPU seconds the worker, this process (the WeChat fake) and PostgreSQL spent.
"""

import argparse
import json
import os
import signal
import sys
import time
import uuid

import psycopg2
from _django import ROOT, setup_django

DATABASE = os.environ.get("BENCH_DATABASE", "hp_bench_reminders")
ADMIN_URL = "postgres://root@127.0.0.1:5432/postgres"
BEAT_SECONDS = 10  # reminders.dispatch_due's schedule (apps/reminders/periodic.py)
# With --kill-at: the dead worker's claims are taken over after this long instead of the
# default 300 s. Not shorter: on a loaded machine a live worker can take over 10 s from
# claim to record, and the sweep would settle its slice too (harmless, but `unknown`).
LEASE_SECONDS = 30


def fresh_database():
    connection = psycopg2.connect(ADMIN_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    connection.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (from /proc)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and its living children (a prefork worker's pool processes)."""
    children = []
    for task in os.listdir(f"/proc/{pid}/task") if os.path.isdir(f"/proc/{pid}/task") else []:
        with open(f"/proc/{pid}/task/{task}/children") as listing:
            children += [int(child) for child in listing.read().split()]
    return cpu_seconds(pid) + sum(tree_cpu_seconds(child) for child in children)


def database_backends(database: str) -> list[int]:
    connection = psycopg2.connect(ADMIN_URL)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
        pids = [row[0] for row in cursor.fetchall()]
    connection.close()
    return pids


def wait_ready(app, queue: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if any(f"reminders-{queue}" in name for reply in replies for name in reply):
            return
    raise SystemExit("the worker did not start")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--doses", type=int, default=100_000)
    parser.add_argument("--kill-at", type=float, default=None, help="SIGKILL the worker after this share was sent")
    parser.add_argument("--worker-processes", type=int, default=1,
                        help="1: the solo pool (the figure of record); more: one worker with a prefork pool")
    args = parser.parse_args()

    fresh_database()
    setup_django(DATABASE)
    from apps.configuration.services import setting_set
    from apps.reminders import dispatch
    from apps.reminders.models import Dose
    from apps.reminders.tasks import dispatch_due
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Hospital
    from apps.tenancy.roles import Role
    from hospital_platform.celery import app
    from tests.factories import member_of
    from tests.fakes.wechat_server import FakeWeChat
    from tests.support.reminders_dispatch import TEMPLATE, populate, start_worker, tally, worker_environment

    app.conf.task_always_eager = False
    fake = FakeWeChat(app_id="wx-bench", app_secret="wx-bench-secret").start()
    hospital = Hospital.objects.create(slug="bench-reminders", name="Bench reminders")
    started = time.perf_counter()
    population = populate(hospital=hospital, count=args.doses, app_id=fake.app_id)
    for openid in population.openids:
        fake.grant_subscription(openid, TEMPLATE, times=2)
    print(f"population: {args.doses} patients, plans and due doses in {time.perf_counter() - started:.1f} s",
          flush=True)
    # A production table has planner statistics (autovacuum analyses a table once a tenth
    # of it changed); one filled a moment ago may have none yet, and the planner then
    # guesses a few rows per state and picks bitmap scans over 100,000 index entries.
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    if args.kill_at is not None:
        setting_set(key="reminders.dispatch_lease_seconds", value=LEASE_SECONDS, hospital_id=None,
                    actor=member_of(hospital, Role.PLATFORM_ADMIN), role=Role.PLATFORM_ADMIN)

    queue = f"reminders-bench-{uuid.uuid4().hex[:6]}"
    env = worker_environment(wechat_base_url=fake.base_url, app_id=fake.app_id, app_secret=fake.app_secret)
    logs = ROOT / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    workers = [start_worker(queue=queue, env=env, log_path=logs / "reminders-worker.log",
                            processes=args.worker_processes)]
    try:
        wait_ready(app, queue)
    except SystemExit:
        workers[0].kill()
        raise

    def all_sent() -> bool:
        # A cheap count (indexed by state), not the full tally: polling must not load the database.
        with tenant_context(hospital.pk):
            return Dose.objects.filter(dispatch_state=Dose.Dispatch.SENT).count() == args.doses

    load_before = os.getloadavg()
    backends_before = {pid: cpu_seconds(pid) for pid in database_backends(DATABASE)}
    worker_cpu_before, own_cpu_before = tree_cpu_seconds(workers[0].pid), time.process_time()
    begin = time.perf_counter()
    queued = dispatch_due(queue=queue)["queued"]
    killed_at = None
    next_tick = begin + BEAT_SECONDS
    try:
        while not all_sent():
            time.sleep(1.0)
            if args.kill_at is not None and killed_at is None and len(fake.sent) >= args.kill_at * args.doses:
                os.kill(workers[0].pid, signal.SIGKILL)
                workers[0].wait()
                killed_at = len(fake.sent)
                workers.append(start_worker(queue=queue, env=env, log_path=logs / "reminders-worker.log",
                                            processes=args.worker_processes))
            if killed_at is not None and time.perf_counter() >= next_tick:
                dispatch_due(queue=queue)  # beat keeps ticking, as often as its schedule says
                next_tick = time.perf_counter() + BEAT_SECONDS
            if time.perf_counter() - begin > 1800:
                raise SystemExit("gave up after 30 minutes")
        elapsed = time.perf_counter() - begin
        load_after = os.getloadavg()
        cpu = {
            "worker": round(sum(tree_cpu_seconds(worker.pid) for worker in workers) - worker_cpu_before, 1),
            "this process (WeChat fake, beat's dispatch job, polling)": round(time.process_time() - own_cpu_before, 1),
            "postgres backends of this database": round(sum(
                cpu_seconds(pid) - backends_before.get(pid, 0.0) for pid in database_backends(DATABASE)), 1),
        }
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=60)
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
        fake.stop()

    counts = tally(population, fake)
    result = {
        "doses_due": args.doses, "queued": queued,
        "workers": ("1 (solo pool)" if args.worker_processes == 1 else f"1 (prefork pool, {args.worker_processes} "
                    "processes)") + ("" if killed_at is None else ", SIGKILLed and replaced"),
        "killed_after_messages": killed_at, "seconds_until_all_sent": round(elapsed, 1),
        "doses_per_second": round(args.doses / elapsed), "wechat_messages": counts["wechat_messages"],
        "duplicates": len(counts["duplicates"]), "missed": len(counts["missed"]),
        "unknown_after_kill": len(counts["unknown"]),
        "missed_but_not_recorded_unknown": len(set(counts["missed"]) - set(counts["unknown"])),
        "slice_size": dispatch.SLICE_SIZE,
        "send_concurrency": dispatch.SEND_CONCURRENCY, "cpu_seconds": cpu, "cpu_cores": os.cpu_count(),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in load_after],
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    name = "reminders_dispatch_kill.json" if killed_at is not None else "reminders_dispatch.json"
    (logs / name).write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
