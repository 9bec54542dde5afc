"""Benchmark of the hot list endpoint: GET /api/v1/patients/ (authenticated, tenant-scoped,
paginated 50 a page, one hash-chained audit event per request).

    .venv/bin/python bench/list_endpoint.py          (or: make bench)

What it does, in order:

1. Uses its own PostgreSQL database (`hp_bench`, created through psycopg2 as the
   admin URL's user), migrates it, and fills it: 100,000 patients at one hospital and
   5,000 at a second, so tenant scoping has rows to exclude. Existing data is reused
   when the row counts match and a row decrypts. Keys come from generate_key_set() and
   are kept in bench/results/bench-keys.env (git-ignored).
2. Counts the SQL queries of one list request in-process (django.test.Client under
   CaptureQueriesContext, the same settings as the server), at page_size 50 and 200:
   equal counts mean no per-row (N+1) queries. Times single requests there too.
3. Starts gunicorn with the WSGI app on a free loopback port, production settings.
4. Drives it with httpx.AsyncClient at each concurrency level, a fixed number of
   requests per level with a time cap, and prints requests/s, p50 and p95 latency,
   with the server's CPU per request and PostgreSQL lock waits sampled meanwhile.
5. Writes the figures as JSON to bench/results/.

Client, server and PostgreSQL share the machine's cores: the figures are for
comparing runs of this script on one machine, not a capacity plan.
"""

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
KEYS_FILE = RESULTS_DIR / "bench-keys.env"
sys.path.insert(0, str(ROOT))  # Run as a script from anywhere: the project is importable.

LIST_PATH = "/api/v1/patients/"
HOSPITAL_SLUG = "bench-a"
OTHER_HOSPITAL_SLUG = "bench-b"
USERNAME = "bench_doctor"
PASSWORD = "bench-password-8f3a1c"  # Loopback-only account in a throwaway database.
LOOPBACK = "127.0.0.1"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default="postgres://root@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--database", default="hp_bench", help="the benchmark's own database (created if missing)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0",
                        help="production settings require Redis (cache, login throttle)")
    parser.add_argument("--rows", type=int, default=100_000, help="patients at the measured hospital")
    parser.add_argument("--other-rows", type=int, default=5_000, help="patients at the second hospital")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--requests", type=int, default=2_000, help="requests per concurrency level")
    parser.add_argument("--time-cap", type=float, default=120.0, help="seconds per level at most")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (1: sync workers, else gthread)")
    parser.add_argument("--reset", action="store_true", help="drop and recreate the bench database first")
    return parser.parse_args()


# --- Environment and database ----------------------------------------------------

def bench_keys() -> tuple[dict[str, str], bool]:
    """The bench's key set, made once and kept beside the results. Returns (keys, new)."""
    from hospital_platform.settings.keys import KEY_NAMES, generate_key_set, read_env_file

    if KEYS_FILE.exists():
        stored = read_env_file(KEYS_FILE)
        if all(stored.get(name) for name in KEY_NAMES):
            return {name: stored[name] for name in KEY_NAMES}, False
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    keys = generate_key_set()
    KEYS_FILE.write_text("# Keys of the hp_bench database, made by bench/list_endpoint.py. Never commit.\n"
                         + "".join(f"{name}={value}\n" for name, value in keys.items()))
    KEYS_FILE.chmod(0o600)
    return keys, True


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, "", ""))


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"bench: {url} is not on the loopback interface; this benchmark stays on this machine.")


def ensure_database(admin_url: str, database: str, *, recreate: bool) -> None:
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
            exists = cursor.fetchone() is not None
            if exists and recreate:
                log(f"dropping database {database}")
                cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
                exists = False
            if not exists:
                log(f"creating database {database}")
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        connection.close()


def server_environment(args, keys: dict[str, str]) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(keys)
    environment.update({
        "DJANGO_SETTINGS_MODULE": "hospital_platform.settings.production",
        "DATABASE_URL": with_database(args.admin_url, args.database),
        "REDIS_URL": args.redis_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": str(RESULTS_DIR / "var"),
        # WhiteNoise warns that STATIC_ROOT is missing (no collectstatic for a bench);
        # the list endpoint serves no static files.
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
    })
    return environment


# --- Data ---------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def national_id(rng: random.Random, birth: date) -> str:
    body = f"110101{birth:%Y%m%d}{rng.randrange(1000):03d}"
    check = "10X98765432"[sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    return body + check


def patient_rows(hospital_id: int, count: int, *, seed: int, mrn_prefix: str):
    from apps.patients.models import Patient

    rng = random.Random(seed)
    for number in range(count):
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(30_000))
        yield Patient(
            hospital_id=hospital_id,
            name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
            sex=rng.choice("FM"),
            birth_date=birth,
            national_id=national_id(rng, birth),
            phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
            medical_record_number=f"{mrn_prefix}{number:09d}",
        )


def fill_hospital(hospital, count: int, *, seed: int) -> bool:
    """Make `count` patients at `hospital` unless exactly that many exist. Returns
    whether rows were made. Rows go in through the tenant context, so they pass the
    row-level security check like application writes; bulk_create encrypts the
    identifiers (get_prep_value) and fills the blind indexes (pre_save)."""
    from itertools import islice

    from django.db import connection

    from apps.patients.models import Patient
    from apps.privacy.encryption import DecryptionError
    from apps.tenancy.context import tenant_context

    with tenant_context(hospital.pk):
        existing = Patient.objects.count()
        try:
            Patient.objects.order_by("pk").first()  # Decrypts on load.
            readable = True
        except DecryptionError:
            readable = False
    if existing == count and readable:
        return False
    if existing:
        reason = "made under other keys" if not readable else f"want {count}"
        log(f"{hospital.slug}: {existing} patients ({reason}): deleting them")
        with connection.cursor() as cursor:  # As the owner, outside RLS: a bench reset.
            cursor.execute(f"DELETE FROM {Patient._meta.db_table} WHERE hospital_id = %s", [hospital.pk])
    started = time.perf_counter()
    rows = patient_rows(hospital.pk, count, seed=seed, mrn_prefix="MRN")
    with tenant_context(hospital.pk):
        while batch := list(islice(rows, 5_000)):
            Patient.objects.bulk_create(batch, batch_size=1_000)
    log(f"{hospital.slug}: made {count} patients in {time.perf_counter() - started:.1f} s")
    return True


def prepare_data(args) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from apps.patients.models import Patient
    from apps.tenancy.models import Hospital, Membership
    from apps.tenancy.roles import Role

    started = time.perf_counter()
    hospital, _ = Hospital.objects.get_or_create(slug=HOSPITAL_SLUG, defaults={"name": "基准医院 A"})
    other, _ = Hospital.objects.get_or_create(slug=OTHER_HOSPITAL_SLUG, defaults={"name": "基准医院 B"})
    made = fill_hospital(hospital, args.rows, seed=1)
    made = fill_hospital(other, args.other_rows, seed=2) or made
    if made:
        with connection.cursor() as cursor:  # Fresh statistics and visibility map, as in steady state.
            cursor.execute(f"VACUUM ANALYZE {Patient._meta.db_table}")
    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    user.set_password(PASSWORD)
    user.save()
    Membership.objects.update_or_create(user=user, hospital=hospital,
                                        defaults={"role": Role.DOCTOR, "active": True})
    return {"hospital_id": hospital.pk, "other_hospital_id": other.pk, "rows_created": made,
            "data_seconds": round(time.perf_counter() - started, 1)}


# --- Queries per request (in-process) ---------------------------------------------------

def statement_kind(sql: str) -> str:
    word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
    return "SAVEPOINT" if word in ("SAVEPOINT", "RELEASE", "ROLLBACK") else word


def count_queries() -> dict:
    """Log in and list through django.test.Client, capturing every statement of warm
    requests (the first request also stamps the token's last_used_at).

    Also times single requests with one client, so the share of each statement in a
    request's time can be read without the noise of concurrent load."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=LOOPBACK, REMOTE_ADDR=LOOPBACK)
    response = client.post("/api/v1/auth/token/", {"username": USERNAME, "password": PASSWORD},
                           content_type="application/json")
    if response.status_code != 201:
        raise SystemExit(f"bench: login failed in-process: {response.status_code} {response.content[:300]!r}")
    token = response.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    # Warm-up: enough requests that every audit chain shard of the hospital has its
    # head row (a shard's first append also creates it: two more statements).
    from django.conf import settings

    for _ in range(settings.AUDIT_CHAIN_SHARDS * 6):
        client.get(LIST_PATH, headers=headers)
    measured = {}
    for page_size in (50, 200):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LIST_PATH, {"page_size": page_size}, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"bench: list failed in-process: {response.status_code} {response.content[:300]!r}")
        statements = [query["sql"] for query in captured.captured_queries]
        measured[page_size] = {
            "queries": len(statements),
            "by_kind": dict(Counter(statement_kind(sql) for sql in statements)),
            "rows_on_page": len(response.json()["results"]),
            "total_count": response.json()["count"],
            "statements": [sql if len(sql) <= 400 else sql[:400] + " ..." for sql in statements],
        }
    single = []
    for _ in range(21):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            client.get(LIST_PATH, headers=headers)
            elapsed = time.perf_counter() - started
        single.append((elapsed, [(float(query["time"]), query["sql"]) for query in captured.captured_queries]))
    single.sort(key=lambda item: item[0])
    median_request, median_statements = single[len(single) // 2]
    slowest_time, slowest_sql = max(median_statements)
    connection.close()
    return {"token": token, "page_50": measured[50], "page_200": measured[200], "single_client": {
        "requests": len(single),
        "median_ms": round(median_request * 1000, 1),
        "sql_ms_in_median_request": round(sum(seconds for seconds, _ in median_statements) * 1000, 1),
        "slowest_statement_ms": round(slowest_time * 1000, 1),
        "slowest_statement": slowest_sql[:200],
    }}


# --- Server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def start_server(args, environment: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "hospital_platform.wsgi:application",
        "--bind", f"{LOOPBACK}:{port}", "--chdir", str(ROOT),
        "--workers", str(args.workers),
        "--worker-class", "gthread" if args.threads > 1 else "sync", "--threads", str(args.threads),
        "--backlog", "2048", "--timeout", "60", "--log-level", "warning",
    ]
    log(f"starting: {' '.join(command[1:])}")
    with open(log_path, "wb") as server_log:
        return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=server_log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # Graceful: gunicorn stops its workers.
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_until_up(base_url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"bench: the server exited; see {log_path}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    raise SystemExit(f"bench: the server did not answer /healthz within {timeout:.0f} s; see {log_path}")


# --- Load -----------------------------------------------------------------------------------

def _process_cpu_seconds(pid: int) -> tuple[int, float]:
    """(parent pid, user + system CPU seconds) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(master_pid: int) -> float | None:
    """CPU time of gunicorn's master and workers so far: what the application costs per
    request, whatever else the machine is doing. None where /proc is missing."""
    if not Path("/proc").is_dir():
        return None
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent, seconds = _process_cpu_seconds(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # Gone, or not ours to read.
        if int(entry.name) == master_pid or parent == master_pid:
            total += seconds
    return total


class DatabaseSampler:
    """Samples pg_stat_activity of the bench database every 50 ms while a level runs:
    how many backends were running a statement, and how many of those were waiting on
    a lock (the audit chain head is one row per hospital that every list request locks)."""

    def __init__(self, admin_url: str, database: str):
        self.admin_url, self.database = admin_url, database
        self.samples: list[tuple[int, int]] = []
        self.wait_events: Counter = Counter()
        self._stop = None
        self._thread = None

    def __enter__(self):
        import threading

        import psycopg2

        self._connection = psycopg2.connect(self.admin_url)
        self._connection.autocommit = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        with self._connection.cursor() as cursor:
            while not self._stop.wait(0.05):
                cursor.execute(
                    "SELECT wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'", [self.database])
                rows = cursor.fetchall()
                self.samples.append((len(rows), sum(1 for kind, _ in rows if kind == "Lock")))
                self.wait_events.update(f"{kind}:{event}" for kind, event in rows if kind)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._connection.close()

    def summary(self) -> dict:
        if not self.samples:
            return {}
        count = len(self.samples)
        return {
            "samples": count,
            "mean_active_statements": round(sum(active for active, _ in self.samples) / count, 2),
            "mean_waiting_on_lock": round(sum(waiting for _, waiting in self.samples) / count, 2),
            "wait_events": dict(self.wait_events.most_common(8)),
        }


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(fraction * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run_level(base_url: str, token: str, *, concurrency: int, total: int, time_cap: float) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors: Counter = Counter()
    remaining = total
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=30, trust_env=False) as client:
        started = time.perf_counter()
        deadline = started + time_cap

        async def one_client():
            nonlocal remaining
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                sent = time.perf_counter()
                try:
                    response = await client.get(LIST_PATH)
                except httpx.HTTPError as error:
                    errors[type(error).__name__] += 1
                    continue
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - sent)
                else:
                    errors[f"HTTP {response.status_code}"] += 1

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "concurrency": concurrency,
        "requests": len(latencies) + sum(errors.values()),
        "ok": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "seconds": round(elapsed, 2),
        "capped": remaining > 0,
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
    }


async def drive(args, base_url: str, token: str, expected_count: int, process, log_path) -> list[dict]:
    import httpx

    await wait_until_up(base_url, process, log_path)
    # Scoping check through the real server: the count is the one hospital's rows only.
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.get(LIST_PATH)
        body = response.json()
        if response.status_code != 200 or body.get("count") != expected_count:
            raise SystemExit(f"bench: expected {expected_count} patients, got {response.status_code} "
                             f"{str(body)[:300]}")
    # Warm-up: every worker thread imports, connects and caches before measuring.
    slots = args.workers * args.threads
    await run_level(base_url, token, concurrency=slots, total=slots * 10, time_cap=60)
    levels = []
    for concurrency in args.concurrency:
        log(f"{concurrency} concurrent clients, {args.requests} requests")
        load_before = os.getloadavg()[0]
        server_cpu_before, client_cpu_before = server_cpu_seconds(process.pid), time.process_time()
        with DatabaseSampler(args.admin_url, args.database) as sampler:
            level = await run_level(base_url, token, concurrency=concurrency, total=args.requests,
                                    time_cap=args.time_cap)
        server_cpu_after, client_cpu_after = server_cpu_seconds(process.pid), time.process_time()
        if server_cpu_before is not None and level["requests"]:
            level["server_cpu_ms_per_request"] = round(
                (server_cpu_after - server_cpu_before) * 1000 / level["requests"], 1)
        level["client_cpu_ms_per_request"] = round(
            (client_cpu_after - client_cpu_before) * 1000 / max(level["requests"], 1), 1)
        level["database"] = sampler.summary()
        level["load_average_1min"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
        levels.append(level)
    return levels


# --- Report -----------------------------------------------------------------------------------

def print_table(levels: list[dict], queries: int) -> None:
    header = (f"{'concurrency':>11}  {'requests':>8}  {'rps':>7}  {'p50 ms':>7}  {'p95 ms':>7}  {'errors':>6}  "
              f"{'queries/request':>15}")
    print(header)
    print("-" * len(header))
    for level in levels:
        print(f"{level['concurrency']:>11}  {level['requests']:>8}  {level['rps']:>7.1f}  {level['p50_ms']:>7.1f}  "
              f"{level['p95_ms']:>7.1f}  {level['errors']:>6}  {queries:>15}")


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("BENCH_CODE_VERSION", "unknown (not a git checkout)")
    return commit + (" with uncommitted changes" if dirty else "")


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def main() -> int:
    args = parse_args()
    if importlib.util.find_spec("gunicorn") is None or importlib.util.find_spec("httpx") is None:
        raise SystemExit("bench: needs gunicorn and httpx (requirements/production.txt): "
                         ".venv/bin/pip install -r requirements/production.txt")
    require_loopback(args.admin_url)
    require_loopback(args.redis_url)
    keys, new_keys = bench_keys()
    # New keys cannot read rows encrypted under lost ones: start the data over.
    ensure_database(args.admin_url, args.database, recreate=args.reset or new_keys)
    environment = server_environment(args, keys)
    os.environ.update(environment)

    import warnings

    import django
    from django.core.management import call_command

    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

    django.setup()
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    log(f"migrated in {time.perf_counter() - started:.1f} s")
    data = prepare_data(args)
    log(f"data ready in {data['data_seconds']} s ({'made' if data['rows_created'] else 'reused'})")
    measured = count_queries()
    page_50, page_200 = measured["page_50"], measured["page_200"]
    # The list counts up to COUNT_CAP rows (apps/core/pagination.py), then says "capped".
    from apps.core.pagination import COUNT_CAP

    expected_count = min(args.rows, COUNT_CAP)
    if page_50["total_count"] != expected_count:
        raise SystemExit(f"bench: in-process list saw {page_50['total_count']} patients, expected {expected_count}")
    postgres_version = database_version()
    from django.db import connections

    connections.close_all()

    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    server_log = RESULTS_DIR / "server.log"
    process = start_server(args, environment, port, server_log)
    try:
        levels = asyncio.run(drive(args, base_url, measured["token"], expected_count, process, server_log))
    finally:
        stop_server(process)

    print()
    print(f"GET {LIST_PATH} (page 1 of {args.rows:,} patients; second hospital {args.other_rows:,}) - "
          f"gunicorn {args.workers} x {args.threads} {'gthread' if args.threads > 1 else 'sync'}, "
          f"PostgreSQL {postgres_version}, {os.cpu_count()} CPUs, code {code_version()}")
    print_table(levels, page_50["queries"])
    for level in levels:
        database = level.get("database") or {}
        print(f"  c={level['concurrency']}: {level['seconds']} s{' (time cap reached)' if level['capped'] else ''}, "
              f"p99 {level['p99_ms']} ms; CPU per request: gunicorn {level.get('server_cpu_ms_per_request')} ms, "
              f"load client {level['client_cpu_ms_per_request']} ms; PostgreSQL statements running on average "
              f"{database.get('mean_active_statements')}, of them waiting on a lock "
              f"{database.get('mean_waiting_on_lock')}; 1-min load average "
              f"{level['load_average_1min']['before']} -> {level['load_average_1min']['after']}")
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(page_50["by_kind"].items()))
    print(f"queries/request at page_size=50: {page_50['queries']} ({kinds}); "
          f"at page_size=200: {page_200['queries']}")
    single = measured["single_client"]
    print(f"one client, in-process: median {single['median_ms']} ms a request, {single['sql_ms_in_median_request']} ms "
          f"of it in SQL; slowest statement {single['slowest_statement_ms']} ms: {single['slowest_statement'][:60]}")

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = {
        "benchmark": "list_endpoint",
        "endpoint": f"GET {LIST_PATH}",
        "finished_at": stamp,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "code": code_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "postgresql": postgres_version},
        "server": {"program": "gunicorn", "app": "hospital_platform.wsgi:application", "workers": args.workers,
                   "threads": args.threads, "worker_class": "gthread" if args.threads > 1 else "sync",
                   "settings": "hospital_platform.settings.production"},
        "data": {"rows": args.rows, "other_hospital_rows": args.other_rows, **data},
        "single_client_in_process": measured["single_client"],
        "queries_per_request": {"page_size_50": page_50,
                                "page_size_200": {k: v for k, v in page_200.items() if k != "statements"}},
        "levels": levels,
    }
    for name in (f"list_endpoint-{stamp}.json", "list_endpoint-latest.json"):
        (RESULTS_DIR / name).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    log(f"wrote {RESULTS_DIR / f'list_endpoint-{stamp}.json'}")
    return 1 if any(level["errors"] for level in levels) else 0


if __name__ == "__main__":
    sys.exit(main())
