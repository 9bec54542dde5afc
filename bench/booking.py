"""Benchmark of booking under load and of the expert search.

    .venv/bin/python bench/booking.py [--database booking] [--clients 50] [--requests 2000]
                                      [--phases spread,hot,search]

1. Uses its own PostgreSQL database (default `booking`, created if missing, migrated)
   and the bench key set of bench/list_endpoint.py (bench/results/bench-keys.env).
2. Fills a fresh hospital for this run: 40 experts with 1,000 slots (capacity 3) over
   the next week, one hot slot per round, and one patient account with a bearer token
   for every booking request (each request books for a new patient, the heavier path:
   the patient record is created and audited too).
3. Starts gunicorn (production settings, gthread) on a loopback port. Celery gets an
   in-memory broker: notification tasks are queued as in production but no worker
   takes them, so nothing leaves this benchmark.
4. Spread: `--clients` concurrent clients send POST /api/v1/booking/appointments/
   for random slots among the 1,000 until `--requests` are done.
   Hot: rounds of `--clients` clients all booking one slot of capacity 5 at once.
   Both print bookings/s and latency percentiles, and check in the database that no
   slot holds more bookings than its capacity and that every counter equals its live
   bookings (zero overbookings).
5. Search: 10,000 experts across 5 hospitals (made once, reused; vacuumed and
   analysed before the run, as autovacuum keeps a live catalogue), then
   GET /api/v1/booking/experts/?q=... with varied keywords from one client and from
   10 concurrent clients; prints p50/p95/p99.

`--phases` runs some of spread, hot and search only (e.g. `--phases search`).

Client, server and PostgreSQL share this machine's cores; the figures compare runs on
one machine.
"""

import argparse
import asyncio
import datetime
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

from list_endpoint import (RESULTS_DIR, _process_cpu_seconds, bench_keys, ensure_database,  # noqa: E402
                           free_port, log, require_loopback, server_cpu_seconds, server_environment, start_server,
                           stop_server, wait_until_up, with_database)

SEARCH_HOSPITALS = 5
SEARCH_EXPERTS = 10_000
SPECIALTIES = ["高血压", "冠心病", "心力衰竭", "心律失常", "糖尿病", "甲状腺疾病", "骨质疏松", "哮喘", "慢阻肺", "肺结节",
               "胃炎", "肝硬化", "肾炎", "痛风", "类风湿关节炎", "帕金森病", "癫痫", "脑卒中", "抑郁症", "失眠",
               "乳腺癌", "肺癌", "胃癌", "白血病", "儿童哮喘", "新生儿黄疸", "不孕不育", "妊娠高血压", "白内障", "青光眼",
               "鼻窦炎", "中耳炎", "湿疹", "银屑病", "腰椎间盘突出", "骨折", "关节置换", "前列腺增生", "肾结石", "贫血"]
DEPARTMENTS = ["心血管内科", "内分泌科", "呼吸内科", "消化内科", "肾内科", "神经内科", "风湿免疫科", "肿瘤科", "儿科",
               "妇产科", "眼科", "耳鼻喉科", "皮肤科", "骨科", "泌尿外科", "血液科", "精神心理科", "普通外科"]
QUERIES = ["糖尿病", "高血压", "心内科", "王", "李主任", "哮喘", "肺", "骨科 骨折", "儿科 哮喘", "主任医师 糖尿",
           "甲状腺", "肾", "失眠", "乳腺", "眼科 青光眼", "张伟", "帕金森", "心律失常", "湿疹", "消化内科 胃炎"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default="postgres://root@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="booking")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="booking requests in the spread run")
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--hot-rounds", type=int, default=20)
    parser.add_argument("--hot-capacity", type=int, default=5)
    parser.add_argument("--searches", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--phases", default="spread,hot,search",
                        help="comma-separated phases to run (spread, hot, search); default all")
    args = parser.parse_args()
    args.phases = {phase.strip() for phase in args.phases.split(",") if phase.strip()}
    unknown = args.phases - {"spread", "hot", "search"}
    if unknown or not args.phases:
        parser.error(f"--phases takes spread, hot and search, not {', '.join(sorted(unknown)) or 'nothing'}")
    return args


def setup(args) -> dict:
    require_loopback(args.admin_url)
    ensure_database(args.admin_url, args.database, recreate=False)
    keys, _new = bench_keys()

    class _Args:  # server_environment wants the list bench's argument names
        admin_url, database, redis_url = args.admin_url, args.database, args.redis_url

    environment = server_environment(_Args, keys)
    environment["CELERY_BROKER_URL"] = "memory://"
    os.environ.update(environment)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return environment


# --- data ---------------------------------------------------------------------------------------


def make_hospital(slug: str, name: str):
    from apps.tenancy.models import Hospital

    hospital, _ = Hospital.objects.get_or_create(slug=slug, defaults={"name": name})
    return hospital


def booking_fixture(args, run_id: str) -> dict:
    """A new hospital with 40 experts, `args.slots` slots and the hot slots."""
    from apps.booking.models import Expert, Schedule, Slot
    from apps.booking.search import search_text_for
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Department

    hospital = make_hospital(f"bench-booking-{run_id}", f"Bench booking {run_id}")
    tz = datetime.timezone(datetime.timedelta(hours=8))
    today = datetime.datetime.now(tz).date()
    slot_ids, hot_ids = [], []
    with tenant_context(hospital.pk):
        department = Department.objects.create(hospital=hospital, code="BENCH", name="心血管内科")
        experts = Expert.objects.bulk_create([
            Expert(hospital=hospital, department=department, name=f"专家{n}", title="chief", title_rank=0,
                   specialties="高血压", search_text=search_text_for(f"专家{n}", "高血压")) for n in range(41)])
        per_expert = -(-args.slots // 40)
        for index, expert in enumerate(experts[:40]):
            day = today + datetime.timedelta(days=1 + index % 7)
            schedule = Schedule.objects.create(hospital=hospital, expert=expert, date=day, period="custom",
                                               start_time=datetime.time(8), end_time=datetime.time(20),
                                               status="published")
            start = datetime.datetime.combine(day, datetime.time(8), tzinfo=tz)
            made = Slot.objects.bulk_create([
                Slot(hospital=hospital, schedule=schedule, expert=expert, capacity=3,
                     start=start + datetime.timedelta(minutes=10 * n),
                     end=start + datetime.timedelta(minutes=10 * (n + 1))) for n in range(per_expert)])
            slot_ids += [slot.pk for slot in made]
        hot_expert = experts[40]
        day = today + datetime.timedelta(days=2)
        schedule = Schedule.objects.create(hospital=hospital, expert=hot_expert, date=day, period="custom",
                                           start_time=datetime.time(8), end_time=datetime.time(20), status="published")
        start = datetime.datetime.combine(day, datetime.time(8), tzinfo=tz)
        hot_ids = [slot.pk for slot in Slot.objects.bulk_create([
            Slot(hospital=hospital, schedule=schedule, expert=hot_expert, capacity=args.hot_capacity,
                 start=start + datetime.timedelta(minutes=10 * n), end=start + datetime.timedelta(minutes=10 * (n + 1)))
            for n in range(args.hot_rounds)])]
    return {"hospital": hospital, "slots": slot_ids[: args.slots], "hot": hot_ids}


def patient_tokens(hospital, count: int) -> list[str]:
    from django.contrib.auth import get_user_model

    from apps.accounts.models import ApiToken
    from apps.accounts.services import token_issue
    from apps.tenancy.models import Membership

    User = get_user_model()
    prefix = f"{hospital.slug}-p"
    users = User.objects.bulk_create([User(username=f"{prefix}{n}") for n in range(count)])
    users = list(User.objects.filter(username__startswith=prefix).order_by("pk"))
    Membership.objects.bulk_create([Membership(user=user, hospital=hospital, role="patient") for user in users])
    return [token_issue(user=user, kind=ApiToken.Kind.WECHAT)[0] for user in users]


def people(count: int, seed: int) -> list[dict]:
    from apps.core.demo_data import demo_person

    rng = random.Random(seed)
    result = []
    for _ in range(count):
        person = demo_person(rng)
        result.append({"name": person["name"], "national_id": person["national_id"], "phone": person["phone"]})
    return result


def search_catalogue() -> None:
    """10,000 experts over 5 hospitals, made once and reused."""
    from apps.booking.models import Expert, ExpertSearchTerm
    from apps.booking.search import search_text_for
    from apps.tenancy.context import tenant_context
    from apps.tenancy.models import Department

    rng = random.Random(10)
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超华平刚"
    per_hospital = SEARCH_EXPERTS // SEARCH_HOSPITALS
    for index in range(SEARCH_HOSPITALS):
        hospital = make_hospital(f"bench-search-{index}", f"检索医院{index}")
        with tenant_context(hospital.pk):
            have = Expert.objects.count()
            if have >= per_hospital:
                if not ExpertSearchTerm.objects.exists():  # made before the index existed
                    _index_experts(hospital, Expert.objects.all())
                continue
            departments = [Department.objects.get_or_create(hospital=hospital, code=f"S{n}", defaults={"name": name})[0]
                           for n, name in enumerate(DEPARTMENTS)]
            titles = [("chief", 0, "主任医师"), ("associate_chief", 1, "副主任医师"), ("attending", 2, "主治医师")]
            experts = []
            for _ in range(per_hospital - have):
                department = rng.choice(departments)
                title, rank, title_zh = rng.choice(titles)
                name = rng.choice(surnames) + "".join(rng.choice(given) for _ in range(rng.choice((1, 2))))
                specialties = "，".join(rng.sample(SPECIALTIES, 3))
                experts.append(Expert(hospital=hospital, department=department, name=name, title=title,
                                      title_rank=rank, specialties=specialties,
                                      search_text=search_text_for(name, specialties, department.name, title_zh)))
            Expert.objects.bulk_create(experts, batch_size=1000)
            _index_experts(hospital, Expert.objects.all())
            log(f"search catalogue: {hospital.slug} now has {per_hospital} experts")


def vacuum_catalogue(admin_url: str, database: str) -> None:
    """A long-lived catalogue is vacuumed and analysed by autovacuum; one just bulk
    loaded may not be yet. Index-only scans of the search index need the visibility
    map, and the planner needs statistics."""
    import psycopg2

    connection = psycopg2.connect(with_database(admin_url, database))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) booking_expert, booking_expertsearchterm")
    finally:
        connection.close()


def _index_experts(hospital, experts) -> None:
    from apps.booking.models import ExpertSearchTerm
    from apps.booking.search import search_terms_for

    ExpertSearchTerm.objects.bulk_create(
        [ExpertSearchTerm(hospital=hospital, expert_id=expert_id, term=term)
         for expert_id, text in experts.values_list("pk", "search_text") for term in search_terms_for(text)],
        batch_size=5000)


# --- load -----------------------------------------------------------------------------------------


def pct(values, fraction):
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))], 1) if ordered else None


async def book_many(base_url: str, jobs: list[tuple[str, int, dict]], clients: int) -> dict:
    """Send the booking jobs with `clients` concurrent clients; each job is (token, slot, patient)."""
    import httpx

    latencies, outcomes, queue = [], Counter(), list(reversed(jobs))

    async def client_loop(client):
        while queue:
            token, slot_id, person = queue.pop()
            began = time.perf_counter()
            response = await client.post("/api/v1/booking/appointments/", json={"slot": slot_id, "patient": person},
                                         headers={"Authorization": f"Bearer {token}"})
            latencies.append((time.perf_counter() - began) * 1000)
            code = response.json().get("error", {}).get("code") if response.status_code != 201 else None
            outcomes[(response.status_code, code)] += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=60, limits=limits) as client:
        began = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - began
    booked = outcomes.get((201, None), 0)
    return {"requests": len(latencies), "booked": booked, "seconds": round(elapsed, 2),
            "bookings_per_second": round(booked / elapsed, 1), "requests_per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": pct(latencies, .5), "p95_ms": pct(latencies, .95), "p99_ms": pct(latencies, .99),
            "outcomes": {f"{status} {code or ''}".strip(): n for (status, code), n in sorted(outcomes.items())}}


async def hot_rounds(base_url: str, tokens: list[str], hot_ids: list[int], persons: list[dict], clients: int) -> dict:
    """Each round: `clients` clients book the same fresh slot at once."""
    results = []
    for round_index, slot_id in enumerate(hot_ids):
        offset = round_index * clients
        jobs = [(tokens[offset + n], slot_id, persons[offset + n]) for n in range(clients)]
        results.append(await book_many(base_url, jobs, clients))
    latencies_p95 = [r["p95_ms"] for r in results]
    booked = sum(r["booked"] for r in results)
    seconds = sum(r["seconds"] for r in results)
    outcomes = Counter()
    for r in results:
        outcomes.update(r["outcomes"])
    return {"rounds": len(results), "requests": sum(r["requests"] for r in results), "booked": booked,
            "bookings_per_second": round(booked / seconds, 1),
            "requests_per_second": round(sum(r["requests"] for r in results) / seconds, 1),
            "p95_ms_median_of_rounds": pct(latencies_p95, .5), "p95_ms_worst_round": max(latencies_p95),
            "outcomes": dict(outcomes)}


def overbooking_check(slot_ids: list[int], hospital) -> dict:
    from django.db.models import Count, F, Q

    from apps.booking.models import Slot
    from apps.tenancy.context import tenant_context

    with tenant_context(hospital.pk):
        slots = Slot.objects.filter(pk__in=slot_ids).annotate(
            live=Count("appointments", filter=~Q(appointments__status__startswith="cancelled")))
        over = slots.filter(live__gt=F("capacity")).count()
        drift = slots.exclude(live=F("booked")).count()
        full = slots.filter(booked=F("capacity")).count()
    return {"slots_over_capacity": over, "slots_whose_counter_differs": drift, "slots_full": full}


async def search_load(base_url: str, total: int, clients: int, *, floor: bool = False) -> dict:
    """`total` searches with varied keywords from `clients` concurrent clients. With
    `floor`, the same audited catalogue read for a hospital that does not exist: what
    a catalogue request costs before any searching (middleware, the tenant
    transaction, the `tenancy.unscoped` audit event, one count)."""
    import httpx

    rng = random.Random(3)
    latencies, statuses, hits = [], Counter(), []
    queue = [rng.choice(QUERIES) for _ in range(total)]

    def params(query: str) -> dict:
        return {"hospital": "no-such-hospital", "page_size": 20} if floor else {"q": query, "page_size": 20}

    async def client_loop(client):
        while queue:
            query = queue.pop()
            began = time.perf_counter()
            response = await client.get("/api/v1/booking/experts/", params=params(query))
            latencies.append((time.perf_counter() - began) * 1000)
            statuses[response.status_code] += 1
            hits.append(response.json().get("count", 0))

    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=30) as client:
        # Every server thread loads jieba's dictionary once: warm them all first.
        await asyncio.gather(*(client.get("/api/v1/booking/experts/", params={"q": "预热"}) for _ in range(32)))
        began = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        elapsed = time.perf_counter() - began
    return {"clients": clients, "requests": len(latencies), "requests_per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": pct(latencies, .5), "p95_ms": pct(latencies, .95), "p99_ms": pct(latencies, .99),
            "statuses": dict(statuses), "median_matches": sorted(hits)[len(hits) // 2]}


def database_cpu_seconds(admin_url: str, database: str) -> dict[int, float]:
    """CPU time so far of each PostgreSQL client backend serving `database` (from
    /proc), by process id."""
    import psycopg2

    connection = psycopg2.connect(admin_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' "
                           "AND pid <> pg_backend_pid()", [database])
            pids = [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()
    seconds = {}
    for pid in pids:
        try:
            seconds[pid] = _process_cpu_seconds(pid)[1]
        except (OSError, ValueError, IndexError):
            continue
    return seconds


def measured(args, server_pid: int, run, requests_of) -> dict:
    """Run one phase and add the CPU it cost per request: the application (gunicorn)
    and PostgreSQL, whatever else the machine was doing meanwhile. The database's
    share is summed per backend (one that closed during the phase takes what it used
    with it, so the figure is a floor), never across backends that came and went."""
    app_before = server_cpu_seconds(server_pid) or 0.0
    db_before = database_cpu_seconds(args.admin_url, args.database)
    figures = run()
    requests = max(requests_of(figures), 1)
    figures["app_cpu_ms_per_request"] = round(((server_cpu_seconds(server_pid) or 0.0) - app_before) * 1000
                                              / requests, 1)
    db_after = database_cpu_seconds(args.admin_url, args.database)
    db_seconds = sum(max(seconds - db_before.get(pid, 0.0), 0.0) for pid, seconds in db_after.items())
    figures["db_cpu_ms_per_request"] = round(db_seconds * 1000 / requests, 1)
    return figures


def main() -> int:
    args = parse_args()
    environment = setup(args)
    run_id = time.strftime("%Y%m%d%H%M%S")
    log("preparing data")
    if args.phases & {"spread", "hot"}:
        fixture = booking_fixture(args, run_id)
        spread_tokens = patient_tokens(fixture["hospital"], args.requests + args.clients * args.hot_rounds)
        persons = people(len(spread_tokens), seed=int(run_id[-6:]))
    if "search" in args.phases:
        search_catalogue()
        vacuum_catalogue(args.admin_url, args.database)
    from django.db import connections

    connections.close_all()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS_DIR / "booking-server.log"

    class _ServerArgs:
        workers, threads = args.workers, args.threads

    process = start_server(_ServerArgs, environment, port, log_path)
    figures = {"server": f"gunicorn {args.workers} x {args.threads} gthread", "run": run_id,
               "load_average_at_start": round(os.getloadavg()[0], 1)}
    try:
        asyncio.run(wait_until_up(base_url, process, log_path))
        requests_of = lambda phase: phase["requests"]  # noqa: E731
        if "spread" in args.phases:
            rng = random.Random(int(run_id[-6:]))
            spread_jobs = [(spread_tokens[n], rng.choice(fixture["slots"]), persons[n]) for n in range(args.requests)]
            log(f"spread: {args.clients} clients, {args.requests} requests over {len(fixture['slots'])} slots")
            figures["spread"] = spread = measured(
                args, process.pid, lambda: asyncio.run(book_many(base_url, spread_jobs, args.clients)), requests_of)
            spread["check"] = overbooking_check(fixture["slots"], fixture["hospital"])
        if "hot" in args.phases:
            log(f"hot: {args.hot_rounds} rounds of {args.clients} clients on one slot of capacity {args.hot_capacity}")
            figures["hot"] = hot = measured(args, process.pid, lambda: asyncio.run(hot_rounds(
                base_url, spread_tokens[args.requests:], fixture["hot"], persons[args.requests:], args.clients)),
                requests_of)
            hot["check"] = overbooking_check(fixture["hot"], fixture["hospital"])
        if "search" in args.phases:
            log("search: 10,000 experts")
            figures["catalogue_floor_1_client"] = measured(
                args, process.pid, lambda: asyncio.run(search_load(base_url, args.searches, 1, floor=True)),
                requests_of)
            figures["search_1_client"] = measured(
                args, process.pid, lambda: asyncio.run(search_load(base_url, args.searches, 1)), requests_of)
            figures["search_10_clients"] = measured(
                args, process.pid, lambda: asyncio.run(search_load(base_url, args.searches, 10)), requests_of)
    finally:
        stop_server(process)
    figures["load_average_at_end"] = round(os.getloadavg()[0], 1)
    (RESULTS_DIR / f"booking-{run_id}.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    overbooked = drift = 0
    if "spread" in figures:
        spread = figures["spread"]
        print(f"spread over {args.slots} slots, {args.clients} clients: {spread['bookings_per_second']} "
              f"bookings/s, p50 {spread['p50_ms']} ms, p95 {spread['p95_ms']} ms, p99 {spread['p99_ms']} ms; "
              f"{spread['outcomes']}; {spread['check']}; CPU per request: app {spread['app_cpu_ms_per_request']} ms, "
              f"PostgreSQL {spread['db_cpu_ms_per_request']} ms")
        overbooked += spread["check"]["slots_over_capacity"]
        drift += spread["check"]["slots_whose_counter_differs"]
    if "hot" in figures:
        hot = figures["hot"]
        print(f"hot slot, {args.clients} clients x {args.hot_rounds} rounds (capacity {args.hot_capacity}): "
              f"{hot['bookings_per_second']} bookings/s ({hot['requests_per_second']} requests/s), p95 "
              f"{hot['p95_ms_median_of_rounds']} ms (median round), {hot['p95_ms_worst_round']} ms (worst); "
              f"{hot['outcomes']}; {hot['check']}; CPU per request: app {hot['app_cpu_ms_per_request']} ms, "
              f"PostgreSQL {hot['db_cpu_ms_per_request']} ms")
        overbooked += hot["check"]["slots_over_capacity"]
        drift += hot["check"]["slots_whose_counter_differs"]
    for label, key in (("1 client", "search_1_client"), ("10 clients", "search_10_clients"),
                       ("1 client, floor (unknown hospital, no search)", "catalogue_floor_1_client")):
        if key in figures:
            search = figures[key]
            print(f"expert search, 10,000 experts, {label}: p50 {search['p50_ms']} ms, p95 {search['p95_ms']} ms, "
                  f"p99 {search['p99_ms']} ms, {search['requests_per_second']} req/s; statuses {search['statuses']}; "
                  f"CPU per request: app {search['app_cpu_ms_per_request']} ms, "
                  f"PostgreSQL {search['db_cpu_ms_per_request']} ms")
    print(f"overbooked slots: {overbooked}; counters differing from live bookings: {drift}; "
          f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0 if overbooked == 0 and drift == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
