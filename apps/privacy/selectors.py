import json
import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass

from django.db import connection, connections, transaction

from apps.tenancy.context import current_tenant

from .chain import GENESIS_HASH, HASHED_FIELDS, audit_key, encode_content, encode_stored_row, link_hash
from .models import AuditChainHead, AuditEvent


@dataclass(frozen=True)
class ChainVerification:
    chain: str
    events_checked: int
    ok: bool
    broken_sequence: int | None = None
    broken_event_id: int | None = None
    reason: str = ""


def _chain_rows(chain: str, batch_size: int):
    """The chain's events in sequence order as tuples: HASHED_FIELDS, previous_hash,
    hash, with the values the ORM gives a model instance (detail decoded) except
    occurred_at, which comes as the ISO text the hash covers.

    On PostgreSQL a plain server-side cursor, the time formatted by the database:
    Django's per-row machinery cost more than the hashing (about 65,000 rows/s through
    `values_list().iterator()` against 150,000 raw, measured on the bench chain).
    The connection is Django's, so row-level security and the tenant context apply
    as to any query."""
    time_at, detail_at = HASHED_FIELDS.index("occurred_at"), HASHED_FIELDS.index("detail")
    columns = [*HASHED_FIELDS, "previous_hash", "hash"]
    if connection.vendor != "postgresql":
        for row in (AuditEvent.objects.filter(chain=chain).order_by("sequence")
                    .values_list(*columns).iterator(chunk_size=batch_size)):
            row = list(row)
            row[time_at] = row[time_at].isoformat(timespec="microseconds")
            yield row
        return
    # datetime.isoformat(timespec="microseconds") of the UTC time, as canonical_content writes it
    columns[time_at] = """to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
    loads = json.loads
    with transaction.atomic():  # a server-side cursor lives in a transaction
        connection.ensure_connection()
        with connection.connection.cursor(name=f"audit_verify_{uuid.uuid4().hex}") as cursor:
            cursor.itersize = batch_size
            cursor.execute(f"SELECT {', '.join(columns)} FROM {AuditEvent._meta.db_table} "
                           "WHERE chain = %s ORDER BY sequence", [chain])
            for row in cursor:
                # jsonb arrives as text (Django registers no decoder); JSONField.from_db_value does this
                row = list(row)
                text = row[detail_at]
                row[detail_at] = {} if text == "{}" else loads(text)
                yield row


def _event_id(chain: str, sequence: int):
    return AuditEvent.objects.filter(chain=chain, sequence=sequence).values_list("id", flat=True).first()


def audit_chain_verify(*, chain: str, batch_size: int = 10_000) -> ChainVerification:
    """Walk one chain in sequence order and report the first broken link:
    an edited event (hash mismatch), a removed one (sequence gap or a dangling
    previous hash), a reordered one, or events cut off the end (head mismatch).

    Each event's content is rebuilt from its columns exactly as `audit_record`
    hashed it (`canonical_content`), and its hash recomputed under the audit key.
    The key stays in this process: hashing in the database would put it in
    PostgreSQL's statement logs and activity views, readable by the one person the
    chain guards against (an owner who can rewrite rows)."""
    with closing(_chain_rows(chain, batch_size)) as rows:  # an early return closes the cursor now
        return _walk(chain, rows)


def _walk(chain: str, rows) -> ChainVerification:
    key = audit_key()
    previous_hash = GENESIS_HASH
    expected_sequence = 1
    names = HASHED_FIELDS
    sequence_at = names.index("sequence")
    previous_at, hash_at = len(names), len(names) + 1
    for row in rows:
        if row[sequence_at] != expected_sequence:
            return ChainVerification(chain, expected_sequence, False, expected_sequence,
                                     _event_id(chain, row[sequence_at]),
                                     f"event #{expected_sequence} is missing (next found is #{row[sequence_at]})")
        if row[previous_at] != previous_hash:
            return ChainVerification(chain, expected_sequence, False, expected_sequence,
                                     _event_id(chain, expected_sequence),
                                     "previous-hash link does not match the event before it")
        if (link_hash(key, previous_hash, encode_stored_row(row)) != row[hash_at]
                and link_hash(key, previous_hash, encode_content(dict(zip(names, row)))) != row[hash_at]):
            return ChainVerification(chain, expected_sequence, False, expected_sequence,
                                     _event_id(chain, expected_sequence),
                                     "content does not match its hash (the event was edited)")
        previous_hash = row[hash_at]
        expected_sequence += 1
    checked = expected_sequence - 1
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and (head.sequence != checked or head.hash != previous_hash):
        return ChainVerification(chain, checked, False, expected_sequence, None,
                                 f"chain ends at #{checked} but its head records #{head.sequence}")
    return ChainVerification(chain, checked, True)


def _verify_in_child(chain: str) -> ChainVerification:
    try:
        return audit_chain_verify(chain=chain)
    finally:
        connections.close_all()


def audit_chains_verify(chains: list[str], *, workers: int = 1) -> list[ChainVerification]:
    """Verify several chains, `workers` at a time. Chains are independent, so on
    PostgreSQL each worker process streams and hashes its own chains (one process
    hashes at most one core's worth). Parallel only outside any transaction and
    tenant context (the management command, benchmarks): a forked worker opens its
    own connection and sees only committed rows as that connection's role; inside a
    tenant context (the web admin) the chains are verified one after the other in it."""
    if (workers <= 1 or len(chains) <= 1 or connection.vendor != "postgresql"
            or connection.in_atomic_block or current_tenant().active):
        return [audit_chain_verify(chain=name) for name in chains]
    connections.close_all()  # a forked child must not share the parent's socket
    with ProcessPoolExecutor(max_workers=min(workers, len(chains)),
                             mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_verify_in_child, chains))


def audit_chains_all() -> list[str]:
    names = set(AuditChainHead.objects.values_list("chain", flat=True))
    names.update(AuditEvent.objects.values_list("chain", flat=True).distinct())
    return sorted(names)
