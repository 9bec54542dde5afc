"""Chain verification rate over millions of audit events, measured, not extrapolated.

    .venv/bin/python bench/audit_chain.py [--events 10000000] [--workers 2] [--baseline] [--keep]

Uses a database of its own (`bench_audit_chain`, dropped and re-created at the start
and dropped at the end unless --keep), migrated like production, so the table has
its indexes, append-only trigger and row-level security.

1. Build: one hospital's log of --events events over its 8 chains (AUDIT_CHAIN_SHARDS),
   in time order, each event on a random shard as `audit_record` does; a mix of
   reads, lists, updates, logins, failures and exports with details, some in Chinese.
   Hashes are computed with the platform's own functions (`encode_stored_row`,
   `link_hash`; the first 1,000 events and every 100,000th are cross-checked against
   `event_hash`, which `audit_record` uses), in a streaming loop whose batches a
   second thread COPYs in while the next batch is hashed. The secondary indexes are dropped before the load
   (the usual bulk-load practice) and not re-created: the verifier reads the chain
   through the (chain, sequence) unique index, which stays, and re-indexing 10 million
   rows would only load the shared machine longer.
2. Verify: `audit_chains_verify` (what `manage.py audit_verify` runs) over the 8 chains
   with one worker: events per second, total time and the verifier's own CPU time.
   --baseline: the verifier as it was before (a model instance per event) against
   the current one on one chain, alternating, best of three.
3. Tamper: one event in the middle of one chain is edited behind the trigger's back
   (as the database owner could) and the verification runs again; it must name that
   chain and sequence and pass the other seven; this pass runs --workers chains at once.
"""

import argparse
import datetime
import io
import os
import queue
import random
import threading
import time
from types import SimpleNamespace

from _django import drop_database, setup_django

DATABASE = "bench_audit_chain"
NULL = r"\N"  # COPY text format
ADMIN_URL = "postgres://root@127.0.0.1:5432/postgres"
COLUMNS = ("id", "chain", "sequence", "occurred_at", "actor_id", "actor_username", "role", "hospital_id", "action",
           "object_type", "object_id", "patient_id", "ip", "user_agent", "request_id", "outcome", "detail",
           "previous_hash", "hash")
USER_AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
               "HospitalApp/3.2 (iPhone; iOS 17.4)", "python-requests/2.32.3")
# (action, object type, patient-linked, share of events)
ACTIONS = (("patient.read", "patient", True, 50), ("patient.list", "patient", False, 10),
           ("encounter.read", "encounter", True, 12), ("labreport.read", "labreport", True, 10),
           ("patient.update", "patient", True, 6), ("auth.login", "user", False, 5),
           ("auth.login_failed", "user", False, 2), ("diagnosis.create", "diagnosis", True, 3),
           ("compliance.events_export", "auditexport", False, 1), ("appointment.book", "appointment", True, 1))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _events(count: int, hospital_id: int, shards: int, seed: int = 10):
    """Yield (n, content) in time order: content maps HASHED_FIELDS to values typed as
    the table returns them, occurred_at as the ISO text the hash covers."""
    rng = random.Random(seed)
    randrange, random_, getrandbits = rng.randrange, rng.random, rng.getrandbits
    table = [action for action in ACTIONS for _ in range(action[3] * 10)]  # one slot per 1/1000
    staff = [None] + [(f"staff{actor}", "doctor" if actor <= 1800 else "hospital_admin",
                       f"10.{actor % 8}.{actor // 256 % 256}.{actor % 256}", f"203.0.113.{actor % 256}",
                       USER_AGENTS[actor % 3]) for actor in range(1, 2001)]
    chains = [f"hospital:{hospital_id}/{shard}" for shard in range(shards)]
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
    utc = datetime.timezone.utc
    for n in range(count):
        action, object_type, linked, _share = table[randrange(1000)]
        actor = randrange(1, 2001)
        username, role, ip, outside_ip, agent = staff[actor]
        patient = randrange(1, 200_001) if linked else None
        failed = action == "auth.login_failed"
        roll = random_()
        if action == "patient.list":
            detail = {"rows": 20, "filters": {"q": "王"} if roll < 0.3 else {}}
        elif action == "compliance.events_export":
            detail = {"rows": randrange(10, 5000), "deidentified": True, "purpose": "research"}
        elif failed:
            detail = {"username": username, "reason": "bad_password"}
        elif roll < 0.2:
            detail = {"token_id": actor * 7}
        else:
            detail = {}
        # 0.4 s apart on average: 10 million events span about 46 days
        moment = datetime.datetime.fromtimestamp(start + n * 0.4 + randrange(400_000) / 1e6, utc)
        yield n, {
            "chain": chains[randrange(shards)],
            "sequence": 0,
            "occurred_at": moment.isoformat(timespec="microseconds"),
            "actor_id": None if failed else actor,
            "actor_username": "" if failed else username,
            "role": "" if failed else role,
            "hospital_id": hospital_id,
            "action": action,
            "object_type": object_type,
            "object_id": str(patient if patient is not None else actor),
            "patient_id": patient,
            "ip": ip if roll < 0.97 else outside_ip,
            "user_agent": agent,
            "request_id": f"{getrandbits(128):032x}",
            "outcome": "invalid" if failed else ("denied" if roll > 0.995 else "success"),
            "detail": detail,
        }


def build(count: int, hospital_id: int, shards: int) -> dict:
    """COPY `count` chained events in; returns {chain: (last sequence, last hash)}."""
    import json

    from django.db import connection

    from apps.privacy.chain import GENESIS_HASH, HASHED_FIELDS, audit_key, encode_stored_row, event_hash, link_hash

    key = audit_key()
    heads = {}
    batches: queue.Queue = queue.Queue(maxsize=2)
    failure = []

    def copier():
        # its own connection: COPY on one thread while the main thread hashes
        import psycopg2

        from django.conf import settings

        db = settings.DATABASES["default"]
        target = psycopg2.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432)
        try:
            with target.cursor() as cursor:
                while (buffer := batches.get()) is not None:
                    cursor.copy_expert(f"COPY privacy_auditevent ({', '.join(COLUMNS)}) FROM STDIN", buffer,
                                       size=1 << 20)
                    target.commit()
        except Exception as error:  # reported by the main thread
            failure.append(error)
            while batches.get() is not None:
                pass
        finally:
            target.close()

    thread = threading.Thread(target=copier)
    thread.start()
    dumps = json.dumps
    lines = []
    for n, values in _events(count, hospital_id, shards):
        chain = values["chain"]
        sequence, previous = heads.get(chain, (0, GENESIS_HASH))
        sequence += 1
        values["sequence"] = sequence
        digest = link_hash(key, previous, encode_stored_row([values[name] for name in HASHED_FIELDS]))
        if n < 1000 or n % 100_000 == 0:  # the same hash audit_record gives these values
            event = SimpleNamespace(**values)
            event.occurred_at = datetime.datetime.fromisoformat(values["occurred_at"])
            assert digest == event_hash(event, previous), n
        heads[chain] = (sequence, digest)
        actor, patient = values["actor_id"], values["patient_id"]
        lines.append(f"{n:032x}\t{chain}\t{sequence}\t{values['occurred_at']}\t"
                     f"{NULL if actor is None else actor}\t{values['actor_username']}\t{values['role']}\t"
                     f"{hospital_id}\t{values['action']}\t{values['object_type']}\t{values['object_id']}\t"
                     f"{NULL if patient is None else patient}\t{values['ip']}\t{values['user_agent']}\t"
                     f"{values['request_id']}\t{values['outcome']}\t"
                     f"{_escape(dumps(values['detail'], ensure_ascii=False))}\t{previous}\t{digest}\n")
        if len(lines) == 100_000:
            batches.put(io.StringIO("".join(lines)))
            lines = []
            if failure:
                raise failure[0]
    batches.put(io.StringIO("".join(lines)))
    batches.put(None)
    thread.join()
    if failure:
        raise failure[0]
    from apps.privacy.models import AuditChainHead

    AuditChainHead.objects.bulk_create(AuditChainHead(chain=chain, sequence=sequence, hash=digest)
                                       for chain, (sequence, digest) in heads.items())
    connection.close()
    return heads


def secondary_indexes(cursor) -> list[str]:
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'privacy_auditevent'")
    definitions = []
    for name, definition in cursor.fetchall():
        if name.endswith("_pkey") or name == "audit_event_chain_sequence_unique":
            continue
        definitions.append(definition)
        cursor.execute(f'DROP INDEX "{name}"')
    return definitions


def verify(label: str, workers: int, expected_broken=None):
    from apps.privacy.selectors import audit_chains_all, audit_chains_verify

    chains = audit_chains_all()
    clock, before = time.perf_counter(), os.times()
    results = audit_chains_verify(chains, workers=workers)
    seconds, after = time.perf_counter() - clock, os.times()
    # the verifying processes' own CPU (this one and the joined workers), not PostgreSQL's
    cpu = sum(getattr(after, f) - getattr(before, f) for f in ("user", "system", "children_user", "children_system"))
    events = sum(result.events_checked for result in results)
    broken = [(result.chain, result.broken_sequence, result.reason) for result in results if not result.ok]
    print(f"  {label:28} {events:>12,} events in {seconds:6.1f} s = {events / seconds:>7,.0f} events/s "
          f"({len(chains)} chains, {workers} worker{'s' if workers > 1 else ''}); verifier CPU {cpu:.1f} s = "
          f"{cpu / events * 1e6:.1f} us/event")
    if expected_broken is None:
        assert not broken, broken
    else:
        assert broken == [expected_broken], broken
        print(f"    found: {broken[0][0]} at #{broken[0][1]}: {broken[0][2]}; the other {len(chains) - 1} intact")
    return seconds


def baseline(chain: str, rounds: int = 3) -> dict:
    """The verifier as it was before it streamed tuples (a model instance per event
    through the ORM iterator, then `event_hash`) against audit_chain_verify over the
    same chain, alternating, best of `rounds`: a like-for-like ratio on a shared machine."""
    from apps.privacy.chain import GENESIS_HASH, event_hash
    from apps.privacy.models import AuditEvent
    from apps.privacy.selectors import audit_chain_verify

    def before():
        previous, checked = GENESIS_HASH, 0
        for event in AuditEvent.objects.filter(chain=chain).order_by("sequence").iterator(chunk_size=2000):
            assert event.sequence == checked + 1 and event.previous_hash == previous
            assert event_hash(event, previous) == event.hash
            previous, checked = event.hash, checked + 1
        return checked

    def now():
        result = audit_chain_verify(chain=chain)
        assert result.ok, result
        return result.events_checked

    rates = {"before: model instances": 0.0, "now: audit_chain_verify": 0.0}
    for _round in range(rounds):
        for label, run in zip(rates, (before, now)):
            clock = time.perf_counter()
            checked = run()
            rates[label] = max(rates[label], checked / (time.perf_counter() - clock))
    return rates


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", action="store_true",
                        help="also time the verifier as it was before (model instances) on one chain")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    drop_database(DATABASE, admin_url=ADMIN_URL)
    setup_django(DATABASE, admin_url=ADMIN_URL)
    from django.conf import settings
    from django.db import connection, transaction

    from apps.tenancy.models import Hospital

    hospital = Hospital.objects.create(slug="bench-chain", name="Bench chain")
    shards = settings.AUDIT_CHAIN_SHARDS
    try:
        print(f"Building {args.events:,} chained audit events of one hospital over {shards} chains:")
        with connection.cursor() as cursor:
            indexes = secondary_indexes(cursor)
        clock = time.perf_counter()
        heads = build(args.events, hospital.pk, shards)
        seconds = time.perf_counter() - clock
        print(f"  hashed and COPYed in {seconds:.1f} s ({args.events / seconds:,.0f} events/s)")
        clock = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE privacy_auditevent")
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('privacy_auditevent'))")
            size = cursor.fetchone()[0]
        with transaction.atomic(), connection.cursor() as cursor:  # the plan a cursor gets (cursor_tuple_fraction)
            cursor.execute("EXPLAIN DECLARE plan_probe CURSOR FOR SELECT * FROM privacy_auditevent "
                           "WHERE chain = %s ORDER BY sequence", [f"hospital:{hospital.pk}/0"])
            plan = cursor.fetchone()[0]
        print(f"  VACUUM ANALYZE in {time.perf_counter() - clock:.1f} s; table and its two unique indexes: {size}; "
              f"the {len(indexes)} secondary indexes (unused by the verifier) not re-created")
        print(f"  the verifier's scan: {plan}")

        print("Verification (audit_chains_verify, as manage.py audit_verify):")
        verify("intact, one worker", 1)

        if args.baseline:
            chain = f"hospital:{hospital.pk}/0"
            rates = baseline(chain)
            print(f"  one chain ({heads[chain][0]:,} events), best of 3 alternating: " + ", ".join(
                f"{label} {rate:,.0f} events/s" for label, rate in rates.items())
                + f" ({rates['now: audit_chain_verify'] / rates['before: model instances']:.1f}x)")

        chain = f"hospital:{hospital.pk}/3"
        sequence = heads[chain][0] // 2
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE privacy_auditevent DISABLE TRIGGER audit_event_append_only")
            cursor.execute("UPDATE privacy_auditevent SET object_id = '1' WHERE chain = %s AND sequence = %s",
                           [chain, sequence])
            cursor.execute("ALTER TABLE privacy_auditevent ENABLE TRIGGER audit_event_append_only")
        print(f"Tampered: object_id of {chain} #{sequence:,} changed with the trigger off")
        verify(f"one edited, {args.workers} worker{'s' if args.workers > 1 else ''}", args.workers,
               (chain, sequence, "content does not match its hash (the event was edited)"))
    finally:
        connection.close()
        if not args.keep:
            drop_database(DATABASE, admin_url=ADMIN_URL)
            print(f"Database {DATABASE} dropped.")


if __name__ == "__main__":
    main()
